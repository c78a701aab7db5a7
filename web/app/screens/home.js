// The front page: what to watch next (when signed in), what is popular, what is new, and a
// row for each of the largest genres.
import { call, signedIn } from '../api.js';
import { everyOf, failure, h, loading, show } from '../dom.js';
import { card, shelf } from './cards.js';
import { beatsSettled } from './player.js';

const PER_SHELF = 12;
const GENRE_SHELVES = 3;

/** @param {HTMLElement} main */
export async function render(main) {
  const rows = h('div', { class: 'shelves' }, loading('the catalogue'));
  show(main, h('h1', { class: 'visually-hidden' }, 'Marquee'), rows);
  try {
    const [watching, popular, newest, genres] = await Promise.all([
      signedIn() ? beatsSettled().then(() => call('get', '/me/continue-watching', { query: { limit: PER_SHELF } })) : null,
      call('get', '/movies', { query: { sort: 'popularity', order: 'desc', limit: PER_SHELF } }),
      call('get', '/movies', { query: { sort: 'release_date', order: 'desc', limit: PER_SHELF } }),
      everyOf((cursor) => call('get', '/genres', { query: { limit: 100, cursor } })),
    ]);
    const largest = [...genres].sort((a, b) => b.movie_count - a.movie_count).slice(0, GENRE_SHELVES).filter((g) => g.movie_count > 0);
    const byGenre = await Promise.all(
      largest.map((g) => call('get', '/movies', { query: { genre: g.id, sort: 'popularity', order: 'desc', limit: PER_SHELF } })),
    );
    show(
      rows,
      watching && watching.items.length
        ? shelf('Continue watching', watching.items.map((w) => card(w.movie, { resume: w })), '')
        : null,
      shelf('Popular', popular.items.map((m) => card(m)), 'No movies yet.', undefined, '#/browse?sort=popularity&order=desc'),
      shelf('New releases', newest.items.map((m) => card(m)), 'No movies yet.', undefined, '#/browse?sort=release_date&order=desc'),
      largest.map((g, i) => shelf(g.name, byGenre[i].items.map((m) => card(m)), 'No movies yet.', undefined, `#/browse?genre=${encodeURIComponent(g.id)}&sort=popularity&order=desc`)),
      h('p', {}, h('a', { href: '#/browse', class: 'button' }, 'Browse the whole catalogue')),
    );
  } catch (error) {
    show(rows, failure(error, () => render(main)));
  }
}
