// A movie's page: what it is, who made it, its trailer, what viewers think of it, and what
// the viewer can do with it: react, rate, keep it, buy it or play it, and talk about it.
// The page itself is the same for everyone (kept at the edge); the viewer's own marks come
// from me-marks.
import { ApiError, call, signedIn, whoAmI } from '../api.js';
import { beatsSettled } from './player.js';
import { ticketCount } from './shop.js';
import { announce, clock, failure, h, icon, loading, messageOf, money, moreOf, onSubmit, show, showTime, text, timeOfDay, when, year } from '../dom.js';

/** @typedef {import('../../contract').Schemas} Schemas */

/**
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function render(main, { params: [id], query }) {
  show(main, loading('the movie'));
  // The viewer's own marks and cart add to the page; without them (a session that just
  // ended) it is still the movie's page.
  const [movie, marks, cart, me] = await Promise.all([
    call('get', '/movies/{id}', { params: { id } }),
    signedIn()
      ? beatsSettled()
          .then(() => call('get', '/me/marks', { query: { ids: id } }))
          .then((m) => m.items[0])
          .catch(() => null)
      : null,
    signedIn() ? call('get', '/cart').catch(() => null) : null,
    whoAmI(),
  ]);
  const staff = me?.role === 'moderator' || me?.role === 'admin';
  const inCart = cart?.items.some((line) => line.kind === 'movie' && line.movie_id === id) ?? false;
  document.title = `${movie.title} - Marquee`;

  const counts = h('p', { class: 'counts' });
  /** The counts last drawn: a comment posted or deleted here moves its count at once. */
  let shown = /** @type {Schemas['MovieCounts']} */ (movie);
  /** @param {Schemas['MovieCounts']} c */
  const drawCounts = (c) => {
    shown = c;
    show(
      counts,
      `${c.likes} likes · ${c.dislikes} dislikes · `,
      c.rating_average == null ? 'not rated yet' : `rated ${c.rating_average.toFixed(1)}/10 by ${c.rating_count}`,
      ` · ${c.comment_count === 1 ? '1 comment' : `${c.comment_count} comments`}`,
    );
  };
  drawCounts(movie);

  /** Each name links to the person's movies, newest first. */
  const people = (/** @type {string} */ label, /** @type {'actor' | 'director' | 'producer'} */ role, /** @type {Schemas['Named'][]} */ list) =>
    list.length
      ? [h('dt', {}, label), h('dd', {}, list.flatMap((p, i) => [i ? ', ' : '', h('a', { href: `#/browse?${role}=${encodeURIComponent(p.id)}&sort=release_date` }, p.name)]))]
      : [];

  const trailer = h('div', { class: 'trailer' });
  if (movie.media.trailer) {
    trailer.append(h('button', { type: 'button', onclick: () => playTrailer(trailer, movie.id) }, 'Play the trailer'));
  }

  show(
    main,
    h(
      'article',
      { class: 'movie' },
      h(
        'header',
        {},
        h('h1', {}, movie.title),
        h(
          'p',
          { class: 'meta' },
          [year(movie.release_date), `${movie.duration_min} min`, movie.certification, movie.genres.map((g) => g.name).join(', ')].filter(Boolean).join(' · '),
        ),
        counts,
        staff ? h('p', {}, h('a', { href: `#/manage/movies/${movie.id}` }, 'Edit this movie and its media')) : null,
      ),
      h('p', { class: 'description' }, movie.description),
      trailer,
      h('section', { class: 'actions', 'aria-label': 'Your marks' }, actions(movie, marks ?? null, inCart, drawCounts)),
      h('dl', { class: 'credits' }, people('Directors', 'director', movie.directors), people('Cast', 'actor', movie.actors), people('Producers', 'producer', movie.producers)),
      showtimes(movie.id, cart),
      comments(movie.id, query.get('comment'), me && { id: me.id, staff }),
    ),
  );
  main.addEventListener(COMMENTS_CHANGED, (event) => {
    if (event instanceof CustomEvent) drawCounts({ ...shown, comment_count: Math.max(0, shown.comment_count + event.detail) });
  });
}

