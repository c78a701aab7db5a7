// Buying: the cart, placing an order, paying for it on the checkout page, and the orders
// and payments afterwards (with refund requests).
import { ApiError, call, signedIn } from '../api.js';
import { announce, failure, h, loading, money, onSubmit, pagedList, show, showTime, text, when } from '../dom.js';
import { needSignIn } from './account.js';

/** @typedef {import('../../contract').Schemas} Schemas */

const STATUS = {
  pending: 'Waiting for payment',
  paid: 'Paid',
  canceled: 'Canceled',
  expired: 'Expired',
  refund_requested: 'Refund requested',
  refunded: 'Refunded',
};

/** @param {HTMLElement} main */
export async function cart(main) {
  if (!signedIn()) return needSignIn(main, 'your cart');
  show(main, h('h1', {}, 'Your cart'), loading('your cart'));
  const view = await call('get', '/cart');
  const status = h('div', { role: 'status' });
  /** @param {string} lineId */
  const remove = async (lineId) => {
    try {
      await call('delete', '/cart/items/{id}', { params: { id: lineId } });
      announce('Removed from the cart');
      await cart(main);
    } catch (error) {
      show(status, failure(error));
    }
  };
  /** A ticket line's quantity, changed in place (1 to 10, as the seats left allow). */
  const tickets = (/** @type {Schemas['LineView']} */ line) => {
    const id = `f-quantity-${line.id}`;
    const form = h(
      'form',
      { class: 'row' },
      h('label', { for: id }, 'Tickets'),
      h('input', { id, name: 'quantity', type: 'number', min: 1, max: 10, value: line.quantity, required: true, class: 'quantity' }),
      h('button', { type: 'submit' }, 'Change'),
    );
    onSubmit(form, async (data) => {
      await call('patch', '/cart/items/{id}', { params: { id: line.id }, body: { quantity: Number(text(data, 'quantity')) } });
      announce('The cart is updated');
      await cart(main);
    });
    return form;
  };
  const checkout = h('button', { type: 'button', class: 'primary' }, 'Check out');
  checkout.addEventListener('click', async () => {
    checkout.disabled = true;
    show(status, loading('the checkout'));
    try {
      const order = await call('post', '/orders', { headers: { 'Idempotency-Key': crypto.randomUUID() } });
      try {
        await payFor(order.id);
      } catch (error) {
        // Prices or availability changed since the order was made: its page says what
        // changed and offers to pay the new total.
        if (error instanceof ApiError && error.code === 'order_changed') {
          location.hash = `#/orders/${order.id}`;
          return;
        }
        throw error;
      }
    } catch (error) {
      checkout.disabled = false;
      show(status, failure(error));
    }
  });
  const empty = h('button', { type: 'button' }, 'Empty the cart');
  empty.addEventListener('click', async () => {
    if (!window.confirm('Take everything out of the cart?')) return;
    try {
      await call('delete', '/cart');
      announce('The cart is empty');
      await cart(main);
    } catch (error) {
      show(status, failure(error));
    }
  });
  show(
    main,
    h('h1', {}, 'Your cart'),
    view.items.length
      ? [
          h(
            'table',
            { class: 'lines' },
            h('caption', { class: 'visually-hidden' }, 'Items in your cart'),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col' }, 'Price'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
            h(
              'tbody',
              {},
              view.items.map((line) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    {},
                    h('a', { href: `#/movies/${line.movie_id}` }, line.title),
                    line.kind === 'ticket' ? [` · ${showingOf(line)}`, tickets(line)] : '',
                    line.available ? '' : h('p', { class: 'error' }, line.unavailable_reason ?? 'No longer available'),
                  ),
                  h('td', {}, line.line_total ? money(line.line_total) : '-'),
                  h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => remove(line.id) }, line.kind === 'ticket' ? `Remove the tickets for ${line.title}` : `Remove ${line.title}`)),
                ),
              ),
            ),
          ),
          h('p', { class: 'total' }, `Total: ${money(view.total)}`),
          h('p', { class: 'row' }, checkout, ' ', empty),
          status,
        ]
      : [h('p', { class: 'empty' }, 'Your cart is empty.'), h('a', { href: '#/browse', class: 'button' }, 'Find a movie')],
  );
}

