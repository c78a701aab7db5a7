// The admins' screens: refunds to approve, sales, accounts and payments; one account with
// its role, its activity, its two-step sign-in, its cart, orders and security log.
import { call, whoAmI } from '../api.js';
import { announce, failure, h, loading, money, onSubmit, pagedList, show, text, when } from '../dom.js';
import { refusedUnless } from './account.js';
import { eventItem } from './security.js';
import { hintOf, ticketCount } from './shop.js';

/** @typedef {import('../../contract').Schemas} Schemas */

/** Items a list shows at a time. */
const PAGE = 20;

/** @type {Schemas['Role'][]} */
const ROLES = ['user', 'moderator', 'admin'];

/** @type {Schemas['Status'][]} */
const STATUSES = ['pending', 'paid', 'canceled', 'expired', 'refund_requested', 'refunded'];

/** @type {Schemas['PaymentStatus'][]} */
const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'canceled', 'refunded'];

/** What an admin's screen shows to everyone else; false when the viewer is an admin. */
const refused = (/** @type {HTMLElement} */ main) =>
  refusedUnless(main, ['admin'], { tools: 'the admin tools', title: 'Admins only', why: 'Running accounts and payments needs an admin account.' });

/**
 * A list read a page at a time into `into` (`pagedList`), a failure offering to try
 * again.
 * @template T
 * @param {HTMLElement} into
 * @param {(cursor: string | undefined) => Promise<{ items: T[], next_cursor?: string | null }>} pageFrom
 * @param {(item: T) => Node} toNode
 * @param {string} empty
 * @param {string} more
 * @returns {Promise<void>}
 */
async function paged(into, pageFrom, toNode, empty, more) {
  try {
    show(into, pagedList(await pageFrom(undefined), pageFrom, toNode, more, empty));
  } catch (error) {
    show(into, failure(error, () => paged(into, pageFrom, toNode, empty, more)));
  }
}

const many = (/** @type {number} */ n, /** @type {string} */ noun) => (n === 1 ? `1 ${noun}` : `${n} ${noun}s`);

const titlesOf = (/** @type {Schemas['Order']} */ o) => o.lines.map((l) => (l.kind === 'ticket' ? `${l.title} (${ticketCount(l.quantity)})` : l.title)).join(', ');

/** An order in a list: when, what, how much, its status, and a link to its buyer with `buyer`. */
const orderItem = (/** @type {Schemas['Order']} */ o, /** @type {boolean} */ buyer) =>
  h(
    'li',
    {},
    `${when(o.created_at)} · ${titlesOf(o)} · ${money(o.total)} · ${o.status.replaceAll('_', ' ')}`,
    buyer ? [' · ', h('a', { href: `#/admin/users/${o.user_id}` }, 'the buyer')] : null,
  );

const paymentItem = (/** @type {Schemas['Payment']} */ p, /** @type {boolean} */ buyer) =>
  h('li', {}, `${when(p.created_at)} · ${money(p.amount)} · ${p.status}${hintOf(p)}`, buyer ? [' · ', h('a', { href: `#/admin/users/${p.user_id}` }, 'the buyer')] : null);

/** The day `daysAgo` days before today, `YYYY-MM-DD` in UTC (the API's dates). */
const dayBefore = (/** @type {number} */ daysAgo) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);

/**
 * A list's filters: a status among `statuses` (choosing one shows the list at once) and
 * UTC days, either end open. Showing reads the first page into `into`; a refusal (an end
 * before the start) is shown on its field.
 * @template {string} S
 * @template T
 * @param {object} list
 * @param {string} list.name what the list holds: the fields' ids, its loading line
 * @param {S[]} list.statuses
 * @param {(filters: { status?: S, from?: string, to?: string }, cursor: string | undefined) => Promise<{ items: T[], next_cursor?: string | null }>} list.pageFrom
 * @param {HTMLElement} list.into
 * @param {(item: T) => Node} list.toNode
 * @param {string} list.empty
 * @param {string} list.more
 */
