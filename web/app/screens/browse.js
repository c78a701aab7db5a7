// Browsing the catalogue: search, filters and sort kept in the address (so a search can be
// shared and the back button works), pages fetched by cursor.
import { call } from '../api.js';
import { everyOf, failure, h, loading, show } from '../dom.js';
import { card } from './cards.js';

const PAGE = 24;
/** The most requests one screenful makes when filters leave pages short. */
const ASKS_PER_SCREEN = 5;
const SORTS = /** @type {const} */ ([
  ['popularity', 'Popularity'],
  ['release_date', 'Release date'],
  ['rating', 'Rating'],
  ['title', 'Title'],
  ['price', 'Price'],
]);
const FILTERS = /** @type {const} */ (['q', 'genre', 'certification', 'year_from', 'year_to', 'price_min', 'price_max', 'rating_min', 'sort', 'order']);
/** Filters the address holds in cents, as the API takes them, and the form in the currency. */
const PRICES = /** @type {const} */ (['price_min', 'price_max']);
/** Filters a link sets (a name on a movie's page), kept while the form changes the rest. */
const PEOPLE = /** @type {const} */ (['actor', 'director', 'producer']);

/**
 * A link to a person's photo where the moderators found it. The app shows no image from
 * another site (its CSP allows its own): loading one would tell that site who browses
 * here. A viewer who follows the link chooses to visit it.
 * @param {string} address an https address (the API checks it)
 */
function photoLink(address) {
  let host;
  try {
    host = new URL(address).host;
  } catch {
    return null;
  }
  return h('p', {}, h('a', { href: address, rel: 'noreferrer' }, `A photo, at ${host}`));
}

