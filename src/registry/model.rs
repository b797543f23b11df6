//! What the registry holds (a device's fleet details, a group) and the rules a value must
//! pass before it is stored. Pure: no SQLite, no clock, so the API, the CSV import and the
//! store apply exactly the same checks.

use crate::model::DeviceId;
use serde::{Deserialize, Serialize};

/// Longest `name` (characters).
pub const MAX_NAME: usize = 100;
/// Longest `plate`.
pub const MAX_PLATE: usize = 32;
/// Longest `vehicle_type`.
pub const MAX_VEHICLE_TYPE: usize = 50;
/// Longest `phone`.
pub const MAX_PHONE: usize = 32;
/// Longest `notes`.
pub const MAX_NOTES: usize = 1000;
/// Longest group id or customer name (the token customer's rule: 1..=64 of `A-Za-z0-9._-`).
pub const MAX_KEY: usize = 64;
/// Highest `speed_limit_kmh` accepted: above any road vehicle, so a typo (`8000`) is caught.
pub const MAX_SPEED_LIMIT_KMH: f64 = 500.0;

/// A registered device's fleet details (everything optional but the id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// The device id as registered (lookups compare its canonical form).
    pub id: String,
    pub name: Option<String>,
    pub plate: Option<String>,
    pub vehicle_type: Option<String>,
    /// A group id ([`Group::id`]); must exist.
    pub group: Option<String>,
    /// The customer the vehicle belongs to: that customer's tokens see and edit it.
    pub customer: Option<String>,
    /// The tracker's SIM number (what installers text commands to).
    pub phone: Option<String>,
    pub notes: Option<String>,
    /// The vehicle's own speed limit, km/h.
    pub speed_limit_kmh: Option<f64>,
}

/// The writable fields of a device (the body of `PUT /api/devices/{id}`, one CSV row).
/// An empty text means "not set".
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceFields {
    /// Optional in a body; when present it must name the same device as the path.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub plate: Option<String>,
    #[serde(default)]
    pub vehicle_type: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub speed_limit_kmh: Option<f64>,
}

/// A partial change (`PATCH /api/devices/{id}`, JSON merge patch): an absent field stays,
/// `null` clears it, a value sets it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    #[serde(default, deserialize_with = "some")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub plate: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub vehicle_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub group: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub customer: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub speed_limit_kmh: Option<Option<f64>>,
}

/// A present field (even `null`) is `Some(..)`; an absent one stays `None` by `default`.
fn some<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A device group; groups nest one level (a parent has no parent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parent: Option<String>,
}

/// A driver: who is at the wheel, known by the `key` the trackers report (iButton, RFID or
/// driver card id; `driver_id` in a position's attributes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub key: String,
}

/// Longest driver `key` (an iButton is 16 hex digits; card ids are longer).
pub const MAX_DRIVER_KEY: usize = 64;

impl Driver {
    /// Checks the driver's fields with `id` from the path (or the body, for a POST).
    pub fn checked(self, id: &str) -> Result<Driver, Invalid> {
        check_key("id", id)?;
        if !self.id.is_empty() && self.id != id {
            return Err(field(
                "id",
                format!("{:?} is not the driver of the path ({id:?})", self.id),
            ));
        }
        let key = self.key.trim().to_string();
        if key.is_empty() || key.chars().count() > MAX_DRIVER_KEY {
            return Err(field(
                "key",
                format!("{key:?}: 1 to {MAX_DRIVER_KEY} characters (the id the trackers report)"),
            ));
        }
        if let Some(c) = key.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(field("key", format!("{key:?} contains {c:?}")));
        }
        Ok(Driver {
            id: id.to_string(),
            name: text("name", self.name, MAX_NAME, false)?,
            key,
        })
    }
}

/// How driver keys compare: ignoring case (hex ids arrive in either).
pub fn key_form(key: &str) -> String {
    key.trim().to_ascii_lowercase()
}