/**
 * @param {HTMLElement} into
 * @param {string} id
 */
async function playTrailer(into, id) {
  show(into, loading('the trailer'));
  try {
    const playback = await call('post', '/movies/{id}/playback', { params: { id }, body: { kind: 'trailer' } });
    const video = h('video', { controls: true, preload: 'metadata', src: playback.url, 'aria-label': 'Trailer' });
    show(into, video);
    video.play().catch(() => {});
  } catch (error) {
    show(into, failure(error));
  }
}

/**
 * The viewer's part: buy or play, react, rate, keep.
 * @param {Schemas['MovieDetail']} movie
 * @param {Schemas['Marks'] | null} marks
 * @param {boolean} inCart
 * @param {(c: Schemas['MovieCounts']) => void} drawCounts
 */
function actions(movie, marks, inCart, drawCounts) {
  if (!signedIn()) {
    return [
      h('p', { class: 'price' }, money(movie.price)),
      h('p', {}, h('a', { href: '#/signin', class: 'button' }, 'Sign in'), ' to buy, watch, rate and comment.'),
    ];
  }
  const state = { reaction: marks?.reaction ?? null, rating: marks?.rating ?? null, favorite: marks?.favorite ?? false };
  const status = h('p', { class: 'action-status', role: 'status' });
  /** @param {() => Promise<void>} work */
  const act = async (work) => {
    status.textContent = '';
    try {
      await work();
    } catch (error) {
      status.textContent = messageOf(error);
    }
  };

  const like = h('button', { type: 'button', 'aria-pressed': String(state.reaction === 'like') }, icon('thumb'), 'Like');
  const dislike = h('button', { type: 'button', 'aria-pressed': String(state.reaction === 'dislike') }, icon('thumb', { upsideDown: true }), 'Dislike');
  /** @param {'like' | 'dislike'} value */
  const react = (value) =>
    act(async () => {
      const counts =
        state.reaction === value
          ? await call('delete', '/movies/{id}/reaction', { params: { id: movie.id } })
          : await call('put', '/movies/{id}/reaction', { params: { id: movie.id }, body: { value } });
      state.reaction = state.reaction === value ? null : value;
      like.setAttribute('aria-pressed', String(state.reaction === 'like'));
      dislike.setAttribute('aria-pressed', String(state.reaction === 'dislike'));
      drawCounts(counts);
    });
  like.addEventListener('click', () => react('like'));
  dislike.addEventListener('click', () => react('dislike'));

  const rating = h(
    'select',
    { id: 'f-rating', name: 'rating' },
    h('option', { value: '' }, 'Not rated'),
    Array.from({ length: 10 }, (_, i) => h('option', { value: i + 1, selected: state.rating === i + 1 }, `${i + 1}`)),
  );
  rating.addEventListener('change', () =>
    act(async () => {
      const score = Number(rating.value);
      drawCounts(
        score
          ? await call('put', '/movies/{id}/rating', { params: { id: movie.id }, body: { score } })
          : await call('delete', '/movies/{id}/rating', { params: { id: movie.id } }),
      );
      announce(score ? `Rated ${score} out of 10` : 'Rating cleared');
    }),
  );

  const favorite = h('button', { type: 'button', 'aria-pressed': String(state.favorite) }, icon('star'), 'Favourite');
  favorite.addEventListener('click', () =>
    act(async () => {
      const method = state.favorite ? 'delete' : 'put';
      await call(method, '/me/favorites/{movie_id}', { params: { movie_id: movie.id } });
      state.favorite = !state.favorite;
      favorite.setAttribute('aria-pressed', String(state.favorite));
      announce(state.favorite ? 'Kept in your favourites' : 'Removed from your favourites');
    }),
  );

  const buy = h('div', { class: 'buy' });
  if (marks?.purchased) {
    const resume = marks.position_s ? ` (resume at ${clock(marks.position_s)})` : '';
    show(buy, h('p', {}, 'You own this movie.'), movie.media.feature ? h('a', { href: `#/watch/${movie.id}`, class: 'button primary' }, `Play${resume}`) : h('p', { class: 'meta' }, 'Its feature is not uploaded yet.'));
  } else if (!movie.available) {
    show(buy, h('p', {}, 'Not on sale at the moment.'));
  } else if (inCart) {
    show(buy, h('p', {}, 'In your cart. '), h('a', { href: '#/cart', class: 'button primary' }, 'Go to the cart'));
  } else {
    const add = h('button', { type: 'button', class: 'primary' }, `Buy for ${money(movie.price)}`);
    add.addEventListener('click', () =>
      act(async () => {
        add.disabled = true;
        try {
          await call('post', '/cart/items', { body: { movie_id: movie.id } });
          show(buy, h('p', {}, 'In your cart. '), h('a', { href: '#/cart', class: 'button primary' }, 'Go to the cart'));
          announce(`${movie.title} is in your cart`);
        } catch (error) {
          add.disabled = false;
          if (error instanceof ApiError && error.status === 409) {
            show(buy, h('p', {}, messageOf(error), ' '), h('a', { href: '#/cart' }, 'See the cart'));
          } else throw error;
        }
      }),
    );
    show(buy, add);
  }

  return [
    buy,
    h('div', { class: 'marks' }, like, dislike, h('span', { class: 'rating' }, h('label', { for: 'f-rating' }, 'Your rating'), rating), favorite),
    status,
  ];
}