/**
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function render(main, { query }) {
  const value = (/** @type {string} */ name) => query.get(name) ?? '';
  const genreSelect = h('select', { id: 'f-genre', name: 'genre' }, h('option', { value: '' }, 'Any genre'));
  const sortSelect = h(
    'select',
    { id: 'f-sort', name: 'sort' },
    SORTS.map(([v, label]) => h('option', { value: v, selected: value('sort') === v }, label)),
  );
  const orderSelect = h(
    'select',
    { id: 'f-order', name: 'order' },
    h('option', { value: 'desc', selected: value('order') !== 'asc' }, 'High to low, new to old, Z to A'),
    h('option', { value: 'asc', selected: value('order') === 'asc' }, 'Low to high, old to new, A to Z'),
  );
  const number = (/** @type {string} */ name, /** @type {string} */ label, /** @type {Record<string, number>} */ range) =>
    h('div', { class: 'field' }, h('label', { for: `f-${name}` }, label), h('input', { id: `f-${name}`, name, type: 'number', inputmode: 'numeric', value: value(name), ...range }));
  const price = (/** @type {string} */ name, /** @type {string} */ label) => {
    const cents = numberOrUndefined(value(name));
    return h('div', { class: 'field' }, h('label', { for: `f-${name}` }, label), h('input', { id: `f-${name}`, name, type: 'number', inputmode: 'decimal', min: 0, step: '0.01', value: cents === undefined ? '' : (cents / 100).toFixed(2) }));
  };
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Search and filters' },
    h('div', { class: 'field wide' }, h('label', { for: 'f-q' }, 'Search'), h('input', { id: 'f-q', name: 'q', type: 'search', value: value('q') })),
    h('div', { class: 'field' }, h('label', { for: 'f-genre' }, 'Genre'), genreSelect),
    number('year_from', 'From year', { min: 1888, max: 2100 }),
    number('year_to', 'To year', { min: 1888, max: 2100 }),
    h('div', { class: 'field' }, h('label', { for: 'f-certification' }, 'Certification'), h('input', { id: 'f-certification', name: 'certification', maxlength: 10, placeholder: 'e.g. PG, 12A', value: value('certification') })),
    price('price_min', 'Price from'),
    price('price_max', 'Price up to'),
    number('rating_min', 'Rated at least', { min: 1, max: 10 }),
    h('div', { class: 'field' }, h('label', { for: 'f-sort' }, 'Sort by'), sortSelect),
    h('div', { class: 'field' }, h('label', { for: 'f-order' }, 'Order'), orderSelect),
    h('button', { type: 'submit' }, 'Show movies'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const name of PEOPLE) if (value(name)) chosen.set(name, value(name));
    for (const name of FILTERS) {
      const v = String(new FormData(form).get(name) ?? '').trim();
      if (v) chosen.set(name, PRICES.some((p) => p === name) ? String(Math.round(Number(v) * 100)) : v);
    }
    location.hash = `#/browse?${chosen}`;
  });
  const results = h('ul', { class: 'cards grid', 'aria-label': 'Movies' });
  const status = h('div', { class: 'list-status' });
  const heading = h('h1', {}, value('q') ? `Movies matching “${value('q')}”` : 'Browse');
  show(main, heading, form, results, status);
  const person = PEOPLE.find((role) => value(role));
  if (person) {
    // Who the person is, for the heading; the list does not wait for it. Read at the
    // record's own address, with no query: the moderators' form reads that address past
    // the browser's copy once it saves, so a moderator sees their change here at once.
    const options = { params: { id: value(person) } };
    const named = person === 'actor' ? call('get', '/actors/{id}', options) : person === 'director' ? call('get', '/directors/{id}', options) : call('get', '/producers/{id}', options);
    const titles = { actor: 'Movies with', director: 'Directed by', producer: 'Produced by' };
    named
      .then((p) => {
        show(heading, `${titles[person]} ${p.name}`);
        // Who they are, as far as the catalogue says.
        const facts = [p.age != null && p.birth_date ? `Born ${p.birth_date} (${p.age})` : null, p.company].filter(Boolean).join(' · ');
        const photo = p.photo_url ? photoLink(p.photo_url) : null;
        if (facts || p.bio || photo) heading.after(h('div', { class: 'person' }, facts && h('p', { class: 'meta' }, facts), p.bio && h('p', {}, p.bio), photo));
      })
      .catch(() => {});
  }

  everyOf((cursor) => call('get', '/genres', { query: { limit: 100, cursor } }))
    .then((genres) => {
      for (const g of genres) genreSelect.append(h('option', { value: g.id, selected: value('genre') === g.id }, g.name));
      // A genre's movies (from a genre's row on the home page) are headed by its name.
      const genre = genres.find((g) => g.id === value('genre'));
      if (genre && !value('q') && !person) show(heading, genre.name);
    })
    .catch(() => {
      genreSelect.disabled = true;
    });

  /** The movies shown so far, by id. */
  const listed = new Set();
  /**
   * Shows the next screenful. A filtered page may come back short, even empty, with a
   * cursor (the API stops at its read budget), so this asks again from that cursor, a few
   * times at most, before offering more.
   * @param {string | undefined} cursor
   */
  const more = async (cursor) => {
    show(status, loading('movies'));
    let next = cursor;
    try {
      let shown = 0;
      for (let asked = 1; ; asked += 1) {
        const page = await call('get', '/movies', {
          query: {
            q: value('q') || undefined,
            genre: value('genre') || undefined,
            actor: value('actor') || undefined,
            director: value('director') || undefined,
            producer: value('producer') || undefined,
            year_from: numberOrUndefined(value('year_from')),
            year_to: numberOrUndefined(value('year_to')),
            price_min: numberOrUndefined(value('price_min')),
            price_max: numberOrUndefined(value('price_max')),
            certification: value('certification') || undefined,
            rating_min: numberOrUndefined(value('rating_min')),
            sort: SORTS.find(([v]) => v === value('sort'))?.[0] ?? 'popularity',
            order: value('order') === 'asc' ? 'asc' : 'desc',
            limit: PAGE - shown,
            cursor: next,
          },
        });
        // By popularity or rating, a movie that moved between two pages can come again:
        // it is shown once.
        const fresh = page.items.filter((m) => !listed.has(m.id));
        for (const m of fresh) listed.add(m.id);
        results.append(...fresh.map((m) => card(m)));
        shown += fresh.length;
        next = page.next_cursor ?? undefined;
        if (!next || shown >= PAGE || asked >= ASKS_PER_SCREEN) break;
      }
      if (next) {
        const from = next;
        const button = h('button', { type: 'button', class: 'more', onclick: () => more(from) }, 'More movies');
        show(status, results.childElementCount ? button : h('p', { class: 'empty' }, 'No movie matches so far. ', button));
      } else if (!results.childElementCount) show(status, h('p', { class: 'empty' }, 'No movie matches. Try fewer filters or another search.'));
      else {
        const count = results.childElementCount;
        show(status, h('p', { class: 'meta' }, `${count} ${count === 1 ? 'movie' : 'movies'}`));
      }
    } catch (error) {
      show(status, failure(error, () => more(next)));
    }
  };
  await more(undefined);
}

function numberOrUndefined(/** @type {string} */ v) {
  const n = Number(v);
  return v && Number.isFinite(n) ? n : undefined;
}
