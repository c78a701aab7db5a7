//! The commerce slice of the route table: the cart, orders, checkout, payments, refunds
//! and Stripe's webhook.

use crate::cart;
use crate::orders;
use crate::payments;
use axum::routing::on;
use marquee_core::http::guard::Access::{AtLeast, Public};
use marquee_core::http::pagination::Page;
use marquee_core::role::Role::{Admin, Moderator, User};
use marquee_core::route::Method::{Delete, Get, Patch, Post};
use marquee_core::route::Need;
use marquee_core::route::{Route, body, route};

/// Signed-in writes that call Stripe.
/// The staff lists' filters.
const STAFF_LIST_PARAMS: &[&str] = &["user", "status", "from", "to", "limit", "cursor"];

pub const CART_GET: Route = route(
    "cart-get",
    Get,
    "/cart",
    AtLeast(User),
    "cart",
    "Your cart, priced now, with a flag on items no longer available",
    |m| on(m, cart::get),
)
.gives(body::<cart::CartView>())
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const CART_ADD: Route = route(
    "cart-add",
    Post,
    "/cart/items",
    AtLeast(User),
    "cart",
    "Add a movie, or tickets for a showtime (refused with the reason)",
    |m| on(m, cart::add),
)
.status(201)
.takes(body::<cart::AddItem>())
.gives(body::<cart::CartView>())
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::Query,
    Need::PutItem,
]);

pub const CART_UPDATE: Route = route(
    "cart-update",
    Patch,
    "/cart/items/{id}",
    AtLeast(User),
    "cart",
    "Change how many tickets",
    |m| on(m, cart::update),
)
.takes(body::<cart::ChangeQuantity>())
.gives(body::<cart::CartView>())
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::Query,
    Need::UpdateItem,
]);

pub const CART_REMOVE: Route = route(
    "cart-remove",
    Delete,
    "/cart/items/{id}",
    AtLeast(User),
    "cart",
    "Remove an item",
    |m| on(m, cart::remove),
)
.status(204)
.needs(&[Need::GetItem, Need::DeleteItem]);

pub const CART_CLEAR: Route = route(
    "cart-clear",
    Delete,
    "/cart",
    AtLeast(User),
    "cart",
    "Empty your cart",
    |m| on(m, cart::clear),
)
.status(204)
.needs(&[Need::GetItem, Need::Query, Need::BatchWriteItem]);

pub const ADMIN_CARTS_GET: Route = route(
    "admin-carts-get",
    Get,
    "/admin/users/{id}/cart",
    AtLeast(Admin),
    "cart",
    "Any user's cart",
    |m| on(m, cart::get_for_admin),
)
.gives(body::<cart::CartView>())
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const ORDERS_CREATE: Route = route(
    "orders-create",
    Post,
    "/orders",
    AtLeast(User),
    "orders",
    "Order what the cart holds (Idempotency-Key header); reports items left out",
    |m| on(m, orders::create),
)
.status(201)
.gives(body::<orders::Order>())
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::Query,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
]);

pub const ORDERS_LIST: Route = route(
    "orders-list",
    Get,
    "/orders",
    AtLeast(User),
    "orders",
    "Your orders, newest first",
    |m| on(m, orders::list),
)
.gives(body::<Page<orders::Order>>())
.query(&["limit", "cursor"])
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const ORDERS_GET: Route = route(
    "orders-get",
    Get,
    "/orders/{id}",
    AtLeast(User),
    "orders",
    "One of your orders",
    |m| on(m, orders::get),
)
.gives(body::<orders::Order>())
.needs(&[Need::GetItem]);

pub const ORDERS_CANCEL: Route = route(
    "orders-cancel",
    Post,
    "/orders/{id}/cancel",
    AtLeast(User),
    "orders",
    "Cancel a pending order; its seats are released",
    |m| on(m, orders::cancel),
)
.gives(body::<orders::Order>())
.needs(&[
    Need::GetItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::StripeKey,
]);