/// Why a value cannot be stored; the message names the field and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("group: no group {0:?}")]
    NoGroup(String),
    #[error("parent: no group {0:?}")]
    NoParent(String),
    #[error("parent: group {parent:?} has a parent itself (groups nest one level)")]
    ParentNested { parent: String },
    #[error(
        "parent: group {0:?} has subgroups, so it cannot have a parent (groups nest one level)"
    )]
    HasChildren(String),
}

fn field(field: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid::Field {
        field,
        reason: reason.into(),
    }
}

/// Empty (or all-space) text is "not set"; otherwise the text with outer spaces trimmed.
fn text(
    name: &'static str,
    v: Option<String>,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, Invalid> {
    let Some(v) = v else { return Ok(None) };
    let t = v.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let n = t.chars().count();
    if n > max {
        return Err(field(name, format!("{n} characters, more than {max}")));
    }
    if let Some(c) = t
        .chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t')))
    {
        return Err(field(name, format!("contains the control character {c:?}")));
    }
    Ok(Some(t.to_string()))
}

/// A group id or customer name: 1..=64 of `A-Za-z0-9._-` (the rule of token customers, so
/// a registered customer can match a token's).
pub fn check_key(name: &'static str, v: &str) -> Result<(), Invalid> {
    if v.is_empty()
        || v.len() > MAX_KEY
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(field(
            name,
            format!("{v:?}: 1 to {MAX_KEY} characters of A-Z a-z 0-9 . _ -"),
        ));
    }
    Ok(())
}

fn key(name: &'static str, v: Option<String>) -> Result<Option<String>, Invalid> {
    let Some(v) = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    check_key(name, &v)?;
    Ok(Some(v))
}

/// A device id as the registry stores it (the gateway's id rules).
pub fn device_id(v: &str) -> Result<DeviceId, Invalid> {
    DeviceId::new(v.trim()).map_err(|e| field("id", e.to_string()))
}

/// A speed limit: finite, above 0, at most [`MAX_SPEED_LIMIT_KMH`].
fn speed(v: Option<f64>) -> Result<Option<f64>, Invalid> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s <= MAX_SPEED_LIMIT_KMH => Ok(Some(s)),
        Some(s) => Err(field(
            "speed_limit_kmh",
            format!("{s} is not a number above 0 and at most {MAX_SPEED_LIMIT_KMH}"),
        )),
    }
}

impl DeviceFields {
    /// Checks every field (not the group's existence: see [`Device::check_group`]) and
    /// builds the device `id` (the id of the path or the CSV row).
    pub fn into_device(self, id: &str) -> Result<Device, Invalid> {
        let did = device_id(id)?;
        if let Some(body_id) = &self.id {
            let same = device_id(body_id)?;
            if same.canonical() != did.canonical() {
                return Err(field(
                    "id",
                    format!("{body_id:?} is not the device of the path ({id:?})"),
                ));
            }
        }
        Ok(Device {
            id: did.as_str().to_string(),
            name: text("name", self.name, MAX_NAME, false)?,
            plate: text("plate", self.plate, MAX_PLATE, false)?,
            vehicle_type: text("vehicle_type", self.vehicle_type, MAX_VEHICLE_TYPE, false)?,
            group: key("group", self.group)?,
            customer: key("customer", self.customer)?,
            phone: text("phone", self.phone, MAX_PHONE, false)?,
            notes: text("notes", self.notes, MAX_NOTES, true)?,
            speed_limit_kmh: speed(self.speed_limit_kmh)?,
        })
    }
}

impl Device {
    /// The device's writable fields (to re-check after a patch).
    pub fn fields(&self) -> DeviceFields {
        DeviceFields {
            id: None,
            name: self.name.clone(),
            plate: self.plate.clone(),
            vehicle_type: self.vehicle_type.clone(),
            group: self.group.clone(),
            customer: self.customer.clone(),
            phone: self.phone.clone(),
            notes: self.notes.clone(),
            speed_limit_kmh: self.speed_limit_kmh,
        }
    }

