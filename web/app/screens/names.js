// The moderators' genres and people (actors, directors, producers): found by the start of
// their name, added, renamed or described, and removed once no movie credits them.
import { call } from '../api.js';
import { announce, failure, field, h, loading, onSubmit, pagedList, show, text } from '../dom.js';
import { refused, removal } from './manage.js';

/** @typedef {import('../../contract').Schemas} Schemas */
/** @typedef {'genres' | 'actors' | 'directors' | 'producers'} Kind */
/** @typedef {Schemas['GenreView'] | Schemas['PersonView']} Named */

/** Each kind's words, and the browse filter that lists its movies. */
const KINDS = /** @type {const} */ ({
  genres: { one: 'genre', a: 'a genre', title: 'Genres', filter: 'genre' },
  actors: { one: 'actor', a: 'an actor', title: 'Actors', filter: 'actor' },
  directors: { one: 'director', a: 'a director', title: 'Directors', filter: 'director' },
  producers: { one: 'producer', a: 'a producer', title: 'Producers', filter: 'producer' },
});

/** Names listed at a time. */
const PAGE = 50;

const isKind = (/** @type {string | null} */ k) => k !== null && Object.hasOwn(KINDS, k);

/**
 * A page of one kind, by name, those starting with `q` when given.
 * @param {Kind} kind
 * @param {string | undefined} q
 * @param {string | undefined} cursor
 * @returns {Promise<{ items: Named[], next_cursor?: string | null }>}
 */
function pageOf(kind, q, cursor) {
  const options = { query: { q, limit: PAGE, cursor }, fresh: true };
  if (kind === 'genres') return call('get', '/genres', options);
  if (kind === 'actors') return call('get', '/actors', options);
  if (kind === 'directors') return call('get', '/directors', options);
  return call('get', '/producers', options);
}

/**
 * One genre or person.
 * @param {Kind} kind
 * @param {string} id
 * @returns {Promise<Named>}
 */
function readOne(kind, id) {
  const options = { params: { id }, fresh: true };
  if (kind === 'genres') return call('get', '/genres/{id}', options);
  if (kind === 'actors') return call('get', '/actors/{id}', options);
  if (kind === 'directors') return call('get', '/directors/{id}', options);
  return call('get', '/producers/{id}', options);
}

/**
 * Adds one, or changes one (`current`) with the version it was read at.
 * @param {Kind} kind
 * @param {Named | null} current
 * @param {Schemas['PersonInput']} body a genre takes the name alone
 * @returns {Promise<Named>}
 */
function save(kind, current, body) {
  if (kind === 'genres') {
    const genre = { name: body.name };
    return current
      ? call('patch', '/genres/{id}', { params: { id: current.id }, body: genre, headers: { 'If-Match': `"${current.version}"` } })
      : call('post', '/genres', { body: genre });
  }
  const path = /** @type {const} */ ({ actors: '/actors', directors: '/directors', producers: '/producers' })[kind];
  if (!current) return call('post', path, { body });
  const options = { params: { id: current.id }, body, headers: { 'If-Match': `"${current.version}"` } };
  if (kind === 'actors') return call('patch', '/actors/{id}', options);
  if (kind === 'directors') return call('patch', '/directors/{id}', options);
  return call('patch', '/producers/{id}', options);
}

/**
 * @param {Kind} kind
 * @param {string} id
 */
function remove(kind, id) {
  const options = { params: { id } };
  if (kind === 'genres') return call('delete', '/genres/{id}', options);
  if (kind === 'actors') return call('delete', '/actors/{id}', options);
  if (kind === 'directors') return call('delete', '/directors/{id}', options);
  return call('delete', '/producers/{id}', options);
}