/** Showtimes the movie's page lists at a time. */
const SHOWTIMES = 10;

/**
 * Where the movie plays next, soonest first, a page at a time; a signed-in viewer puts
 * tickets for a showtime in the cart from here (then changes how many in the cart).
 * @param {string} movieId
 * @param {Schemas['CartView'] | null} cart
 */
function showtimes(movieId, cart) {
  const ticketed = new Set((cart?.items ?? []).flatMap((line) => (line.kind === 'ticket' && line.showtime_id ? [line.showtime_id] : [])));
  const body = h('div', {}, loading('showtimes'));
  const pageFrom = (/** @type {string | undefined} */ cursor) => call('get', '/showtimes', { query: { movie: movieId, limit: SHOWTIMES, cursor } });
  const inCart = () => [h('span', {}, 'Tickets in your cart. '), h('a', { href: '#/cart' }, 'Go to the cart')];
  /** @param {Schemas['ShowtimeView']} s */
  const row = (s) => {
    const soldOut = s.seats_left <= 0;
    const place = h('div', { class: 'book' });
    if (soldOut) show(place);
    else if (!signedIn()) show(place, h('a', { href: `#/signin?then=${encodeURIComponent(location.hash)}` }, 'Sign in to book'));
    else if (ticketed.has(s.id)) show(place, inCart());
    else {
      const id = `f-tickets-${s.id}`;
      const form = h(
        'form',
        { class: 'row' },
        h('label', { for: id, class: 'visually-hidden' }, `Tickets for ${showTime(s.starts_at, s.time_zone)} at ${s.cinema_name}`),
        h('input', { id, name: 'quantity', type: 'number', min: 1, max: Math.min(10, s.seats_left), value: 1, required: true, class: 'quantity' }),
        h('button', { type: 'submit' }, 'Add tickets'),
      );
      onSubmit(form, async (data) => {
        const quantity = Number(text(data, 'quantity'));
        await call('post', '/cart/items', { body: { showtime_id: s.id, quantity } });
        ticketed.add(s.id);
        show(place, inCart());
        announce(`${ticketCount(quantity)} for ${showTime(s.starts_at, s.time_zone)} in your cart`);
      });
      show(place, form);
    }
    return h(
      'li',
      { class: 'showtime' },
      h('p', {}, h('strong', {}, showTime(s.starts_at, s.time_zone)), ` · ends ${timeOfDay(s.ends_at, s.time_zone)} · ${s.cinema_name}, screen ${s.screen} · ${money(s.price)} a seat · `, soldOut ? h('span', { class: 'error' }, 'Sold out') : `${s.seats_left} seats left`),
      place,
    );
  };
  const load = async () => {
    show(body, loading('showtimes'));
    try {
      const first = await pageFrom(undefined);
      if (!first.items.length) return show(body, h('p', { class: 'empty' }, 'No showtimes coming up.'));
      const list = h('ul', { class: 'lines' }, first.items.map(row));
      show(body, list, moreOf(list, first.next_cursor, pageFrom, row, 'More showtimes'));
    } catch (error) {
      show(body, failure(error, load));
    }
  };
  load();
  return h('section', { class: 'showtimes', 'aria-labelledby': 'showtimes-title' }, h('h2', { id: 'showtimes-title' }, 'In cinemas'), body);
}