pub const ORDERS_CHECKOUT: Route = route(
    "orders-checkout",
    Post,
    "/orders/{id}/checkout",
    AtLeast(User),
    "orders",
    "Re-check prices and availability (409 with the new total; call again to accept), then open Stripe Checkout",
    |m| on(m, orders::checkout::checkout),
)
.gives(body::<orders::checkout::CheckoutStarted>())
.needs(&[Need::GetItem, Need::BatchGetItem, Need::PutItem, Need::UpdateItem, Need::StripeKey]);

pub const ORDERS_REFUND_REQUEST: Route = route(
    "orders-refund-request",
    Post,
    "/orders/{id}/refund",
    AtLeast(User),
    "orders",
    "Ask for a refund of a paid order, with a reason",
    |m| on(m, orders::refunds::request),
)
.status(202)
.takes(body::<orders::refunds::RefundAsk>())
.gives(body::<orders::Order>())
.needs(&[Need::GetItem, Need::UpdateItem]);

pub const PAYMENTS_LIST: Route = route(
    "payments-list",
    Get,
    "/payments",
    AtLeast(User),
    "orders",
    "Your payments, newest first: date, amount, status, order",
    |m| on(m, payments::list),
)
.gives(body::<Page<payments::Payment>>())
.query(&["limit", "cursor"])
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const STRIPE_WEBHOOK: Route = route(
    "stripe-webhook",
    Post,
    "/webhooks/stripe",
    Public,
    "orders",
    "Stripe's events (verified by the Stripe-Signature header; each acted on once)",
    |m| on(m, payments::webhook::receive),
)
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::Query,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::BatchWriteItem,
    Need::SendMail,
    Need::StripeKey,
    Need::StripeWebhookSecret,
]);

pub const ADMIN_ORDERS_LIST: Route = route(
    "admin-orders-list",
    Get,
    "/admin/orders",
    AtLeast(Moderator),
    "orders",
    "Every order, newest first, filtered by user, status and date range",
    |m| on(m, orders::admin::list),
)
.gives(body::<Page<orders::Order>>())
.query(STAFF_LIST_PARAMS)
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const ADMIN_ORDERS_REFUND: Route = route(
    "admin-orders-refund",
    Post,
    "/admin/orders/{id}/refund",
    AtLeast(Admin),
    "orders",
    "Approve a requested refund: Stripe refunds, and its event completes it",
    |m| on(m, orders::refunds::approve),
)
.status(202)
.gives(body::<orders::Order>())
.needs(&[Need::GetItem, Need::UpdateItem, Need::StripeKey]);

pub const ADMIN_PAYMENTS_LIST: Route = route(
    "admin-payments-list",
    Get,
    "/admin/payments",
    AtLeast(Moderator),
    "orders",
    "Every payment, newest first, filtered by user, status and date range",
    |m| on(m, payments::admin_list),
)
.gives(body::<Page<payments::Payment>>())
.query(STAFF_LIST_PARAMS)
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const ADMIN_SALES: Route = route(
    "admin-sales",
    Get,
    "/admin/sales",
    AtLeast(Moderator),
    "orders",
    "Revenue and units by day and by movie over a date range",
    |m| on(m, orders::admin::sales),
)
.gives(body::<orders::admin::Sales>())
.query(&["from", "to"])
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub static ROUTES: &[Route] = &[
    CART_GET,
    CART_ADD,
    CART_UPDATE,
    CART_REMOVE,
    CART_CLEAR,
    ADMIN_CARTS_GET,
    ORDERS_CREATE,
    ORDERS_LIST,
    ORDERS_GET,
    ORDERS_CANCEL,
    ORDERS_CHECKOUT,
    ORDERS_REFUND_REQUEST,
    PAYMENTS_LIST,
    STRIPE_WEBHOOK,
    ADMIN_ORDERS_LIST,
    ADMIN_ORDERS_REFUND,
    ADMIN_PAYMENTS_LIST,
    ADMIN_SALES,
];