/** Opens the payment page of an order (Stripe Checkout deployed, the simulated page locally). */
async function payFor(/** @type {string} */ orderId) {
  const started = await call('post', '/orders/{id}/checkout', { params: { id: orderId } });
  location.assign(started.checkout_url);
}

/** Orders, and payments, the orders screen lists at a time. */
const PAGE = 20;

/** @param {Schemas['Order']} o */
const orderItem = (o) =>
  h('li', {}, h('a', { href: `#/orders/${o.id}` }, `${when(o.created_at)}: ${o.lines.map((l) => l.title).join(', ')}`), ` · ${money(o.total)} · ${STATUS[o.status]}`);

/**
 * Why a payment failed ("Your card was declined. ..."), or why one was refunded unasked,
 * after its status; nothing for the others (a declined payment's order may be canceled
 * later, and its payment with it).
 * @param {Schemas['Payment']} p
 */
export const hintOf = (p) => (p.hint && (p.status === 'failed' || p.status === 'refunded') ? `: ${p.hint}` : '');

/** @param {Schemas['Payment']} p */
const paymentItem = (p) => h('li', {}, `${when(p.created_at)} · ${money(p.amount)} · ${p.status}${hintOf(p)} · `, h('a', { href: `#/orders/${p.order_id}` }, 'the order'));

/** @param {HTMLElement} main */
export async function orders(main) {
  if (!signedIn()) return needSignIn(main, 'your orders');
  show(main, h('h1', {}, 'Your orders'), loading('your orders'));
  const [list, payments] = await Promise.all([call('get', '/orders', { query: { limit: PAGE } }), call('get', '/payments', { query: { limit: PAGE } })]);
  show(
    main,
    h('h1', {}, 'Your orders'),
    pagedList(list, (cursor) => call('get', '/orders', { query: { limit: PAGE, cursor } }), orderItem, 'More orders', 'No orders yet.'),
    h('h2', {}, 'Payments'),
    pagedList(payments, (cursor) => call('get', '/payments', { query: { limit: PAGE, cursor } }), paymentItem, 'More payments', 'No payments yet.'),
  );
}

/**
 * One order; after the checkout page it waits for the payment to be confirmed.
 * @param {HTMLElement} main
 * @param {import('../main.js').Route} route
 */
export async function order(main, { params: [id], query }) {
  if (!signedIn()) return needSignIn(main, 'your order');
  show(main, h('h1', {}, 'Your order'), loading('the order'));
  const back = query.get('checkout');
  const current = await call('get', '/orders/{id}', { params: { id } });
  let left = false;
  if (back === 'success' && current.status === 'pending') {
    // The payment is confirmed by the provider's webhook, a moment after the return.
    show(main, h('h1', {}, 'Your order'), h('p', { role: 'status' }, 'Payment received, confirming…'));
    confirm(main, current, () => left).catch((error) => show(main, failure(error)));
  } else {
    draw(main, current, back);
  }
  return () => {
    left = true;
  };
}

/**
 * Asks for the order until the payment is confirmed (or half a minute has passed).
 * @param {HTMLElement} main
 * @param {Schemas['Order']} order
 * @param {() => boolean} left whether the viewer has moved on
 */
async function confirm(main, order, left) {
  let current = order;
  for (let i = 0; i < 60 && current.status === 'pending' && !left(); i++) {
    await new Promise((r) => setTimeout(r, 500));
    current = await call('get', '/orders/{id}', { params: { id: order.id } });
  }
  if (!left()) draw(main, current, 'success');
}

/** Lines an order left out, and why ("Secret River (sold out)"). */
const leftOut = (/** @type {Schemas['LeftOut'][]} */ lines) => lines.map((l) => `${l.title} (${l.reason})`).join(', ');

export const ticketCount = (/** @type {number} */ n) => (n === 1 ? '1 ticket' : `${n} tickets`);

/** When and where a line's tickets are for, on the cinema's clock ("Dec 8, 2026, 3:00 PM
 * at Le Grand Rex"), as much as the line says. */
function showingOf(/** @type {{ starts_at?: string | null, cinema?: string | null, time_zone?: string | null }} */ line) {
  return [line.starts_at ? showTime(line.starts_at, line.time_zone) : '', line.cinema ? `at ${line.cinema}` : ''].filter(Boolean).join(' ');
}

