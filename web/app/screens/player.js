// The player: starts where the viewer stopped, tells the API how far they got (which also
// keeps the stream's grant alive), renews the signed URL before it lapses, and says plainly
// what stops it (not bought, too many screens, a link that expired).
import { ApiError, call, signedIn } from '../api.js';
import { clock, h, loading, messageOf, show } from '../dom.js';

/** How often a playing feature reports its position (the grant lives 2 minutes past a beat). */
const BEAT_MS = 10_000;
/** How long before its URL lapses the player asks for a new one. */
const RENEW_BEFORE_S = 20;

/** The last progress beat sent, settled or not. */
let lastBeatSent = Promise.resolve();

/**
 * Settles once the last progress beat has reached the API: a screen that shows where the
 * viewer stopped (continue watching) waits for it, or it could show the place before.
 */
export function beatsSettled() {
  return lastBeatSent;
}

/**
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function render(main, { params: [id], query }) {
  const kind = query.get('kind') === 'trailer' ? 'trailer' : 'feature';
  show(main, loading('the player'));
  if (kind === 'feature' && !signedIn()) {
    show(main, h('h1', {}, 'Sign in to watch'), h('p', {}, h('a', { href: '#/signin', class: 'button' }, 'Sign in'), ' to play the movies you bought.'));
    return;
  }
  const movie = await call('get', '/movies/{id}', { params: { id } });
  document.title = `${movie.title} - Marquee`;
  const message = h('div', { class: 'player-message', role: 'alert' });
  const heading = h('h1', {}, kind === 'trailer' ? `${movie.title}: trailer` : movie.title);
  const back = h('p', {}, h('a', { href: `#/movies/${id}` }, `About ${movie.title}`));

  /** @type {import('../../contract').Schemas['Playback']} */
  let playback;
  try {
    playback = await call('post', '/movies/{id}/playback', { params: { id }, body: { kind } });
  } catch (error) {
    show(main, heading, stopped(error, id), back);
    return;
  }

  const video = h('video', { controls: true, autoplay: true, playsinline: true, preload: 'auto', 'aria-label': `${movie.title} (${kind})` });
  const where = h('p', { class: 'meta', 'aria-live': 'off' });
  show(main, heading, h('div', { class: 'screen' }, video), where, message, back);

  let lastBeat = playback.position_s;
  let ended = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let renewTimer;

  const beat = (keepalive = false) => {
    if (kind !== 'feature' || !Number.isFinite(video.duration) || video.duration <= 0) return;
    const position = video.currentTime;
    if (Math.abs(position - lastBeat) < 1 && !keepalive) return;
    lastBeat = position;
    lastBeatSent = call('put', '/movies/{id}/progress', {
      params: { id },
      body: { position_s: position, duration_s: video.duration, grant_id: playback.grant_id },
      keepalive,
    }).catch((error) => show(message, messageOf(error)));
  };

  /** Loads `url` and goes on from `at`. */
  const load = (/** @type {string} */ url, /** @type {number} */ at, /** @type {boolean} */ play) => {
    video.src = url;
    video.addEventListener(
      'loadedmetadata',
      () => {
        if (at > 0 && at < video.duration - 1) video.currentTime = at;
        if (play) video.play().catch(() => {});
      },
      { once: true },
    );
  };

  const scheduleRenewal = () => {
    clearTimeout(renewTimer);
    const inMs = (playback.expires_at - RENEW_BEFORE_S) * 1000 - Date.now();
    renewTimer = setTimeout(() => renew(false), Math.max(1000, inMs));
  };

  /** A new URL for the same stream, before the old one lapses or once it has. */
  const renew = async (/** @type {boolean} */ afterError) => {
    if (ended) return;
    try {
      playback = await call('post', '/movies/{id}/playback', {
        params: { id },
        body: { kind, grant_id: playback.grant_id ?? undefined },
      });
    } catch (error) {
      video.pause();
      show(message, stopped(error, id));
      return;
    }
    // A URL only needs replacing when the player must fetch again: on an error, or before
    // the old one lapses while the video still has to load.
    if (afterError || video.buffered.length === 0 || video.buffered.end(video.buffered.length - 1) < video.duration - 1) {
      load(playback.url, video.currentTime, afterError || !video.paused);
    }
    show(message);
    scheduleRenewal();
  };

  let recovering = false;
  video.addEventListener('error', () => {
    if (recovering || ended) {
      show(message, 'The movie cannot be played here: the link has expired and no new one came. Reload the page to try again.');
      return;
    }
    recovering = true;
    renew(true).finally(() => {
      recovering = false;
    });
  });
  video.addEventListener('timeupdate', () => {
    where.textContent = Number.isFinite(video.duration) ? `${clock(video.currentTime)} of ${clock(video.duration)}` : '';
  });
  video.addEventListener('pause', () => beat());
  video.addEventListener('ended', () => beat(true));
  const beats = setInterval(() => {
    if (!video.paused) beat();
  }, BEAT_MS);
  const leaving = () => beat(true);
  window.addEventListener('pagehide', leaving);

  load(playback.url, playback.position_s, true);
  if (playback.position_s > 0) show(message, `Resuming at ${clock(playback.position_s)}.`);
  scheduleRenewal();

  return () => {
    beat(true);
    ended = true;
    clearInterval(beats);
    clearTimeout(renewTimer);
    window.removeEventListener('pagehide', leaving);
    video.removeAttribute('src');
    video.load();
  };
}

/**
 * What stops playback, said for a viewer, with the way on.
 * @param {unknown} error
 * @param {string} id
 */
function stopped(error, id) {
  const code = error instanceof ApiError ? error.code : '';
  const status = error instanceof ApiError ? error.status : 0;
  if (code === 'not_purchased') {
    return h('div', { class: 'error', role: 'alert' }, h('p', {}, 'You have not bought this movie.'), h('a', { href: `#/movies/${id}`, class: 'button' }, 'Buy it'));
  }
  if (code === 'too_many_streams') {
    return h(
      'div',
      { class: 'error', role: 'alert' },
      h('p', {}, 'This account is already playing on as many screens as it may. Stop one of them, then try again.'),
      h('button', { type: 'button', onclick: () => window.location.reload() }, 'Try again'),
    );
  }
  if (status === 401) {
    return h('div', { class: 'error', role: 'alert' }, h('p', {}, 'Your session has ended.'), h('a', { href: '#/signin', class: 'button' }, 'Sign in again'));
  }
  if (status === 404) return h('div', { class: 'error', role: 'alert' }, h('p', {}, 'This movie has nothing to play yet.'));
  return h('div', { class: 'error', role: 'alert' }, h('p', {}, messageOf(error)));
}
