// The moderators' cinemas: the list, and a form to add, edit or remove one with its screens
// and the time zone its showtimes are said in.
import { call } from '../api.js';
import { announce, everyOf, failure, field, h, loading, onSubmit, show, text } from '../dom.js';
import { refused, removal } from './manage.js';

/** @typedef {import('../../contract').Schemas} Schemas */

/** Most screens a cinema has (the API's limit). */
const MAX_SCREENS = 50;

/**
 * Every cinema, by name, each opening its form.
 * @param {HTMLElement} main
 */
export async function list(main) {
  if (await refused(main)) return;
  const body = h('div', {}, loading('the cinemas'));
  show(main, h('h1', {}, 'Cinemas'), h('p', {}, h('a', { href: '#/manage/cinemas/new', class: 'button primary' }, 'Add a cinema')), body);
  try {
    const cinemas = await everyOf((cursor) => call('get', '/cinemas', { query: { limit: 100, cursor }, fresh: true }));
    if (!cinemas.length) return show(body, h('p', { class: 'empty' }, 'No cinema yet.'));
    show(
      body,
      h(
        'ul',
        { class: 'orders' },
        cinemas.map((c) =>
          h('li', {}, h('a', { href: `#/manage/cinemas/${c.id}` }, c.name), ` · ${c.city}, ${c.country} · ${screensOf(c.screens.length)}, ${c.total_seats} seats · ${c.time_zone}`),
        ),
      ),
    );
  } catch (error) {
    show(body, failure(error, () => list(main)));
  }
}

const screensOf = (/** @type {number} */ n) => (n === 1 ? '1 screen' : `${n} screens`);

/**
 * Adding a cinema (`new`) or editing one; one with no showtimes can be removed.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function cinema(main, { params: [id] }) {
  if (await refused(main)) return;
  const adding = id === 'new';
  show(main, h('h1', {}, adding ? 'Add a cinema' : 'Edit a cinema'), loading('the form'));
  /** @type {Schemas['CinemaView'] | null} */
  let current = null;
  try {
    current = adding ? null : await call('get', '/cinemas/{id}', { params: { id }, fresh: true });
  } catch (error) {
    return show(main, h('h1', {}, 'Edit a cinema'), failure(error, () => cinema(main, { path: '', params: [id], query: new URLSearchParams() })));
  }
  // A new cinema is most likely where its moderator is.
  const zone = current?.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  const zones = h('datalist', { id: 'time-zones' }, ['UTC', ...Intl.supportedValuesOf('timeZone')].map((z) => h('option', { value: z })));
  const screens = screenRows(current?.screens ?? [{ number: 1, seats: 100 }]);
  const form = h(
    'form',
    { class: 'card-form' },
    field('Name', { name: 'name', required: true, maxlength: 100, value: current?.name ?? '' }),
    field('Address', { name: 'address', required: true, maxlength: 200, value: current?.address ?? '' }),
    field('City', { name: 'city', required: true, maxlength: 100, value: current?.city ?? '' }),
    field('Country (two-letter code, e.g. FR)', { name: 'country', required: true, pattern: '[A-Za-z]{2}', maxlength: 2, value: current?.country ?? '' }),
    field('Time zone (its showtimes are said in it)', { name: 'time_zone', required: true, list: 'time-zones', maxlength: 64, autocomplete: 'off', value: zone }),
    zones,
    screens.fieldset,
    h('button', { type: 'submit', class: 'primary' }, adding ? 'Add the cinema' : 'Save the changes'),
  );
  onSubmit(form, async (data) => {
    /** @type {Schemas['CinemaInput']} */
    const body = {
      name: text(data, 'name'),
      address: text(data, 'address'),
      city: text(data, 'city'),
      country: text(data, 'country').toUpperCase(),
      time_zone: text(data, 'time_zone'),
      screens: screens.read(),
    };
    if (current) {
      current = await call('patch', '/cinemas/{id}', { params: { id: current.id }, body, headers: { 'If-Match': `"${current.version}"` } });
      announce(`${current.name} saved`);
    } else {
      const created = await call('post', '/cinemas', { body });
      announce(`${created.name} added`);
      location.hash = `#/manage/cinemas/${created.id}`;
    }
  });
  show(
    main,
    h('h1', {}, current ? `Edit ${current.name}` : 'Add a cinema'),
    h('p', {}, h('a', { href: '#/manage/cinemas' }, 'All cinemas')),
    form,
    current
      ? removal({
          what: 'cinema',
          name: () => current?.name ?? '',
          rule: 'Only a cinema with no showtimes can be removed.',
          remove: () => call('delete', '/cinemas/{id}', { params: { id } }),
          then: '#/manage/cinemas',
        })
      : null,
  );
}

/**
 * The screens' rows: a number and the seats each, one added below the last with the next
 * number, any removed but the last one left.
 * @param {Schemas['Screen'][]} initial
 */
function screenRows(initial) {
  const rows = h('ol', { class: 'screens' });
  const add = h('button', { type: 'button', class: 'link' }, 'Add a screen');
  let made = 0;
  const fitControls = () => {
    const count = rows.children.length;
    add.hidden = count >= MAX_SCREENS;
    for (const button of rows.querySelectorAll('button')) /** @type {HTMLButtonElement} */ (button).disabled = count === 1;
  };
  const row = (/** @type {Schemas['Screen']} */ screen) => {
    made++;
    const number = h('input', { id: `f-screen-number-${made}`, name: 'screen_number', type: 'number', min: 1, max: 99, required: true, value: screen.number });
    const seats = h('input', { id: `f-screen-seats-${made}`, name: 'screen_seats', type: 'number', min: 1, max: 1000, required: true, value: screen.seats });
    const remove = h('button', { type: 'button', class: 'link', 'aria-label': `Remove screen ${screen.number}` }, 'Remove');
    const item = h('li', { class: 'row' }, h('label', { for: number.id }, 'Screen'), number, h('label', { for: seats.id }, 'Seats'), seats, remove);
    remove.addEventListener('click', () => {
      item.remove();
      fitControls();
    });
    return item;
  };
  rows.append(...initial.map(row));
  add.addEventListener('click', () => {
    const numbers = [...rows.querySelectorAll('input[name="screen_number"]')].map((e) => Number(/** @type {HTMLInputElement} */ (e).value) || 0);
    const next = row({ number: Math.min(99, Math.max(0, ...numbers) + 1), seats: 100 });
    rows.append(next);
    fitControls();
    next.querySelector('input')?.focus();
  });
  fitControls();
  return {
    fieldset: h('fieldset', { class: 'field screens-set' }, h('legend', {}, 'Screens'), rows, add),
    /** @returns {Schemas['Screen'][]} */
    read: () =>
      [...rows.children].map((li) => {
        const [number, seats] = [...li.querySelectorAll('input')].map((e) => Number(e.value));
        return { number: number ?? 0, seats: seats ?? 0 };
      }),
  };
}