function filters({ name, statuses, pageFrom, into, toNode, empty, more }) {
  const status = h('select', { id: `f-${name}-status`, name: 'status' }, [
    h('option', { value: '' }, 'every status'),
    ...statuses.map((st) => h('option', { value: st }, st.replaceAll('_', ' '))),
  ]);
  const form = h('form', { class: 'row' }, h('label', { for: status.id }, 'Status'), status, ...days(name, '', ''), h('button', { type: 'submit' }, 'Show'));
  status.addEventListener('change', () => form.requestSubmit());
  // Only the latest choice draws: an earlier answer that lands after it is dropped.
  let latest = 0;
  onSubmit(form, async (data) => {
    const chosen = {
      status: statuses.find((st) => st === text(data, 'status')),
      from: text(data, 'from') || undefined,
      to: text(data, 'to') || undefined,
    };
    const asked = ++latest;
    const pageOf = (/** @type {string | undefined} */ cursor) => pageFrom(chosen, cursor);
    show(into, loading(name));
    try {
      const first = await pageOf(undefined);
      if (asked === latest) show(into, pagedList(first, pageOf, toNode, more, empty));
    } catch (error) {
      if (asked !== latest) return;
      show(into);
      throw error;
    }
  });
  return form;
}

/**
 * The days that sold or refunded something, one row each.
 * @param {Schemas['DaySales'][]} busy
 * @param {(amount: number) => string} price
 */