/**
 * Who reads the comments, for what they may do to them: authors edit and delete their
 * own, moderators delete any.
 * @typedef {{ id: string, staff: boolean } | null} Reader
 */

/**
 * The threads of comments, newest pages on demand, with replies and a form to write.
 * @param {string} movieId
 * @param {string | null} focus a comment to show (a reply's email links to it)
 * @param {Reader} reader
 */
function comments(movieId, focus, reader) {
  const list = h('ol', { class: 'comments' });
  const status = h('div', { class: 'list-status' });
  const section = h('section', { class: 'comments-section', 'aria-labelledby': 'comments-title' }, h('h2', { id: 'comments-title' }, 'Comments'));
  if (signedIn()) section.append(writer(movieId, null, (c) => list.prepend(thread(c, movieId, reader))));
  else section.append(h('p', {}, h('a', { href: '#/signin' }, 'Sign in'), ' to comment.'));
  section.append(list, status);

  /** @type {Map<string, HTMLElement>} */
  const threads = new Map();
  /** @param {string | undefined} cursor */
  const more = async (cursor) => {
    show(status, loading('comments'));
    try {
      // A signed-in viewer may have just written here: their browser's copy is checked first.
      const page = await call('get', '/movies/{id}/comments', { params: { id: movieId }, query: { limit: 50, cursor }, fresh: signedIn() });
      for (const c of page.items) {
        const parent = threads.get(c.thread_id);
        if (c.depth > 0 && parent) parent.querySelector('.replies')?.append(commentItem(c, reader));
        else {
          const t = thread(c, movieId, reader);
          threads.set(c.id, t);
          list.append(t);
        }
      }
      if (!list.childElementCount) show(status, h('p', { class: 'empty' }, 'No comments yet.'));
      else if (page.next_cursor) {
        const next = page.next_cursor;
        show(status, h('button', { type: 'button', onclick: () => more(next) }, 'More comments'));
      } else show(status);
      if (focus) document.getElementById(`comment-${focus}`)?.scrollIntoView();
    } catch (error) {
      show(status, failure(error, () => more(cursor)));
    }
  };
  more(undefined);
  return section;
}

/**
 * A first comment with its replies and a reply form.
 * @param {Schemas['Comment']} first
 * @param {string} movieId
 * @param {Reader} reader
 */
function thread(first, movieId, reader) {
  const replies = h('ol', { class: 'replies' });
  const item = commentItem(first, reader);
  item.append(replies);
  if (signedIn() && !first.deleted) {
    const toggle = h('button', { type: 'button', class: 'link reply-toggle', 'aria-expanded': 'false' }, 'Reply');
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', String(!open));
      const existing = item.querySelector(':scope > form');
      if (open) existing?.remove();
      else {
        const form = writer(movieId, first.id, (c) => {
          replies.append(commentItem(c, reader));
          form.remove();
          toggle.setAttribute('aria-expanded', 'false');
        });
        toggle.after(form);
        form.querySelector('textarea')?.focus();
      }
    });
    // Beside the comment's body, which an edit draws again.
    item.querySelector('.comment-body')?.after(toggle);
  }
  return item;
}

/**
 * One comment, with what the reader may do to it.
 * @param {Schemas['Comment']} c
 * @param {Reader} reader
 */
