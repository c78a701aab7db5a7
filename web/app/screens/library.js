// What the viewer has: tickets for shows to come, the movies they started, the ones they
// own, the ones they keep.
import { call, signedIn } from '../api.js';
import { failure, h, loading, show, showTime } from '../dom.js';
import { card, shelf } from './cards.js';
import { needSignIn } from './account.js';
import { beatsSettled } from './player.js';
import { ticketCount } from './shop.js';

/** Cards a shelf of the library shows at a time. */
const PAGE = 20;

/** The latest orders the library looks through for shows to come: tickets are bought
 * shortly before their show. */
const RECENT_ORDERS = 50;

/**
 * The paid tickets of `orders` whose show is still to come, soonest first: a list, or
 * nothing when there are none.
 * @param {import('../../contract').Schemas['Order'][]} orders
 */
function ticketsToCome(orders) {
  const now = Date.now();
  const coming = orders
    .filter((o) => o.status === 'paid')
    .flatMap((o) => o.lines.flatMap((line) => (line.kind === 'ticket' && line.starts_at && Date.parse(line.starts_at) > now ? [{ order: o, line, at: line.starts_at }] : [])))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  if (!coming.length) return null;
  return h(
    'section',
    { 'aria-labelledby': 'shelf-tickets' },
    h('h2', { id: 'shelf-tickets' }, 'Your tickets'),
    h(
      'ul',
      { class: 'lines' },
      coming.map(({ order, line, at }) =>
        h('li', {}, h('strong', {}, showTime(at, line.time_zone)), ` · ${line.title} · ${ticketCount(line.quantity)}${line.cinema ? ` at ${line.cinema}` : ''} · `, h('a', { href: `#/orders/${order.id}` }, 'the order')),
      ),
    ),
  );
}

/** @param {import('../../contract').Schemas['Owned']} m */
const ownedCard = (m) => card(m, m.position_s ? { resume: { position_s: m.position_s, duration_s: m.duration_min * 60 } } : {});

/** @param {HTMLElement} main */
export async function render(main) {
  if (!signedIn()) return needSignIn(main, 'your library');
  const body = h('div', {}, loading('your library'));
  show(main, h('h1', {}, 'Your library'), body);
  try {
    await beatsSettled();
    const [orders, watching, owned, favorites] = await Promise.all([
      call('get', '/orders', { query: { limit: RECENT_ORDERS } }),
      call('get', '/me/continue-watching', { query: { limit: 50 } }),
      call('get', '/me/purchases', { query: { limit: PAGE } }),
      call('get', '/me/favorites', { query: { sort: 'title', order: 'asc', limit: PAGE } }),
    ]);
    show(
      body,
      ticketsToCome(orders.items),
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
