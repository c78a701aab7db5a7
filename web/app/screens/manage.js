// The moderators' screens: find a movie, add or edit one, and upload its trailer and
// feature (the multipart protocol: the API hands out one URL per part, the browser PUTs
// each part there and hands back their ETags), with a progress bar.
import { call } from '../api.js';
import { announce, everyOf, failure, field, h, loading, fromWallClock, messageOf, money, moreOf, onSubmit, pagedList, show, showTime, text, zoneName } from '../dom.js';
import { refusedUnless } from './account.js';

/** @typedef {import('../../contract').Schemas} Schemas */

/** Movies the catalogue screen shows at a time. */
const PAGE = 20;

/** What a screen for staff shows to everyone else; false when the viewer is staff. */
export const refused = (/** @type {HTMLElement} */ main) =>
  refusedUnless(main, ['moderator', 'admin'], { tools: 'the catalogue tools', title: 'Moderators only', why: 'Running the catalogue needs a moderator account.' });

/**
 * The catalogue as moderators find a movie to edit.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function catalogue(main, { query }) {
  if (await refused(main)) return;
  const q = query.get('q') ?? '';
  const search = h(
    'form',
    { class: 'row', role: 'search' },
    h('label', { for: 'f-manage-q', class: 'visually-hidden' }, 'Find a movie'),
    h('input', { id: 'f-manage-q', name: 'q', type: 'search', value: q, placeholder: 'Find a movie' }),
    h('button', { type: 'submit' }, 'Find'),
  );
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/manage?q=${encodeURIComponent(String(new FormData(search).get('q') ?? '').trim())}`;
  });
  const list = h('div', {}, loading('movies'));
  show(main, h('h1', {}, 'The catalogue'), h('p', { class: 'row' }, h('a', { href: '#/manage/movies/new', class: 'button primary' }, 'Add a movie'), h('a', { href: '#/manage/cinemas' }, 'Cinemas'), h('a', { href: '#/manage/names' }, 'Genres and people')), search, list);
  /** A page of the catalogue by title, from `cursor`. */
  const pageFrom = (/** @type {string | undefined} */ cursor) =>
    call('get', '/movies', { query: { q: q || undefined, sort: 'title', order: 'asc', limit: PAGE, cursor }, fresh: true });
  /** @param {Schemas['Card']} m */
  const line = (m) => h('li', {}, h('a', { href: `#/manage/movies/${m.id}` }, m.title), ` · ${m.release_date.slice(0, 4)} · ${money(m.price)}${m.available ? '' : ' · not on sale'}`);
  try {
    // A search's page may come back short, even empty, with a cursor: the button reads on.
    show(list, pagedList(await pageFrom(undefined), pageFrom, line, 'More movies', 'No movie matches.'));
  } catch (error) {
    show(list, failure(error, () => catalogue(main, { path: '/manage', params: [], query })));
  }
}