/**
 * @param {HTMLElement} main
 * @param {Schemas['Order']} o
 * @param {string | null} back
 */
function draw(main, o, back) {
  const status = h('div', { role: 'status' });
  const notes = [];
  if (back === 'success' && o.status === 'paid') notes.push(h('p', { class: 'success' }, 'Thank you: your order is paid. A receipt is on its way by email.'));
  if (back === 'success' && o.status === 'pending') notes.push(h('p', {}, 'Your payment is not confirmed yet: this page shows it once it is.'));
  if (back === 'canceled') notes.push(h('p', {}, 'You left the payment page: the order is waiting for payment.'));
  if (o.left_out?.length) notes.push(h('p', {}, `Left out of this order: ${leftOut(o.left_out)}.`));
  // Set when checking out found new prices or items gone: paying accepts them.
  const changed = o.status === 'pending' ? o.repricing : null;
  if (changed) {
    const dropped = changed.dropped.length ? ` ${leftOut(changed.dropped)} can no longer be bought.` : '';
    notes.push(h('p', { class: 'notice' }, `Prices or availability changed since you ordered: the total is now ${money(changed.total)}, not ${money(o.total)}.${dropped}`));
  }
  const act = [];
  if (o.status === 'pending') {
    const pay = h('button', { type: 'button', class: 'primary' }, changed ? `Pay ${money(changed.total)}` : 'Pay now');
    pay.addEventListener('click', async () => {
      pay.disabled = true;
      try {
        await payFor(o.id);
      } catch (error) {
        pay.disabled = false;
        show(status, failure(error));
        // Changed again since this page was drawn: the order now holds what changed.
        if (error instanceof ApiError && error.code === 'order_changed') {
          const again = await call('get', '/orders/{id}', { params: { id: o.id } }).catch(() => null);
          if (again) {
            draw(main, again, null);
            announce('Prices changed again: the new total is shown');
          }
        }
      }
    });
    const cancel = h('button', { type: 'button' }, 'Cancel the order');
    cancel.addEventListener('click', async () => {
      try {
        draw(main, await call('post', '/orders/{id}/cancel', { params: { id: o.id } }), null);
        announce('Order canceled');
      } catch (error) {
        show(status, failure(error));
      }
    });
    act.push(pay, cancel);
  }
  if (o.status === 'paid') {
    const form = h(
      'form',
      { class: 'refund' },
      h('h2', {}, 'Ask for a refund'),
      h('label', { for: 'f-reason' }, 'Why?'),
      h('textarea', { id: 'f-reason', name: 'reason', rows: 2, required: true, maxlength: 1000 }),
      h('button', { type: 'submit' }, 'Ask for a refund'),
    );
    onSubmit(form, async (data) => {
      await call('post', '/orders/{id}/refund', { params: { id: o.id }, body: { reason: text(data, 'reason') } });
      draw(main, await call('get', '/orders/{id}', { params: { id: o.id } }), null);
      announce('Refund requested');
    });
    act.push(form);
  }
  show(
    main,
    h('h1', {}, 'Your order'),
    notes,
    h('p', {}, `Placed ${when(o.created_at)} · ${STATUS[o.status]}${o.paid_at ? ` on ${when(o.paid_at)}` : ''}`),
    h(
      'ul',
      { class: 'lines' },
      o.lines.map((l) =>
        h(
          'li',
          {},
          h('a', { href: `#/movies/${l.movie_id}` }, l.title),
          l.kind === 'ticket' ? [` · ${ticketCount(l.quantity)}`, showingOf(l) && ` · ${showingOf(l)}`] : '',
          ` · ${money(l.line_total)}`,
          o.status === 'paid' && l.kind === 'movie' ? [' · ', h('a', { href: `#/watch/${l.movie_id}` }, `Watch ${l.title}`)] : '',
        ),
      ),
    ),
    h('p', { class: 'total' }, `Total: ${money(o.total)}`),
    o.refund ? h('p', {}, `Refund asked ${when(o.refund.requested_at)}: “${o.refund.reason}”${o.refund.approved_at ? `, approved ${when(o.refund.approved_at)}` : ''}`) : null,
    act,
    status,
    h('p', {}, h('a', { href: '#/orders' }, 'All your orders')),
  );
}