function commentItem(c, reader) {
  const body = h('div', { class: 'comment-body' });
  const draw = (/** @type {Schemas['Comment']} */ c) => {
    const own = reader?.id === c.author_id;
    const live = !c.deleted && c.text != null;
    show(
      body,
      h('p', { class: 'meta' }, h('strong', {}, c.author_name), ' · ', when(c.created_at), c.edited_at ? ' · edited' : ''),
      h('p', { class: 'comment-text' }, live ? c.text : h('em', {}, 'This comment was deleted.')),
      live &&
        (own || reader?.staff) &&
        h(
          'p',
          { class: 'row comment-tools' },
          own && h('button', { type: 'button', class: 'link', onclick: () => edit(c) }, 'Edit'),
          h('button', { type: 'button', class: 'link', onclick: () => remove(c, own) }, 'Delete'),
        ),
    );
  };
  /** The text in place becomes a form; saving or cancelling draws the comment again. */
  const edit = (/** @type {Schemas['Comment']} */ c) => {
    const id = `f-edit-${c.id}`;
    const cancel = h('button', { type: 'button', onclick: () => draw(c) }, 'Cancel');
    const form = h(
      'form',
      { class: 'comment-form' },
      h('label', { for: id }, 'Your comment'),
      h('textarea', { id, name: 'text', rows: 3, required: true, maxlength: 2000 }, c.text ?? ''),
      h('p', { class: 'row' }, h('button', { type: 'submit' }, 'Save'), ' ', cancel),
    );
    onSubmit(form, async (data) => {
      draw(await call('patch', '/comments/{id}', { params: { id: c.id }, body: { text: text(data, 'text') } }));
      announce('Comment saved');
    });
    body.querySelector('.comment-text')?.replaceWith(form);
    body.querySelector('.comment-tools')?.remove();
    form.querySelector('textarea')?.focus();
  };
  const remove = async (/** @type {Schemas['Comment']} */ c, /** @type {boolean} */ own) => {
    if (!window.confirm(own ? 'Delete your comment?' : `Delete ${c.author_name}'s comment?`)) return;
    try {
      await call('delete', '/comments/{id}', { params: { id: c.id } });
      commentsChanged(body, -1);
      draw({ ...c, deleted: true, text: null });
      // A deleted comment takes no more replies.
      body.parentElement?.querySelectorAll(':scope > .reply-toggle, :scope > form').forEach((e) => e.remove());
      announce('Comment deleted');
    } catch (error) {
      body.append(failure(error));
    }
  };
  draw(c);
  return h('li', { class: 'comment', id: `comment-${c.id}` }, body);
}

/** Told (bubbling, its detail +1 or -1) when a comment is posted or deleted on the page. */
const COMMENTS_CHANGED = 'comments-changed';

/** Tells the page from `where` that its comments grew or shrank by `by`. */
const commentsChanged = (/** @type {Element} */ where, /** @type {number} */ by) => where.dispatchEvent(new CustomEvent(COMMENTS_CHANGED, { bubbles: true, detail: by }));

/**
 * A form that posts a comment (or a reply to `parentId`).
 * @param {string} movieId
 * @param {string | null} parentId
 * @param {(c: Schemas['Comment']) => void} posted
 */
function writer(movieId, parentId, posted) {
  const id = parentId ? `f-reply-${parentId}` : 'f-text';
  const form = h(
    'form',
    { class: 'comment-form' },
    h('label', { for: id }, parentId ? 'Your reply' : 'Your comment'),
    h('textarea', { id, name: 'text', rows: 3, required: true, maxlength: 2000 }),
    h('button', { type: 'submit' }, parentId ? 'Reply' : 'Post the comment'),
  );
  return onSubmit(form, async (data) => {
    const comment = await call('post', '/movies/{id}/comments', {
      params: { id: movieId },
      body: { text: text(data, 'text'), parent_id: parentId },
    });
    form.reset();
    commentsChanged(form, 1);
    posted(comment);
    announce('Comment posted');
  });
}