const salesByDay = (busy, price) =>
  busy.length
    ? h(
        'table',
        { class: 'lines' },
        h('caption', {}, 'By day'),
        h('thead', {}, h('tr', {}, ['Day (UTC)', 'Revenue', 'Paid orders', 'Refunded'].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          busy.map((d) => h('tr', {}, h('td', {}, d.date), h('td', {}, price(d.revenue)), h('td', {}, String(d.orders)), h('td', {}, d.refunded_orders ? `${price(d.refunded)} (${many(d.refunded_orders, 'order')})` : ''))),
        ),
      )
    : null;

/**
 * The fields of a range of UTC days, `from` and `to`.
 * @param {string} name what the days choose, for the fields' ids
 * @param {string} from the first day shown, or ''
 * @param {string} to
 * @param {boolean} [required]
 */
const days = (name, from, to, required = false) => [
  h('label', { for: `f-${name}-from` }, 'From'),
  h('input', { id: `f-${name}-from`, name: 'from', type: 'date', required, value: from }),
  h('label', { for: `f-${name}-to` }, 'to'),
  h('input', { id: `f-${name}-to`, name: 'to', type: 'date', required, value: to }),
];

/**
 * Refunds asked for, to approve; the sales of chosen days (the last 30 first); every
 * order and every payment, by status and days; the accounts, found by email and role.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function overview(main, { query }) {
  if (await refused(main)) return;
  const section = (/** @type {string} */ id, /** @type {string} */ title, /** @type {Node[]} */ ...body) =>
    h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...body);
  const refunds = h('div', {}, loading('refunds asked'));
  const sales = h('div', {}, loading('sales'));
  const accounts = h('div', {}, loading('accounts'));
  const payments = h('div', {}, loading('payments'));
  const orders = h('div', {}, loading('orders'));
  const salesForm = h('form', { class: 'row' }, ...days('sales', dayBefore(29), dayBefore(0), true), h('button', { type: 'submit' }, 'Show'));
  const orderList = (/** @type {{ status?: Schemas['Status'], from?: string, to?: string }} */ chosen, /** @type {string | undefined} */ cursor) =>
    call('get', '/admin/orders', { query: { ...chosen, limit: PAGE, cursor } });
  const paymentList = (/** @type {{ status?: Schemas['PaymentStatus'], from?: string, to?: string }} */ chosen, /** @type {string | undefined} */ cursor) =>
    call('get', '/admin/payments', { query: { ...chosen, limit: PAGE, cursor } });
  const orderItems = { into: orders, toNode: (/** @type {Schemas['Order']} */ o) => orderItem(o, true), empty: 'No order.', more: 'More orders' };
  const paymentItems = { into: payments, toNode: (/** @type {Schemas['Payment']} */ p) => paymentItem(p, true), empty: 'No payment.', more: 'More payments' };
  const email = query.get('email') ?? '';
  const role = ROLES.find((r) => r === query.get('role'));
  const search = h(
    'form',
    { class: 'row', role: 'search' },
    h('label', { for: 'f-admin-email', class: 'visually-hidden' }, 'Email starts with'),
    h('input', { id: 'f-admin-email', name: 'email', type: 'search', value: email, placeholder: 'Email starts with' }),
    h('label', { for: 'f-admin-role', class: 'visually-hidden' }, 'Role'),
    h('select', { id: 'f-admin-role', name: 'role' }, [h('option', { value: '' }, 'every role'), ...ROLES.map((r) => h('option', { value: r, selected: r === role }, `${r}s`))]),
    h('button', { type: 'submit' }, 'Find'),
  );
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(search);
    const params = new URLSearchParams();
    if (text(data, 'email')) params.set('email', text(data, 'email'));
    if (text(data, 'role')) params.set('role', text(data, 'role'));
    location.hash = `#/admin${params.size ? `?${params}` : ''}`;
  });
  show(
    main,
    h('h1', {}, 'Admin'),
    section('refunds-title', 'Refunds asked', refunds),
    section('sales-title', 'Sales (UTC days)', salesForm, sales),
    section('orders-title', 'Orders', filters({ name: 'orders', statuses: STATUSES, pageFrom: orderList, ...orderItems }), orders),
    section('accounts-title', 'Accounts', search, accounts),
    section('payments-title', 'Payments', filters({ name: 'payments', statuses: PAYMENT_STATUSES, pageFrom: paymentList, ...paymentItems }), payments),
  );
  /** @param {Schemas['Order']} o */
  const refundItem = (o) => {
    const item = h('li', {});
    const draw = (/** @type {Schemas['Order']} */ order) => {
      const approved = order.refund?.approved_at;
      const approve = h('button', { type: 'button' }, `Refund ${money(order.total)}`);
      approve.addEventListener('click', async () => {
        approve.disabled = true;
        try {
          const changed = await call('post', '/admin/orders/{id}/refund', { params: { id: order.id } });
          announce(`The refund of ${money(order.total)} is sent`);
          draw(changed);
        } catch (error) {
          approve.disabled = false;
          item.append(failure(error));
        }
      });
      show(
        item,
        h('a', { href: `#/admin/users/${order.user_id}` }, 'the buyer'),
        ` · ${titlesOf(order)} · ${money(order.total)} · asked ${order.refund ? when(order.refund.requested_at) : ''}: “${order.refund?.reason ?? ''}” · `,
        order.status === 'refunded' ? 'refunded' : approved ? `approved ${when(approved)}, waiting for Stripe` : approve,
      );
    };
    draw(o);
    return item;
  };
  /** @param {Schemas['UserView']} u */
  const userItem = (u) =>
    h('li', {}, h('a', { href: `#/admin/users/${u.id}` }, u.email), ` · ${u.role}${u.deactivated ? ' · deactivated' : u.active ? '' : ' · not activated'}${u.mfa_enabled ? ' · two-step' : ''}`);
  /** The sales of the days `from` to `to`, with the five best-selling movies. */
  const salesOf = (/** @type {string} */ from, /** @type {string} */ to) =>
    call('get', '/admin/sales', { query: { from, to } })
      .then((s) => {
        const t = s.total;
        if (!t.orders && !t.refunded_orders) return show(sales, h('p', { class: 'empty' }, 'No sale on these days.'));
        const top = s.by_movie.filter((m) => m.orders).slice(0, 5);
        const price = (/** @type {number} */ amount) => money({ amount, currency: t.currency });
        show(
          sales,
          h(
            'p',
            {},
            `${price(t.revenue)} from ${many(t.orders, 'paid order')}: ${many(t.units - t.tickets, 'movie')}, ${ticketCount(t.tickets)}.`,
            t.refunded_orders ? ` ${price(t.refunded)} refunded, ${many(t.refunded_orders, 'order')}.` : '',
          ),
          top.length ? h('ol', {}, top.map((m) => h('li', {}, `${m.title}: ${price(m.revenue)} from ${many(m.orders, 'order')}`))) : null,
          salesByDay(s.by_day.filter((d) => d.orders || d.refunded_orders), price),
        );
      })
      .catch((error) => show(sales, failure(error)));
  onSubmit(salesForm, async (data) => {
    show(sales, loading('sales'));
    await salesOf(text(data, 'from'), text(data, 'to'));
  });
  await Promise.all([
    paged(refunds, (cursor) => call('get', '/admin/orders', { query: { status: 'refund_requested', limit: PAGE, cursor } }), refundItem, 'None asked.', 'More refunds'),
    salesOf(dayBefore(29), dayBefore(0)),
    paged(orders, (cursor) => orderList({}, cursor), orderItems.toNode, orderItems.empty, orderItems.more),
    paged(accounts, (cursor) => call('get', '/admin/users', { query: { email: email || undefined, role, limit: PAGE, cursor } }), userItem, 'No account matches.', 'More accounts'),
    paged(payments, (cursor) => paymentList({}, cursor), paymentItems.toNode, paymentItems.empty, paymentItems.more),
  ]);
}

