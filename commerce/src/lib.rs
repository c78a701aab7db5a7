//! Commerce: the cart, orders and their holds on seats, Stripe Checkout, the webhook,
//! refunds, the staff's sales views, and the sweep of expired items.
//!
//! Depends on the core, accounts and the catalogue; nothing depends on it but the assembly.

pub mod cart;
pub mod expiry;
pub mod orders;
pub mod payments;
pub mod routes;
pub mod staff_list;
