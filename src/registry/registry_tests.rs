//! The registry's rules against a real SQLite file in a temp dir.

use super::*;

fn dev(id: &str, json: &str) -> Device {
    serde_json::from_str::<DeviceFields>(json)
        .unwrap()
        .into_device(id)
        .unwrap()
}

fn group(id: &str, parent: Option<&str>) -> Group {
    Group {
        id: id.into(),
        name: None,
        parent: parent.map(String::from),
    }
}

#[test]
fn devices_are_created_replaced_patched_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    reg.put_group(group("north", None)).unwrap();
    let d = dev("012076463279", r#"{"name":"Truck","group":"north"}"#);
    assert_eq!(reg.put_device(d).unwrap(), Written::Created);
    // The canonical form is the same device.
    assert_eq!(
        reg.device("12076463279").unwrap().name.as_deref(),
        Some("Truck")
    );
    assert!(reg.contains(&DeviceId::new("12076463279").unwrap()));
    let d2 = dev("12076463279", r#"{"name":"Truck 2"}"#);
    assert_eq!(reg.put_device(d2).unwrap(), Written::Replaced);
    assert_eq!(reg.len(), 1, "one device under both forms");
    let p: DevicePatch = serde_json::from_str(r#"{"plate":"HH 1"}"#).unwrap();
    let got = reg.patch_device("012076463279", p).unwrap();
    assert_eq!(got.name.as_deref(), Some("Truck 2"));
    assert_eq!(got.plate.as_deref(), Some("HH 1"));
    drop(reg);
    let reg = Registry::open(dir.path()).unwrap();
    let back = reg.device("12076463279").unwrap();
    assert_eq!(back, got);
    assert_eq!(reg.group("north").unwrap().id, "north");
    assert!(reg.delete_device("012076463279").unwrap());
    assert!(!reg.delete_device("012076463279").unwrap());
    assert!(reg.is_empty());
}

#[test]
fn a_device_needs_an_existing_group_and_patching_the_unregistered_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let e = reg
        .put_device(dev("1", r#"{"group":"ghost"}"#))
        .unwrap_err();
    assert_eq!(e.to_string(), "group: no group \"ghost\"");
    assert!(reg.is_empty());
    let e = reg.patch_device("2", DevicePatch::default()).unwrap_err();
    assert!(matches!(e, RegistryError::NotFound { .. }), "{e}");
}

#[test]
fn groups_nest_one_level_and_a_group_in_use_stays() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    reg.put_group(group("eu", None)).unwrap();
    reg.put_group(group("north", Some("eu"))).unwrap();
    let e = reg.put_group(group("city", Some("north"))).unwrap_err();
    assert!(e.to_string().contains("nest one level"), "{e}");
    let e = reg.put_group(group("eu", Some("x"))).unwrap_err();
    assert!(e.to_string().contains("no group"), "{e}");
    reg.put_group(group("world", None)).unwrap();
    let e = reg.put_group(group("eu", Some("world"))).unwrap_err();
    assert!(e.to_string().contains("has subgroups"), "{e}");
    reg.put_device(dev("1", r#"{"group":"north"}"#)).unwrap();
    let e = reg.delete_group("eu").unwrap_err();
    assert!(matches!(e, RegistryError::InUse { groups: 1, .. }), "{e}");
    let e = reg.delete_group("north").unwrap_err();
    assert!(matches!(e, RegistryError::InUse { devices: 1, .. }), "{e}");
    // The parent's filter includes its subgroups.
    let q = DeviceQuery {
        group: Some("eu".into()),
        ..Default::default()
    };
    assert_eq!(reg.devices(&q, |_| true).len(), 1);
    reg.delete_device("1").unwrap();
    reg.delete_group("north").unwrap();
    reg.delete_group("eu").unwrap();
    assert!(matches!(
        reg.delete_group("eu"),
        Err(RegistryError::NotFound { .. })
    ));
    assert_eq!(reg.groups().len(), 1);
}

#[test]
fn an_import_is_all_or_nothing_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    reg.put_group(group("north", None)).unwrap();
    let rows = vec![
        (2, dev("1", r#"{"name":"a","group":"north"}"#)),
        (3, dev("2", r#"{"name":"b","group":"south"}"#)),
    ];
    let e = reg.import(rows).unwrap_err();
    assert_eq!(e.to_string(), "line 3: group: no group \"south\"");
    assert!(reg.is_empty(), "nothing written");
    drop(reg);
    assert!(
        Registry::open(dir.path()).unwrap().is_empty(),
        "nothing on disk"
    );
    let reg = Registry::open(dir.path()).unwrap();
    let rows = vec![
        (2, dev("1", r#"{"name":"a","group":"north"}"#)),
        (3, dev("2", r#"{"name":"b"}"#)),
    ];
    let n = reg.import(rows.clone()).unwrap();
    assert_eq!((n.created, n.replaced, n.unchanged), (2, 0, 0));
    let n = reg.import(rows).unwrap();
    assert_eq!((n.created, n.replaced, n.unchanged), (0, 0, 2));
}

#[test]
fn another_process_s_changes_are_picked_up_by_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let server = Registry::open(dir.path()).unwrap();
    let cli = Registry::open(dir.path()).unwrap();
    cli.put_device(dev("7", r#"{"name":"seven"}"#)).unwrap();
    assert!(server.device("7").is_none(), "not seen before a refresh");
    assert!(server.refresh().unwrap());
    assert_eq!(server.name_of("7").as_deref(), Some("seven"));
    assert!(!server.refresh().unwrap(), "nothing new");
    // A write refreshes first: the server's write does not lose the CLI's next device.
    cli.put_device(dev("8", "{}")).unwrap();
    server.put_device(dev("9", "{}")).unwrap();
    assert_eq!(server.len(), 3);
}

#[test]
fn driver_keys_are_unique_ignoring_case_and_found_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    let ann = Driver {
        id: "ann".into(),
        name: Some("Ann".into()),
        key: "01A2B3C4D5E6F708".into(),
    };
    assert_eq!(reg.put_driver(ann.clone()).unwrap(), Written::Created);
    let bob = Driver {
        id: "bob".into(),
        name: None,
        key: "01a2b3c4d5e6f708".into(),
    };
    let e = reg.put_driver(bob).unwrap_err();
    assert!(matches!(e, RegistryError::KeyTaken { .. }), "{e}");
    assert_eq!(reg.driver_by_key("01a2b3c4d5e6f708").unwrap().id, "ann");
    // A new key for Ann frees the old one.
    let ann2 = Driver {
        key: "card-7".into(),
        ..ann
    };
    assert_eq!(reg.put_driver(ann2).unwrap(), Written::Replaced);
    assert!(reg.driver_by_key("01A2B3C4D5E6F708").is_none());
    drop(reg);
    let reg = Registry::open(dir.path()).unwrap();
    assert_eq!(reg.driver_by_key("CARD-7").unwrap().id, "ann");
    reg.delete_driver("ann").unwrap();
    assert!(matches!(
        reg.delete_driver("ann"),
        Err(RegistryError::NotFound { .. })
    ));
    assert!(reg.drivers().is_empty());
}

#[test]
fn search_and_filters_combine() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path()).unwrap();
    reg.put_device(dev("100", r#"{"name":"Blue","customer":"acme"}"#))
        .unwrap();
    reg.put_device(dev("200", r#"{"plate":"BLU-1","customer":"globex"}"#))
        .unwrap();
    reg.put_device(dev("300", r#"{"name":"Red"}"#)).unwrap();
    let q = DeviceQuery {
        q: Some("blu".into()),
        ..Default::default()
    };
    let ids: Vec<String> = reg
        .devices(&q, |_| true)
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["100", "200"]);
    let q = DeviceQuery {
        q: Some("blu".into()),
        customer: Some("globex".into()),
        ..Default::default()
    };
    let ids: Vec<String> = reg
        .devices(&q, |_| true)
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["200"]);
    let ids: Vec<String> = reg.page(Some("100"), 1).into_iter().map(|d| d.id).collect();
    assert_eq!(ids, ["200"]);
}
