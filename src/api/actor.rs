//! Who is calling: the name recorded with acknowledgements and tracking links.
//!
//! The access-control layer puts an [`Actor`] (the token's name) into the request's
//! extensions; without it (no tokens configured: loopback only) the caller is
//! [`ANONYMOUS`].

use axum::Extension;

/// Recorded when no access-control layer named the caller.
pub const ANONYMOUS: &str = "anonymous";

/// The caller's name, as the access-control layer inserts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(pub String);

/// The name to record for a request's optional [`Actor`] extension.
pub fn name(a: Option<Extension<Actor>>) -> String {
    a.map(|Extension(a)| a.0)
        .unwrap_or_else(|| ANONYMOUS.to_string())
}