/**
 * Adding a movie (`new`) or editing one, and its media.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function movie(main, { params: [id] }) {
  if (await refused(main)) return;
  const adding = id === 'new';
  show(main, h('h1', {}, adding ? 'Add a movie' : 'Edit a movie'), loading('the form'));
  const [current, genres, actors, directors, producers] = await Promise.all([
    adding ? null : call('get', '/movies/{id}', { params: { id }, fresh: true }),
    everyOf((cursor) => call('get', '/genres', { query: { limit: 100, cursor }, fresh: true })),
    everyOf((cursor) => call('get', '/actors', { query: { limit: 100, cursor }, fresh: true })),
    everyOf((cursor) => call('get', '/directors', { query: { limit: 100, cursor }, fresh: true })),
    everyOf((cursor) => call('get', '/producers', { query: { limit: 100, cursor }, fresh: true })),
  ]);
  const form = h(
    'form',
    { class: 'card-form' },
    field('Title', { name: 'title', required: true, maxlength: 200, value: current?.title ?? '' }),
    h('div', { class: 'field' }, h('label', { for: 'f-description' }, 'Description'), h('textarea', { id: 'f-description', name: 'description', rows: 4, maxlength: 5000 }, current?.description ?? '')),
    field('Release date', { name: 'release_date', type: 'date', required: true, value: current?.release_date ?? '' }),
    field('Length (minutes)', { name: 'duration_min', type: 'number', min: 1, max: 1000, required: true, value: current?.duration_min ?? '' }),
    field('Certification (e.g. PG-13, 12A)', { name: 'certification', required: true, maxlength: 10, value: current?.certification ?? '' }),
    field('Price', { name: 'amount', type: 'number', min: 0, step: '0.01', required: true, value: current ? (current.price.amount / 100).toFixed(2) : '' }),
    field('Currency', { name: 'currency', required: true, pattern: '[A-Z]{3}', maxlength: 3, value: current?.price.currency ?? 'EUR' }),
    picker('genre_ids', 'Genres (up to 5)', genres, current?.genres ?? [], (name) => call('post', '/genres', { body: { name } }), 'genre'),
    picker('actor_ids', 'Cast (up to 30)', actors, current?.actors ?? [], (name) => call('post', '/actors', { body: { name } }), 'actor'),
    picker('director_ids', 'Directors (up to 5)', directors, current?.directors ?? [], (name) => call('post', '/directors', { body: { name } }), 'director'),
    picker('producer_ids', 'Producers (up to 5)', producers, current?.producers ?? [], (name) => call('post', '/producers', { body: { name } }), 'producer'),
    field('Regions where it is sold (two-letter codes, commas; empty: everywhere)', { name: 'regions', value: (current?.regions ?? []).join(', ') }),
    h('div', { class: 'field' }, h('label', {}, h('input', { type: 'checkbox', name: 'available', checked: current?.available ?? true }), ' On sale')),
    h('button', { type: 'submit', class: 'primary' }, adding ? 'Add the movie' : 'Save the changes'),
  );
  onSubmit(form, async (data) => {
    const ids = (/** @type {string} */ name) => data.getAll(name).map(String);
    /** @type {Schemas['MovieInput']} */
    const body = {
      title: text(data, 'title'),
      description: text(data, 'description'),
      release_date: text(data, 'release_date'),
      duration_min: Number(text(data, 'duration_min')),
      certification: text(data, 'certification'),
      price: { amount: Math.round(Number(text(data, 'amount')) * 100), currency: text(data, 'currency').toUpperCase() },
      genre_ids: ids('genre_ids'),
      actor_ids: ids('actor_ids'),
      director_ids: ids('director_ids'),
      producer_ids: ids('producer_ids'),
      regions: text(data, 'regions')
        .split(',')
        .map((r) => r.trim().toUpperCase())
        .filter(Boolean),
      available: data.get('available') !== null,
    };
    if (current) {
      await call('patch', '/movies/{id}', { params: { id: current.id }, body, headers: { 'If-Match': `"${current.version}"` } });
      announce('Saved');
      await movie(main, { path: '', params: [current.id], query: new URLSearchParams() });
    } else {
      const created = await call('post', '/movies', { body });
      announce(`${created.title} added`);
      location.hash = `#/manage/movies/${created.id}`;
    }
  });
  show(
    main,
    h('h1', {}, current ? `Edit ${current.title}` : 'Add a movie'),
    current ? h('p', {}, h('a', { href: `#/movies/${current.id}` }, 'See its page')) : null,
    form,
    current
      ? h(
          'section',
          { 'aria-labelledby': 'media-title' },
          h('h2', { id: 'media-title' }, 'Media'),
          mediaPanel(current, 'trailer', 'Trailer'),
          mediaPanel(current, 'feature', 'Feature'),
        )
      : h('p', { class: 'meta' }, 'Once the movie is added, its trailer and feature can be uploaded here, and its showtimes scheduled.'),
    current ? schedule(current) : null,
    current
      ? removal({
          what: 'movie',
          name: () => current.title,
          rule: 'Only a movie nobody bought can be removed; otherwise take it off sale above.',
          remove: () => call('delete', '/movies/{id}', { params: { id: current.id } }),
          then: '#/manage',
        })
      : null,
  );
}

