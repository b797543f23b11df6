//! Customer webhook delivery: the dispatcher POSTs due outbox rows of the embedded output
//! store (see [`crate::outputs`]), signed, with retries and a dead letter after the retry
//! budget.
//!
//! The rows themselves are written by the outputs consumer (one per matching subscription
//! for every alert), so this module only pushes outward: configuration, signing, delivery
//! through the egress guard ([`crate::egress`], via [`resolve`]), over http or verified
//! https.

mod attempt;
pub mod config;
pub mod dispatcher;
pub mod resolve;
pub mod sign;

pub use attempt::SetupError;
pub use config::WebhookConfig;
pub use dispatcher::Dispatcher;
