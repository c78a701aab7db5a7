// Building the screens: elements from plain data (text is always text: nothing the API
// answers becomes markup), the formats the screens share, and how errors are shown.
import { ApiError } from './api.js';

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attributes
 */

/**
 * An element: `attrs` become attributes (`on…` ones listeners, `false`/`null` left out).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  element.append(...nodes(children));
  return element;
}

/** @param {(Child | Child[])[]} children */
function nodes(children) {
  return children.flat().flatMap((c) => (c === null || c === undefined || c === false ? [] : [typeof c === 'object' ? c : String(c)]));
}

/** Drawings shown beside a word (never alone: the word says what they mean), as paths
 * on a 24-unit square. Drawn, not emoji: a machine without an emoji font shows emoji as
 * boxes. */
const ICONS = {
  thumb: 'M2 10h4v11H2zM8 21V10l4.6-6.6a1.6 1.6 0 0 1 2.9 1.1L14.8 10H20a2 2 0 0 1 2 2.3l-1.3 7a2 2 0 0 1-2 1.7z',
  star: 'M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z',
};

/**
 * An icon, hidden from screen readers.
 * @param {keyof typeof ICONS} name
 * @param {{ upsideDown?: boolean }} [options]
 */
export function icon(name, { upsideDown = false } = {}) {
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(svgNs, 'path');
  path.setAttribute('d', ICONS[name]);
  if (upsideDown) path.setAttribute('transform', 'rotate(180 12 12)');
  svg.append(path);
  return svg;
}

/** Replaces what an element shows. */
export function show(/** @type {Element} */ into, /** @type {(Child | Child[])[]} */ ...children) {
  into.replaceChildren(...nodes(children));
}

/** @param {{amount: number, currency: string}} price */
export function money(price) {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: price.currency }).format(price.amount / 100);
}