/**
 * Choosing some of a long list (the catalogue's people run to thousands): a box that narrows
 * the list by name (accents and case aside), a line saying what is chosen, and a checkbox
 * named `name` for each option, the movie's credits first. With `create`, a name the list
 * lacks can be added from the find box (a new person or genre), chosen at once.
 * @param {string} name
 * @param {string} label
 * @param {{ id: string, name: string }[]} options
 * @param {{ id: string, name: string }[]} credited what the movie names now
 * @param {(name: string) => Promise<{ id: string, name: string }>} create
 * @param {string} noun what one option is ("actor")
 */
function picker(name, label, options, credited, create, noun) {
  const fold = (/** @type {string} */ s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  /** @param {{ id: string, name: string }} o @param {boolean} checked */
  const row = (o, checked) => {
    const box = h('input', { type: 'checkbox', name, value: o.id, checked });
    return { option: o, folded: fold(o.name), box, item: h('li', {}, h('label', {}, box, ' ', o.name)) };
  };
  // What the movie credits comes first, from the movie itself: a list read a moment
  // earlier (kept by a cache) may not hold a name added since, and a credit left out of the
  // form would be dropped on saving.
  const creditedIds = new Set(credited.map((c) => c.id));
  const ordered = [...credited, ...options.filter((o) => !creditedIds.has(o.id))];
  const rows = ordered.map((o) => row(o, creditedIds.has(o.id)));
  const chosen = h('p', { class: 'meta', id: `f-${name}-chosen`, 'aria-live': 'polite' });
  const sayChosen = () => {
    const names = rows.filter((r) => r.box.checked).map((r) => r.option.name);
    chosen.textContent = names.length ? `Chosen: ${names.join(', ')}` : 'None chosen';
  };
  const finder = h('input', { type: 'search', id: `f-${name}`, placeholder: 'Find by name', autocomplete: 'off' });
  const adder = h('button', { type: 'button', class: 'link adder', hidden: true });
  const status = h('div', { class: 'list-status' });
  const list = h('ul', { class: 'picker-list' }, rows.map((r) => r.item));
  const narrow = () => {
    const typed = finder.value.trim();
    const wanted = fold(typed);
    for (const r of rows) r.item.hidden = wanted !== '' && !r.folded.includes(wanted);
    adder.hidden = wanted === '' || rows.some((r) => r.folded === wanted);
    adder.textContent = `Add “${typed}” as a new ${noun}`;
  };
  finder.addEventListener('input', narrow);
  adder.addEventListener('click', async () => {
    adder.disabled = true;
    show(status);
    try {
      const made = row(await create(finder.value.trim()), true);
      rows.unshift(made);
      list.prepend(made.item);
      finder.value = '';
      narrow();
      sayChosen();
      announce(`${made.option.name} added and chosen`);
    } catch (error) {
      show(status, failure(error));
    } finally {
      adder.disabled = false;
    }
  });
  list.addEventListener('change', sayChosen);
  sayChosen();
  return h('fieldset', { class: 'field picker' }, h('legend', {}, label), chosen, h('label', { for: finder.id, class: 'visually-hidden' }, 'Find by name'), finder, adder, status, list);
}

/** Showtimes the schedule lists at a time. */
const SHOWTIMES = 20;

/**
 * The movie's coming showtimes, each removable while no seat is held or sold, and a form to
 * schedule one: a cinema and one of its screens, the start (on the cinema's clock, sent in
 * UTC), the price a seat and, if fewer than the screen's, the seats on sale.
 * @param {Schemas['MovieDetail']} current
 */
function schedule(current) {
  const section = h('section', { 'aria-labelledby': 'schedule-title' }, h('h2', { id: 'schedule-title' }, 'Showtimes'));
  const list = h('ul', { class: 'lines schedule' });
  const status = h('div', { role: 'status' });
  /** @param {Schemas['ShowtimeView']} s */
  const row = (s) => {
    const item = h('li', { 'data-starts-at': s.starts_at });
    const when = showTime(s.starts_at, s.time_zone);
    const draw = (/** @type {Schemas['ShowtimeView']} */ s) => {
      const change = h('button', { type: 'button', class: 'link', 'aria-label': `Change the price or seats of the showtime of ${when} at ${s.cinema_name}` }, 'Change');
      const remove = h('button', { type: 'button', class: 'link', 'aria-label': `Remove the showtime of ${when} at ${s.cinema_name}` }, 'Remove');
      change.addEventListener('click', () => changeForm(s));
      remove.addEventListener('click', async () => {
        try {
          await call('delete', '/showtimes/{id}', { params: { id: s.id } });
          item.remove();
          announce(`The showtime of ${when} is removed`);
        } catch (error) {
          show(status, failure(error));
        }
      });
      show(item, `${when} · ${s.cinema_name}, screen ${s.screen} · ${money(s.price)} a seat · ${s.seats_left} of ${s.seats} seats left `, change, ' ', remove);
    };
    /** Its price and seats on sale (moving it is removing it and scheduling another). */
    const changeForm = (/** @type {Schemas['ShowtimeView']} */ s) => {
      const form = h(
        'form',
        { class: 'row' },
        field('Price a seat', { name: 'price_amount', id: `f-price-${s.id}`, type: 'number', min: 0, step: '0.01', required: true, value: (s.price.amount / 100).toFixed(2) }),
        field('Seats on sale', { name: 'seats', id: `f-seats-${s.id}`, type: 'number', min: 1, max: 1000, required: true, value: s.seats }),
        h('button', { type: 'submit' }, 'Save'),
        h('button', { type: 'button', onclick: () => draw(s) }, 'Cancel'),
      );
      onSubmit(form, async (data) => {
        const changed = await call('patch', '/showtimes/{id}', {
          params: { id: s.id },
          body: { price: { amount: Math.round(Number(text(data, 'price_amount')) * 100), currency: s.price.currency }, seats: Number(text(data, 'seats')) },
          headers: { 'If-Match': `"${s.version}"` },
        });
        draw(changed);
        announce(`The showtime of ${when} is saved`);
      });
      show(item, `${when} · ${s.cinema_name}, screen ${s.screen} `, form);
      form.querySelector('input')?.focus();
    };
    draw(s);
    return item;
  };
  const pageFrom = (/** @type {string | undefined} */ cursor) => call('get', '/showtimes', { query: { movie: current.id, limit: SHOWTIMES, cursor }, fresh: true });
  const form = h('form', { class: 'card-form' }, loading('the cinemas'));
  /** @type {Schemas['CinemaView'][]} */
  let cinemas = [];
  section.append(list, status, h('h3', {}, 'Schedule a showtime'), form);
  Promise.all([pageFrom(undefined), everyOf((cursor) => call('get', '/cinemas', { query: { limit: 100, cursor }, fresh: true }))])
    .then(([first, all]) => {
      cinemas = all;
      list.replaceChildren(...first.items.map(row));
      list.after(moreOf(list, first.next_cursor, pageFrom, row, 'More showtimes'));
      if (!first.items.length) show(status, h('p', { class: 'empty' }, 'None coming up.'));
      if (!cinemas.length) return show(form, h('p', { class: 'empty' }, 'No cinema yet: ', h('a', { href: '#/manage/cinemas/new' }, 'add one'), ' first.'));
      const screen = h('select', { id: 'f-screen', name: 'screen', required: true });
      const cinema = h('select', { id: 'f-cinema_id', name: 'cinema_id', required: true }, cinemas.map((c) => h('option', { value: c.id }, `${c.name}, ${c.city}`)));
      const startsLabel = h('label', { for: 'f-starts_at' });
      const screens = () => {
        const chosen = cinemas.find((c) => c.id === cinema.value);
        show(screen, (chosen?.screens ?? []).map((sc) => h('option', { value: sc.number }, `Screen ${sc.number} (${sc.seats} seats)`)));
        startsLabel.textContent = `Starts at (${zoneName(chosen?.time_zone)})`;
      };
      cinema.addEventListener('change', screens);
      screens();
      show(
        form,
        h('div', { class: 'field' }, h('label', { for: 'f-cinema_id' }, 'Cinema'), cinema),
        h('div', { class: 'field' }, h('label', { for: 'f-screen' }, 'Screen'), screen),
        h('div', { class: 'field' }, startsLabel, h('input', { id: 'f-starts_at', name: 'starts_at', type: 'datetime-local', required: true })),
        field('Price a seat', { name: 'price_amount', type: 'number', min: 0, step: '0.01', required: true, value: (current.price.amount / 100).toFixed(2) }),
        field('Seats on sale (empty: all the screen has)', { name: 'seats', type: 'number', min: 1, max: 1000 }),
        h('button', { type: 'submit' }, 'Schedule it'),
      );
    })
    .catch((error) => show(form, failure(error)));
  onSubmit(form, async (data) => {
    const zone = cinemas.find((c) => c.id === text(data, 'cinema_id'))?.time_zone ?? 'UTC';
    const starts = fromWallClock(text(data, 'starts_at'), zone);
    const seats = text(data, 'seats');
    const made = await call('post', '/showtimes', {
      body: {
        movie_id: current.id,
        cinema_id: text(data, 'cinema_id'),
        screen: Number(text(data, 'screen')),
        starts_at: starts.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        price: { amount: Math.round(Number(text(data, 'price_amount')) * 100), currency: current.price.currency },
        seats: seats ? Number(seats) : undefined,
      },
    });
    show(status);
    // In its place among the ones shown, soonest first (RFC 3339 in UTC sorts as time).
    const later = [...list.children].find((li) => (li.getAttribute('data-starts-at') ?? '') > made.starts_at);
    list.insertBefore(row(made), later ?? null);
    announce(`Scheduled for ${showTime(made.starts_at, made.time_zone)} at ${made.cinema_name}`);
  });
  return section;
}

/**
 * A record's "Remove it" section: a button that asks first, removes the record through
 * `remove` and goes to `then`; the API's refusal (a 409 saying why) shows under it.
 * @param {{ what: string, name: () => string, rule: string, remove: () => Promise<unknown>, then: string }} record
 */
export function removal({ what, name, rule, remove, then }) {
  const status = h('div');
  const button = h('button', { type: 'button' }, `Remove the ${what}`);
  button.addEventListener('click', async () => {
    if (!window.confirm(`Remove ${name()}?`)) return;
    button.disabled = true;
    try {
      await remove();
      announce(`${name()} removed`);
      location.hash = then;
    } catch (error) {
      show(status, failure(error));
      button.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'remove-title' }, h('h2', { id: 'remove-title' }, 'Remove it'), h('p', { class: 'meta' }, rule), button, status);
}

/**
 * One kind of media: what is there, a file to upload with its progress, removal.
 * @param {Schemas['MovieDetail']} current
 * @param {'trailer' | 'feature'} kind
 * @param {string} label
 */
function mediaPanel(current, kind, label) {
  const id = `f-media-${kind}`;
  const state = h('p', { class: 'meta' }, current.media[kind] ? `${label}: uploaded.` : `${label}: none yet.`);
  const bar = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': `${label} upload progress` });
  const status = h('p', { role: 'status' });
  const input = h('input', { id, type: 'file', accept: 'video/mp4' });
  const send = h('button', { type: 'button' }, `Upload the ${kind}`);
  const cancel = h('button', { type: 'button', hidden: true }, 'Stop the upload');
  // Only a file that is there can be removed.
  const remove = h('button', { type: 'button', class: 'link', hidden: !current.media[kind] }, `Remove the ${kind}`);
  /** @type {AbortController | null} */
  let running = null;
  send.addEventListener('click', async () => {
    const file = input.files?.[0];
    if (!file) {
      status.textContent = 'Choose an MP4 file first.';
      input.focus();
      return;
    }
    running = new AbortController();
    send.disabled = true;
    cancel.hidden = false;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = `Uploading ${file.name}…`;
    try {
      const ready = await upload(current.id, kind, file, running.signal, (sent) => {
        bar.value = Math.floor((sent / file.size) * 100);
      });
      bar.value = 100;
      status.textContent = `${label} ready: ${Math.round(ready.duration_s)} s, ${(ready.size_bytes / 1e6).toFixed(1)} MB.`;
      state.textContent = `${label}: uploaded.`;
      remove.hidden = false;
      announce(`${label} uploaded`);
    } catch (error) {
      status.textContent = running.signal.aborted ? 'Upload stopped; nothing was kept.' : `The upload failed: ${messageOf(error)}`;
    } finally {
      running = null;
      send.disabled = false;
      cancel.hidden = true;
    }
  });
  cancel.addEventListener('click', () => running?.abort());
  remove.addEventListener('click', async () => {
    try {
      await call('delete', '/movies/{id}/media/{kind}', { params: { id: current.id, kind } });
      state.textContent = `${label}: none.`;
      remove.hidden = true;
      announce(`${label} removed`);
    } catch (error) {
      status.textContent = messageOf(error);
    }
  });
  return h('div', { class: 'media-panel' }, h('h3', {}, label), state, h('label', { for: id }, `An MP4 file for the ${kind}`), input, h('p', { class: 'row' }, send, cancel, remove), bar, status);
}

/**
 * The multipart upload of one file; an upload that fails or is stopped is aborted, so
 * nothing half-sent is kept.
 * @param {string} movieId
 * @param {'trailer' | 'feature'} kind
 * @param {File} file
 * @param {AbortSignal} signal
 * @param {(sent: number) => void} progress
 */
async function upload(movieId, kind, file, signal, progress) {
  const started = await call('post', '/movies/{id}/media/{kind}/uploads', {
    params: { id: movieId, kind },
    body: { content_type: file.type || 'video/mp4', size_bytes: file.size },
  });
  const ids = { id: movieId, kind, upload_id: started.upload_id };
  try {
    /** @type {Schemas['CompletedPart'][]} */
    const parts = [];
    let sent = 0;
    for (const part of started.parts) {
      const from = (part.number - 1) * started.part_size;
      const piece = file.slice(from, Math.min(file.size, from + started.part_size));
      const etag = await putPart(part.url, piece, signal, (loaded) => progress(sent + loaded));
      sent += piece.size;
      parts.push({ number: part.number, etag });
    }
    return await call('post', '/movies/{id}/media/{kind}/uploads/{upload_id}/complete', { params: ids, body: { parts } });
  } catch (error) {
    await call('delete', '/movies/{id}/media/{kind}/uploads/{upload_id}', { params: ids }).catch(() => {});
    throw error;
  }
}

/**
 * One part, with its progress (fetch cannot report an upload's progress; XHR can).
 * @param {string} url
 * @param {Blob} piece
 * @param {AbortSignal} signal
 * @param {(loaded: number) => void} progress
 * @returns {Promise<string>} the part's ETag
 */
function putPart(url, piece, signal, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (event) => progress(event.loaded);
    xhr.onload = () => {
      const etag = xhr.getResponseHeader('ETag');
      if (xhr.status >= 200 && xhr.status < 300 && etag) resolve(etag);
      else reject(new Error(`a part was refused (${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error('a part could not be sent'));
    xhr.onabort = () => reject(new Error('stopped'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(piece);
  });
}
