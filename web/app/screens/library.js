// What the viewer has: the movies they started, the ones they own, the ones they keep.
import { call, signedIn } from '../api.js';
import { failure, h, loading, show } from '../dom.js';
import { card, shelf } from './cards.js';
import { needSignIn } from './account.js';
import { beatsSettled } from './player.js';

/** Cards a shelf of the library shows at a time. */
const PAGE = 20;

/** @param {import('../../contract').Schemas['Owned']} m */
const ownedCard = (m) => card(m, m.position_s ? { resume: { position_s: m.position_s, duration_s: m.duration_min * 60 } } : {});

/** @param {HTMLElement} main */
export async function render(main) {
  if (!signedIn()) return needSignIn(main, 'your library');
  const body = h('div', {}, loading('your library'));
  show(main, h('h1', {}, 'Your library'), body);
  try {
    await beatsSettled();
    const [watching, owned, favorites] = await Promise.all([
      call('get', '/me/continue-watching', { query: { limit: 50 } }),
      call('get', '/me/purchases', { query: { limit: PAGE } }),
      call('get', '/me/favorites', { query: { sort: 'title', order: 'asc', limit: PAGE } }),
    ]);
    show(
      body,
      shelf('Continue watching', watching.items.map((w) => card(w.movie, { resume: w })), 'Nothing started yet.'),
      shelf('Purchased', owned.items.map(ownedCard), 'You have not bought a movie yet.', {
        cursor: owned.next_cursor,
        pageFrom: (cursor) => call('get', '/me/purchases', { query: { limit: PAGE, cursor } }),
        toCard: ownedCard,
      }),
      shelf('Favourites', favorites.items.map((m) => card(m)), 'No favourites yet: the ★ on a movie keeps it here.', {
        cursor: favorites.next_cursor,
        pageFrom: (cursor) => call('get', '/me/favorites', { query: { sort: 'title', order: 'asc', limit: PAGE, cursor } }),
        toCard: (m) => card(m),
      }),
    );
  } catch (error) {
    show(body, failure(error, () => render(main)));
  }
}