    /// This device with `patch` applied, checked like a full replacement.
    pub fn patched(&self, patch: DevicePatch) -> Result<Device, Invalid> {
        let mut f = self.fields();
        let set = |slot: &mut Option<String>, v: Option<Option<String>>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut f.name, patch.name);
        set(&mut f.plate, patch.plate);
        set(&mut f.vehicle_type, patch.vehicle_type);
        set(&mut f.group, patch.group);
        set(&mut f.customer, patch.customer);
        set(&mut f.phone, patch.phone);
        set(&mut f.notes, patch.notes);
        if let Some(v) = patch.speed_limit_kmh {
            f.speed_limit_kmh = v;
        }
        f.into_device(&self.id)
    }

    /// Whether its group exists (`exists` answers for a group id).
    pub fn check_group(&self, exists: impl Fn(&str) -> bool) -> Result<(), Invalid> {
        match &self.group {
            Some(g) if !exists(g) => Err(Invalid::NoGroup(g.clone())),
            _ => Ok(()),
        }
    }

    /// Case-insensitive search of name, plate and id (`needle` already lower-case).
    pub fn matches(&self, needle: &str) -> bool {
        [Some(&self.id), self.name.as_ref(), self.plate.as_ref()]
            .into_iter()
            .flatten()
            .any(|t| t.to_lowercase().contains(needle))
    }
}

impl Group {
    /// Checks the group's own fields (id, name, parent's form) with `id` from the path.
    pub fn checked(self, id: &str) -> Result<Group, Invalid> {
        check_key("id", id)?;
        if !self.id.is_empty() && self.id != id {
            return Err(field(
                "id",
                format!("{:?} is not the group of the path ({id:?})", self.id),
            ));
        }
        let parent = key("parent", self.parent)?;
        if parent.as_deref() == Some(id) {
            return Err(field("parent", "a group cannot be its own parent"));
        }
        Ok(Group {
            id: id.to_string(),
            name: text("name", self.name, MAX_NAME, false)?,
            parent,
        })
    }

