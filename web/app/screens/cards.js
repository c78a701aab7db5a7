// A movie as lists show it, and a row of them.
import { clock, h, money, moreOf, year } from '../dom.js';

/** @typedef {import('../../contract').Schemas} Schemas */

/**
 * A card: the title links to the movie's page.
 * @param {Schemas['Card']} movie
 * @param {{ resume?: { position_s: number, duration_s: number } }} [extra]
 */
export function card(movie, extra = {}) {
  const rating = movie.rating_average == null ? 'Not rated yet' : `${movie.rating_average.toFixed(1)}/10 (${movie.rating_count})`;
  const resume = extra.resume;
  return h(
    'li',
    { class: 'card' },
    h('div', { class: 'poster', 'data-hue': hue(movie.id), 'aria-hidden': 'true' }, movie.title.slice(0, 1)),
    h(
      'div',
      { class: 'card-body' },
      h('h3', {}, h('a', { href: resume ? `#/watch/${movie.id}` : `#/movies/${movie.id}` }, movie.title)),
      h('p', { class: 'meta' }, [year(movie.release_date), `${movie.duration_min} min`, movie.certification].join(' · ')),
      movie.genres?.length ? h('p', { class: 'meta' }, movie.genres.map((g) => g.name).join(', ')) : null,
      resume
        ? h(
            'div',
            {},
            h('progress', { max: Math.round(resume.duration_s), value: Math.round(resume.position_s), 'aria-label': `Watched ${clock(resume.position_s)} of ${clock(resume.duration_s)}` }),
            h('p', { class: 'meta' }, `Resume at ${clock(resume.position_s)}`),
          )
        : h('p', { class: 'meta' }, h('span', { title: 'Rating' }, `★ ${rating}`), ' · ', h('span', {}, `${movie.likes} likes`), ' · ', money(movie.price)),
    ),
  );
}

/**
 * A titled row of cards, with its empty state; `more`, for a row with more than its first
 * page, reads the API's pages after its cursor and makes each item a card; `all`, the
 * browse screen's address for the whole list.
 * @template T
 * @param {string} title
 * @param {HTMLElement[]} cards
 * @param {string} empty
 * @param {{ cursor: string | null | undefined, pageFrom: (cursor: string) => Promise<{ items: T[], next_cursor?: string | null }>, toCard: (item: T) => Node }} [more]
 * @param {string} [all]
 */
export function shelf(title, cards, empty, more, all) {
  const id = `shelf-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const row = h('ul', { class: 'cards' }, cards);
  return h(
    'section',
    { class: 'shelf', 'aria-labelledby': id },
    h('h2', { id }, title),
    cards.length ? row : h('p', { class: 'empty' }, empty),
    cards.length && more ? moreOf(row, more.cursor, more.pageFrom, more.toCard, `More: ${title.toLowerCase()}`) : null,
    cards.length && all ? h('p', { class: 'see-all' }, h('a', { href: all }, 'See all', h('span', { class: 'visually-hidden' }, `: ${title}`))) : null,
  );
}

/** A stable colour for a movie without a poster. */
function hue(/** @type {string} */ id) {
  let sum = 0;
  for (const c of id) sum = (sum * 31 + c.charCodeAt(0)) % 12;
  return sum;
}
