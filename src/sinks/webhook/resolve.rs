//! The webhook client's resolver: every name is resolved through the egress guard
//! ([`crate::egress::Policy::resolve`]), so the connector only ever sees addresses that
//! passed it (DNS rebinding cannot turn a delivery inward, and the connection goes to an
//! address that was checked). A refusal surfaces in the request's error chain as the
//! [`EgressError`] itself, which the dispatcher finds and records.

use crate::egress::{EgressError, Policy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::sync::Arc;

/// A `reqwest` resolver that applies the egress guard.
#[derive(Clone, Debug)]
pub struct GuardedResolver(pub Arc<Policy>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: the connector puts the URL's port in.
            let addrs = policy.resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The egress error inside an error chain, if the guard (or the guarded resolver) failed.
pub fn egress_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a EgressError> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(g) = err.downcast_ref::<EgressError>() {
            return Some(g);
        }
        cur = err.source();
    }
    None
}
