//! Expiring items (their stamps and reads are the core's `expiry`) and their sweep, which
//! lives here because expiring a hold releases its seats and expiring an order cancels it.

mod sweep;

pub use marquee_core::expiry::*;
pub use sweep::{SweepReport, handle_batch, sweep_due};