/**
 * One kind's names, a page at a time, or those starting with what was typed.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function list(main, { query }) {
  if (await refused(main)) return;
  const kind = /** @type {Kind} */ (isKind(query.get('kind')) ? query.get('kind') : 'genres');
  const q = query.get('q') ?? '';
  const { one, a, title } = KINDS[kind];
  const tabs = h(
    'p',
    { class: 'row tabs' },
    Object.entries(KINDS).map(([k, words]) => h('a', { href: `#/manage/names?kind=${k}`, 'aria-current': k === kind ? 'page' : null }, words.title)),
  );
  const search = h(
    'form',
    { class: 'row', role: 'search' },
    h('label', { for: 'f-names-q', class: 'visually-hidden' }, `Find ${a} by the start of the name`),
    h('input', { id: 'f-names-q', name: 'q', type: 'search', value: q, placeholder: `Find ${a}` }),
    h('button', { type: 'submit' }, 'Find'),
  );
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/manage/names?kind=${kind}&q=${encodeURIComponent(String(new FormData(search).get('q') ?? '').trim())}`;
  });
  const body = h('div', {}, loading(title.toLowerCase()));
  show(
    main,
    h('h1', {}, 'Genres and people'),
    tabs,
    h('p', {}, h('a', { href: `#/manage/names/${kind}/new`, class: 'button primary' }, `Add ${a}`)),
    search,
    body,
  );
  const pageFrom = (/** @type {string | undefined} */ cursor) => pageOf(kind, q || undefined, cursor);
  /** @param {Named} n */
  const line = (n) => h('li', {}, h('a', { href: `#/manage/names/${kind}/${n.id}` }, n.name), ` · ${n.movie_count === 1 ? '1 movie' : `${n.movie_count} movies`}`);
  try {
    show(body, pagedList(await pageFrom(undefined), pageFrom, line, `More ${title.toLowerCase()}`, q ? `No ${one} starts with “${q}”.` : `No ${one} yet.`));
  } catch (error) {
    show(body, failure(error, () => list(main, { path: '/manage/names', params: [], query })));
  }
}

/**
 * Adding a genre or person (`new`) or changing one; one no movie credits can be removed.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function edit(main, { params: [kindParam, id] }) {
  if (await refused(main)) return;
  if (!isKind(kindParam)) return show(main, h('h1', {}, 'Nothing here'));
  const kind = /** @type {Kind} */ (kindParam);
  const { one, a, title, filter } = KINDS[kind];
  const adding = id === 'new';
  show(main, h('h1', {}, adding ? `Add ${a}` : `Edit ${a}`), loading('the form'));
  /** @type {Named | null} */
  let current = null;
  try {
    current = adding ? null : await readOne(kind, id);
  } catch (error) {
    return show(main, h('h1', {}, `Edit ${a}`), failure(error, () => edit(main, { path: '', params: [kind, id], query: new URLSearchParams() })));
  }
  const person = current && 'birth_date' in current ? current : null;
  const isPerson = kind !== 'genres';
  const form = h(
    'form',
    { class: 'card-form' },
    field('Name', { name: 'name', required: true, maxlength: isPerson ? 100 : 50, value: current?.name ?? '' }),
    isPerson && field('Born (optional)', { name: 'birth_date', type: 'date', value: person?.birth_date ?? '' }),
    kind === 'producers' && field('Company (optional)', { name: 'company', maxlength: 100, value: person?.company ?? '' }),
    isPerson && field('Photo (an https address, optional)', { name: 'photo_url', type: 'url', pattern: 'https://.*', maxlength: 2048, value: person?.photo_url ?? '' }),
    isPerson && h('div', { class: 'field' }, h('label', { for: 'f-bio' }, 'About (optional)'), h('textarea', { id: 'f-bio', name: 'bio', rows: 4, maxlength: 4000 }, person?.bio ?? '')),
    h('button', { type: 'submit', class: 'primary' }, adding ? `Add the ${one}` : 'Save the changes'),
  );
  onSubmit(form, async (data) => {
    const optional = (/** @type {string} */ name) => text(data, name) || null;
    /** @type {Schemas['PersonInput']} */
    const body = isPerson
      ? { name: text(data, 'name'), birth_date: optional('birth_date'), photo_url: optional('photo_url'), bio: optional('bio'), ...(kind === 'producers' ? { company: optional('company') } : {}) }
      : { name: text(data, 'name') };
    const saved = await save(kind, current, body);
    if (current) {
      // The browser keeps the public copy up to a minute: read past it, the new one replaces
      // it, so the viewers' screens in this browser show the change.
      current = await readOne(kind, saved.id);
      announce(`${saved.name} saved`);
    } else {
      announce(`${saved.name} added`);
      location.hash = `#/manage/names/${kind}/${saved.id}`;
    }
  });
  show(
    main,
    h('h1', {}, current ? `Edit ${current.name}` : `Add ${a}`),
    h(
      'p',
      { class: 'row' },
      h('a', { href: `#/manage/names?kind=${kind}` }, `All ${title.toLowerCase()}`),
      current && h('a', { href: `#/browse?${filter}=${encodeURIComponent(current.id)}&sort=release_date` }, `${isPerson ? 'Their' : 'Its'} movies (${current.movie_count})`),
    ),
    form,
    current &&
      removal({
        what: one,
        name: () => current?.name ?? '',
        rule: `Only ${a} no movie credits can be removed.`,
        remove: () => remove(kind, id),
        then: `#/manage/names?kind=${kind}`,
      }),
  );
}