/**
 * One account: who, its role and activity (changing either ends its sessions), its
 * two-step sign-in reset, its cart, orders, payments and security log.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function user(main, { params: [id] }) {
  if (await refused(main)) return;
  show(main, h('h1', {}, 'An account'), loading('the account'));
  let current;
  try {
    current = await call('get', '/admin/users/{id}', { params: { id } });
  } catch (error) {
    return show(main, h('h1', {}, 'An account'), failure(error, () => user(main, { path: '', params: [id], query: new URLSearchParams() })));
  }
  const about = h('p', {});
  const sayAbout = (/** @type {Schemas['UserView']} */ u) => {
    const name = [u.first_name, u.last_name].filter(Boolean).join(' ');
    about.textContent = `${name ? `${name} · ` : ''}${u.country ? `${u.country} · ` : ''}member since ${when(u.created_at)} · ${u.deactivated ? 'deactivated' : u.active ? 'active' : 'not activated'} · two-step sign-in ${u.mfa_enabled ? 'on' : 'off'}`;
  };
  sayAbout(current);
  const form = h(
    'form',
    { class: 'card-form' },
    h('div', { class: 'field' }, h('label', { for: 'f-role' }, 'Role'), h('select', { id: 'f-role', name: 'role' }, ROLES.map((r) => h('option', { value: r, selected: r === current.role }, r)))),
    h('div', { class: 'field' }, h('label', {}, h('input', { type: 'checkbox', name: 'active', checked: !current.deactivated }), ' Can sign in')),
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
  );
  onSubmit(form, async (data) => {
    const changed = await call('patch', '/admin/users/{id}', {
      params: { id },
      body: { role: ROLES.find((r) => r === text(data, 'role')), active: data.get('active') !== null },
    });
    sayAbout(changed);
    announce(changed.sessions_ended_count ? `Saved; ${many(changed.sessions_ended_count, 'session')} ended` : 'Saved');
  });
  const twoStep = h('div', {});
  // Not on one's own account: that is turned off from one's own security settings.
  if (current.mfa_enabled && current.id !== (await whoAmI())?.id) {
    const reset = h('button', { type: 'button' }, 'Turn two-step sign-in off');
    reset.addEventListener('click', async () => {
      reset.disabled = true;
      try {
        await call('delete', '/admin/users/{id}/mfa', { params: { id } });
        announce('Two-step sign-in is off for this account: its devices are signed out, and it is told by email');
        if (current) sayAbout({ ...current, mfa_enabled: false });
        reset.remove();
      } catch (error) {
        reset.disabled = false;
        show(twoStep, reset, failure(error));
      }
    });
    show(twoStep, h('p', { class: 'meta' }, 'For someone who lost their authenticator and their recovery codes: they sign in with their password alone.'), reset);
  }
  const cart = h('div', {}, loading('the cart'));
  const orders = h('div', {}, loading('orders'));
  const payments = h('div', {}, loading('payments'));
  const events = h('div', {}, loading('the security log'));
  show(
    main,
    h('h1', {}, current.email),
    h('p', {}, h('a', { href: '#/admin' }, 'Admin')),
    about,
    form,
    twoStep,
    h('section', { 'aria-labelledby': 'cart-title' }, h('h2', { id: 'cart-title' }, 'Cart'), cart),
    h('section', { 'aria-labelledby': 'orders-title' }, h('h2', { id: 'orders-title' }, 'Orders'), orders),
    h('section', { 'aria-labelledby': 'payments-title' }, h('h2', { id: 'payments-title' }, 'Payments'), payments),
    h('section', { 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Security log'), events),
  );
  await Promise.all([
    call('get', '/admin/users/{id}/cart', { params: { id } })
      .then((c) =>
        show(
          cart,
          c.items.length
            ? [h('ul', { class: 'orders' }, c.items.map((l) => h('li', {}, `${l.title}${l.kind === 'ticket' ? ` · ${ticketCount(l.quantity)}` : ''}${l.line_total ? ` · ${money(l.line_total)}` : ''}`))), h('p', {}, `Total ${money(c.total)}`)]
            : h('p', { class: 'empty' }, 'Empty.'),
        ),
      )
      .catch((error) => show(cart, failure(error))),
    paged(orders, (cursor) => call('get', '/admin/orders', { query: { user: id, limit: PAGE, cursor } }), (o) => orderItem(o, false), 'No order yet.', 'More orders'),
    paged(payments, (cursor) => call('get', '/admin/payments', { query: { user: id, limit: PAGE, cursor } }), (p) => paymentItem(p, false), 'No payment yet.', 'More payments'),
    paged(events, (cursor) => call('get', '/admin/users/{id}/security-events', { params: { id }, query: { limit: PAGE, cursor } }), eventItem, 'Nothing yet.', 'Older events'),
  ]);
}