    /// The one-level nesting rule against the stored groups: the parent exists and has no
    /// parent; a group with subgroups gets no parent. `parent_of(id)`: `None` if no such
    /// group, `Some(parent)` otherwise; `has_children(id)`.
    pub fn check_nesting(
        &self,
        parent_of: impl Fn(&str) -> Option<Option<String>>,
        has_children: impl Fn(&str) -> bool,
    ) -> Result<(), Invalid> {
        let Some(p) = &self.parent else { return Ok(()) };
        match parent_of(p) {
            None => Err(Invalid::NoParent(p.clone())),
            Some(Some(_)) => Err(Invalid::ParentNested { parent: p.clone() }),
            Some(None) if has_children(&self.id) => Err(Invalid::HasChildren(self.id.clone())),
            Some(None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> DeviceFields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_full_device_is_trimmed_and_empty_text_is_unset() {
        let d = fields(
            r#"{"name":" Truck 7 ","plate":"B-TG 7","vehicle_type":"","group":"north",
                "customer":"acme","phone":"+4917","notes":"line1\nline2","speed_limit_kmh":90}"#,
        )
        .into_device("0864717003283581")
        .unwrap();
        assert_eq!(d.id, "0864717003283581");
        assert_eq!(d.name.as_deref(), Some("Truck 7"));
        assert_eq!(d.vehicle_type, None);
        assert_eq!(d.notes.as_deref(), Some("line1\nline2"));
        assert_eq!(d.speed_limit_kmh, Some(90.0));
    }

    #[test]
    fn every_bound_is_enforced_naming_the_field() {
        let long = "x".repeat(MAX_NAME + 1);
        let e = fields(&format!(r#"{{"name":"{long}"}}"#))
            .into_device("1")
            .unwrap_err();
        assert_eq!(e.to_string(), "name: 101 characters, more than 100");
        for bad in ["0", "-5", "500.5", "1e9"] {
            let e = fields(&format!(r#"{{"speed_limit_kmh":{bad}}}"#))
                .into_device("1")
                .unwrap_err();
            assert!(e.to_string().starts_with("speed_limit_kmh: "), "{e}");
        }
        let nan = DeviceFields {
            speed_limit_kmh: Some(f64::NAN),
            ..Default::default()
        };
        assert!(nan.into_device("1").is_err());
        let e = fields(r#"{"customer":"a b"}"#)
            .into_device("1")
            .unwrap_err();
        assert!(e.to_string().starts_with("customer: \"a b\""), "{e}");
        let e = fields(r#"{"plate":"a\u0007"}"#)
            .into_device("1")
            .unwrap_err();
        assert!(e.to_string().contains("control"), "{e}");
        assert!(DeviceFields::default().into_device("a/b").is_err());
        assert!(DeviceFields::default().into_device("").is_err());
        let e = fields(r#"{"id":"2"}"#).into_device("1").unwrap_err();
        assert!(e.to_string().starts_with("id: "), "{e}");
        // The same device under its zero padding is fine.
        assert!(fields(r#"{"id":"012"}"#).into_device("12").is_ok());
        assert!(serde_json::from_str::<DeviceFields>(r#"{"colour":"red"}"#).is_err());
    }

    #[test]
    fn a_patch_keeps_absent_fields_and_clears_nulls() {
        let d = fields(r#"{"name":"A","plate":"P1","speed_limit_kmh":80}"#)
            .into_device("1")
            .unwrap();
        let p: DevicePatch = serde_json::from_str(r#"{"plate":null,"notes":"n"}"#).unwrap();
        let e = d.patched(p).unwrap();
        assert_eq!(e.name.as_deref(), Some("A"));
        assert_eq!(e.plate, None);
        assert_eq!(e.notes.as_deref(), Some("n"));
        assert_eq!(e.speed_limit_kmh, Some(80.0));
        let p: DevicePatch = serde_json::from_str(r#"{"speed_limit_kmh":-1}"#).unwrap();
        assert!(d.patched(p).is_err());
    }

    #[test]
    fn groups_must_exist_and_nest_one_level() {
        let d = fields(r#"{"group":"north"}"#).into_device("1").unwrap();
        assert_eq!(
            d.check_group(|_| false),
            Err(Invalid::NoGroup("north".into()))
        );
        assert!(d.check_group(|g| g == "north").is_ok());

        let g = Group {
            parent: Some("eu".into()),
            ..Default::default()
        }
        .checked("north")
        .unwrap();
        let none = |_: &str| None;
        assert_eq!(
            g.check_nesting(none, |_| false),
            Err(Invalid::NoParent("eu".into()))
        );
        let nested = |_: &str| Some(Some("world".to_string()));
        assert!(matches!(
            g.check_nesting(nested, |_| false),
            Err(Invalid::ParentNested { .. })
        ));
        let top = |_: &str| Some(None);
        assert!(g.check_nesting(top, |_| false).is_ok());
        assert!(matches!(
            g.check_nesting(top, |_| true),
            Err(Invalid::HasChildren(_))
        ));
        let own = Group {
            parent: Some("x".into()),
            ..Default::default()
        };
        assert!(own.checked("x").is_err());
        assert!(Group::default().checked("a b").is_err());
    }

    #[test]
    fn drivers_need_a_key_without_spaces() {
        let d: Driver =
            serde_json::from_str(r#"{"name":"Ann","key":" 01A2B3C4D5E6F708 "}"#).unwrap();
        let d = d.checked("ann").unwrap();
        assert_eq!(d.key, "01A2B3C4D5E6F708");
        assert_eq!(key_form(&d.key), "01a2b3c4d5e6f708");
        assert!(Driver::default().checked("ann").is_err(), "no key");
        let spaced = Driver {
            key: "a b".into(),
            ..Default::default()
        };
        assert!(spaced.checked("x").is_err());
        let other = Driver {
            id: "bob".into(),
            key: "k".into(),
            ..Default::default()
        };
        assert!(
            other.checked("ann").is_err(),
            "body id differs from the path"
        );
    }

    #[test]
    fn search_is_case_insensitive_over_name_plate_and_id() {
        let d = fields(r#"{"name":"Blue Truck","plate":"HH-AB 12"}"#)
            .into_device("8647170")
            .unwrap();
        assert!(d.matches("blue") && d.matches("ab 1") && d.matches("4717"));
        assert!(!d.matches("red"));
    }
}
