//! What a customer-bound token may see (tenancy).
//!
//! A token with `customer = "acme"` sees acme's shipments, the events of acme's shipments
//! (device alarms of a vehicle while it is on one of them), acme's webhooks, and a vehicle
//! only while it is on one of acme's active shipments or registered to acme in the device
//! registry ([`Visible::with_registered`]). Everything else answers as if it did
//! not exist (404, or absent from lists and streams): a 403 would confirm that it does.
//! A token without a customer sees everything its scopes allow.
//!
//! Who a shipment, device or alert belongs to is decided here once, so every route and the
//! live stream apply the same rule.

use super::auth::Principal;
use crate::model::device_id::canonical_str;
use crate::model::{DeviceId, Record};
use crate::registry::{DeviceQuery, Registry};
use crate::tracking::TrackingHandle;
use std::collections::BTreeSet;

/// The part of the fleet a caller may see, taken at one moment (a stream takes it again
/// per batch: shipments start and end).
#[derive(Clone, Debug)]
pub enum Visible {
    /// An untenanted token: everything.
    All,
    /// A customer's token.
    Customer {
        name: String,
        /// The customer's shipments in memory.
        shipments: BTreeSet<String>,
        /// Devices on one of the customer's active shipments.
        devices: BTreeSet<DeviceId>,
    },
}

impl Visible {
    /// What `who` may see now.
    pub fn of(who: &Principal, tracking: Option<&TrackingHandle>) -> Visible {
        let Some(name) = who.customer.clone() else {
            return Visible::All;
        };
        let (shipments, devices) = match tracking {
            Some(t) => {
                let e = t.engine();
                (e.shipments_of(&name), e.active_devices_of(&name))
            }
            None => Default::default(),
        };
        Visible::Customer {
            name,
            shipments,
            devices,
        }
    }

    /// The customer, for a tenant token.
    pub fn customer(&self) -> Option<&str> {
        match self {
            Visible::All => None,
            Visible::Customer { name, .. } => Some(name),
        }
    }

    /// Whether the caller may see a shipment of `customer` (its spec's field).
    pub fn owns(&self, customer: Option<&str>) -> bool {
        match self {
            Visible::All => true,
            Visible::Customer { name, .. } => customer == Some(name.as_str()),
        }
    }

    /// Whether the caller may see device `id` (either id form: `012076463279` is
    /// `12076463279`).
    pub fn device(&self, id: &str) -> bool {
        match self {
            Visible::All => true,
            Visible::Customer { devices, .. } => {
                let c = canonical_str(id);
                devices.iter().any(|d| d.canonical() == c)
            }
        }
    }

    /// Adds the devices the registry lists under the caller's customer: a customer sees its
    /// own vehicles between shipments too.
    pub fn with_registered(mut self, registry: &Registry) -> Visible {
        if let Visible::Customer { name, devices, .. } = &mut self {
            let q = DeviceQuery {
                customer: Some(name.clone()),
                ..DeviceQuery::default()
            };
            devices.extend(
                registry
                    .devices(&q, |_| true)
                    .into_iter()
                    .filter_map(|d| DeviceId::new(d.id).ok()),
            );
        }
        self
    }

    /// Whether a stream record may go to the caller.
    pub fn record(&self, r: &Record) -> bool {
        let Visible::Customer {
            name,
            shipments,
            devices,
        } = self
        else {
            return true;
        };
        match r {
            Record::Position(p) => devices.contains(&p.device),
            Record::Eta(e) => shipments.contains(&e.shipment),
            Record::Alert(a) => a.customer.as_deref() == Some(name.as_str()),
            _ => false,
        }
    }
}

/// Whether `who` may see shipment `id` (false for an unknown one too: the caller answers
/// 404 either way).
pub fn sees_shipment(who: &Principal, tracking: Option<&TrackingHandle>, id: &str) -> bool {
    tracking
        .and_then(|t| t.view(id))
        .is_some_and(|v| who.sees(v.customer.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Visible {
        Visible::Customer {
            name: "acme".into(),
            shipments: ["sh1".to_string()].into(),
            devices: [DeviceId::new("111").unwrap()].into(),
        }
    }

    #[test]
    fn a_tenant_sees_its_own_part_only() {
        let v = tenant();
        assert!(v.owns(Some("acme")));
        assert!(!v.owns(Some("globex")));
        assert!(!v.owns(None), "an untenanted shipment is not acme's");
        assert!(v.device("111") && !v.device("222"));
        assert!(v.device("0111"), "either id form");
        assert_eq!(v.customer(), Some("acme"));
        let all = Visible::All;
        assert!(all.owns(None) && all.owns(Some("globex")) && all.device("222"));
    }
}