/** Seconds as `h:mm:ss` or `m:ss`. */
export function clock(/** @type {number} */ seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(total % 60)}` : `${minutes}:${pad(total % 60)}`;
}

/** A moment (epoch seconds, or an RFC 3339 text) as a local date and time. */
export function when(/** @type {number | string} */ moment) {
  const date = typeof moment === 'number' ? new Date(moment * 1000) : new Date(moment);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Whose clock a time zone is, as people say it: "Paris time", "UTC". */
export function zoneName(/** @type {string | null | undefined} */ zone) {
  return !zone || zone === 'UTC' ? 'UTC' : `${zone.split('/').pop()?.replaceAll('_', ' ')} time`;
}

/**
 * A showtime's start as its cinema's clock shows it, saying whose clock when the viewer's
 * shows another time ("Dec 8, 2026, 3:00 PM (Paris time)").
 */
export function showTime(/** @type {string} */ moment, /** @type {string | null | undefined} */ zone) {
  const date = new Date(moment);
  const style = /** @type {const} */ ({ dateStyle: 'medium', timeStyle: 'short' });
  let there;
  try {
    there = date.toLocaleString(undefined, { ...style, timeZone: zone || 'UTC' });
  } catch {
    return when(moment);
  }
  return there === date.toLocaleString(undefined, style) ? there : `${there} (${zoneName(zone)})`;
}

/** The time of day `moment` is on `zone`'s clock ("11:29 PM"): when a show ends, after its start. */
export function timeOfDay(/** @type {string} */ moment, /** @type {string | null | undefined} */ zone) {
  try {
    return new Date(moment).toLocaleTimeString(undefined, { timeStyle: 'short', timeZone: zone || 'UTC' });
  } catch {
    return new Date(moment).toLocaleTimeString(undefined, { timeStyle: 'short' });
  }
}

/** The instant a `datetime-local` value ("2026-12-08T15:00") names on `zone`'s clock. */
export function fromWallClock(/** @type {string} */ wall, /** @type {string} */ zone) {
  const asUtc = Date.parse(`${wall.length === 16 ? `${wall}:00` : wall}Z`);
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  /** How far `zone`'s clock is ahead of UTC at `ms`. */
  const offset = (/** @type {number} */ ms) => {
    const p = Object.fromEntries(parts.formatToParts(ms).map((x) => [x.type, Number(x.value)]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  };
  // The clock's offsets a day before and a day after (a change of the clocks falls between
  // them, or none does): the instant under the earlier one if that clock shows the wall
  // time (the earlier of two when the clocks go back), else the one under the later; a
  // wall time the clocks skipped is read past the gap, as the clock moved on.
  const day = 86_400_000;
  const before = asUtc - offset(asUtc - day);
  const after = asUtc - offset(asUtc + day);
  const shows = (/** @type {number} */ t) => t + offset(t) === asUtc;
  return new Date(shows(before) || !shows(after) ? before : after);
}

export function year(/** @type {string} */ releaseDate) {
  return releaseDate.slice(0, 4);
}

/** A short, visible "working" state for a region. */
export function loading(/** @type {string} */ what) {
  return h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);
}

/** What went wrong, where it happened. */
export function failure(/** @type {unknown} */ error, /** @type {(() => void) | null} */ retry = null) {
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, messageOf(error)),
    retry && h('button', { type: 'button', onclick: () => retry() }, 'Try again'),
  );
}

/**
 * The place after a list for its next page: a button while `cursor` says there is more,
 * which appends the items of the API's page `pageFrom(cursor)` to `list`, each made a node
 * by `toNode`, and offers the page after that.
 * @template T
 * @param {Element} list
 * @param {string | null | undefined} cursor
 * @param {(cursor: string) => Promise<{ items: T[], next_cursor?: string | null }>} pageFrom
 * @param {(item: T) => Node} toNode
 * @param {string} label the button's text
 */
export function moreOf(list, cursor, pageFrom, toNode, label) {
  const place = h('div', {});
  const offer = (/** @type {string | null | undefined} */ from) =>
    show(place, from ? h('button', { type: 'button', class: 'more', onclick: () => load(from) }, label) : null);
  const load = async (/** @type {string} */ from) => {
    show(place, loading('more'));
    try {
      const page = await pageFrom(from);
      list.append(...page.items.map(toNode));
      offer(page.next_cursor);
    } catch (error) {
      show(place, failure(error, () => load(from)));
    }
  };
  offer(cursor);
  return place;
}

/**
 * A first page as a list with `moreOf`'s button below it, or `empty` when there is
 * nothing (a page may come back empty with a cursor: the API stops at its read budget,
 * and the button reads on).
 * @template T
 * @param {{ items: T[], next_cursor?: string | null }} first
 * @param {(cursor: string) => Promise<{ items: T[], next_cursor?: string | null }>} pageFrom
 * @param {(item: T) => Node} toNode
 * @param {string} more the button's text
 * @param {string} empty
 */
export function pagedList(first, pageFrom, toNode, more, empty) {
  if (!first.items.length && !first.next_cursor) return h('p', { class: 'empty' }, empty);
  const list = h('ul', { class: 'orders' }, first.items.map(toNode));
  return h('div', {}, list, moreOf(list, first.next_cursor, pageFrom, toNode, more));
}

/**
 * Every item of a list the API pages, page after page: choices that must be whole (a movie
 * form's people, the genres to browse by).
 * @template T
 * @param {(cursor: string | undefined) => Promise<{ items: T[], next_cursor?: string | null }>} pageFrom
 * @returns {Promise<T[]>}
 */
export async function everyOf(pageFrom) {
  /** @type {T[]} */
  const items = [];
  /** @type {string | undefined} */
  let cursor;
  do {
    const page = await pageFrom(cursor);
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return items;
}

export function messageOf(/** @type {unknown} */ error) {
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/**
 * Shows an error on a form: each field error under its field (by `name`), the rest on top.
 * @param {HTMLFormElement} form
 * @param {unknown} error
 */
export function formError(form, error) {
  clearFormError(form);
  const general = h('div', { class: 'error form-error', role: 'alert' });
  const fieldErrors = error instanceof ApiError ? error.errors : [];
  /** @type {string[]} */
  const unplaced = [];
  for (const { field, message } of fieldErrors) {
    const named = form.elements.namedItem(field);
    // A list of checkboxes (a picker) takes its error on its find box.
    const input = named instanceof RadioNodeList ? named[0]?.closest('fieldset')?.querySelector('input[type="search"]') : named;
    if (input instanceof HTMLElement) {
      const id = `${input.id || field}-error`;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', id);
      input.after(h('p', { class: 'field-error', id }, message));
    } else {
      // The API's messages read after their field's name ("recovery_code": "is not one of ...").
      unplaced.push(`${field.replaceAll('_', ' ')} ${message}`);
    }
  }
  if (unplaced.length || !fieldErrors.length) {
    general.append(h('p', {}, messageOf(error)), ...unplaced.map((line) => h('p', {}, line)));
    form.prepend(general);
  }
  const first = form.querySelector('[aria-invalid="true"]') ?? general;
  if (first instanceof HTMLElement) first.focus();
}

export function clearFormError(/** @type {HTMLFormElement} */ form) {
  form.querySelectorAll('.form-error, .field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => {
    e.removeAttribute('aria-invalid');
    e.removeAttribute('aria-describedby');
  });
}

/**
 * A labelled input, its id `f-<name>` unless `attrs` names one (two forms on a screen may
 * share a field's name).
 * @param {string} label
 * @param {Attributes} attrs
 */
export function field(label, attrs) {
  const id = String(attrs.id ?? `f-${String(attrs.name)}`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { ...attrs, id }));
}

/**
 * Runs a form's action with its button disabled, showing the API's errors on the form.
 * @param {HTMLFormElement} form
 * @param {(data: FormData) => Promise<void>} action
 */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    if (button instanceof HTMLButtonElement) button.disabled = true;
    clearFormError(form);
    try {
      await action(new FormData(form));
    } catch (error) {
      formError(form, error);
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  });
  return form;
}

/** Says something to every viewer, screen readers included, for a few seconds. */
export function announce(/** @type {string} */ message) {
  const region = document.getElementById('announce');
  if (!region) return;
  region.textContent = message;
  setTimeout(() => {
    if (region.textContent === message) region.textContent = '';
  }, 5000);
}

/** A form field's text (never a File). */
export function text(/** @type {FormData} */ data, /** @type {string} */ name) {
  const value = data.get(name);
  return typeof value === 'string' ? value.trim() : '';
}
