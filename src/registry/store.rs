//! The registry's SQLite file, `<storage.dir>/registry.sqlite3`: plain statements over two
//! tables, no rules (those are in [`super::model`] and [`super::Registry`]).
//!
//! # Migrations
//! The schema only grows, like `outputs/store.rs`: tables are created if missing at every
//! open; a column added later goes into [`ADDED_COLUMNS`] and is added with `ALTER TABLE`.

use super::model::{key_form, Device, Driver, Group};
use rusqlite::{params, Connection, Transaction};
use std::path::Path;

/// File name of the store inside `storage.dir`.
pub const FILE_NAME: &str = "registry.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
  canonical TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  name TEXT,
  plate TEXT,
  vehicle_type TEXT,
  grp TEXT,
  customer TEXT,
  phone TEXT,
  notes TEXT,
  speed_limit_kmh REAL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY,
  name TEXT,
  parent TEXT
);
CREATE TABLE IF NOT EXISTS drivers (
  id TEXT PRIMARY KEY,
  name TEXT,
  key TEXT NOT NULL,
  key_form TEXT NOT NULL UNIQUE
);";

/// Columns added after their table's first release: (table, column, declaration).
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[];

/// Opens (creating) the file and brings its schema up to date.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.execute_batch(SCHEMA)?;
    for (table, column, decl) in ADDED_COLUMNS {
        let present = c
            .prepare(&format!("PRAGMA table_info({table})"))?
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|n| n == column);
        if !present {
            c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    Ok(c)
}

/// Changes whenever another connection (another process: `trackgate devices import`)
/// committed to the file since this connection last looked.
pub fn data_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
}

/// Every driver.
pub fn load_drivers(c: &Connection) -> rusqlite::Result<Vec<Driver>> {
    c.prepare("SELECT id, name, key FROM drivers")?
        .query_map([], |r| {
            Ok(Driver {
                id: r.get(0)?,
                name: r.get(1)?,
                key: r.get(2)?,
            })
        })?
        .collect()
}

/// Inserts or replaces a driver.
pub fn put_driver(tx: &Transaction<'_>, d: &Driver) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO drivers (id, name, key, key_form) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, key = excluded.key,
           key_form = excluded.key_form",
        params![d.id, d.name, d.key, key_form(&d.key)],
    )?;
    Ok(())
}

/// Deletes a driver; whether it was there.
pub fn delete_driver(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<bool> {
    Ok(tx.execute("DELETE FROM drivers WHERE id = ?1", [id])? > 0)
}

/// Every device and group.
pub fn load(c: &Connection) -> rusqlite::Result<(Vec<Device>, Vec<Group>)> {
    let devices = c
        .prepare(
            "SELECT id, name, plate, vehicle_type, grp, customer, phone, notes, speed_limit_kmh
             FROM devices",
        )?
        .query_map([], |r| {
            Ok(Device {
                id: r.get(0)?,
                name: r.get(1)?,
                plate: r.get(2)?,
                vehicle_type: r.get(3)?,
                group: r.get(4)?,
                customer: r.get(5)?,
                phone: r.get(6)?,
                notes: r.get(7)?,
                speed_limit_kmh: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let groups = c
        .prepare("SELECT id, name, parent FROM groups")?
        .query_map([], |r| {
            Ok(Group {
                id: r.get(0)?,
                name: r.get(1)?,
                parent: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((devices, groups))
}

/// Inserts or replaces a device under its canonical id.
pub fn put_device(
    tx: &Transaction<'_>,
    canonical: &str,
    d: &Device,
    now_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO devices (canonical, id, name, plate, vehicle_type, grp, customer, phone,
                              notes, speed_limit_kmh, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(canonical) DO UPDATE SET id = excluded.id, name = excluded.name,
           plate = excluded.plate, vehicle_type = excluded.vehicle_type, grp = excluded.grp,
           customer = excluded.customer, phone = excluded.phone, notes = excluded.notes,
           speed_limit_kmh = excluded.speed_limit_kmh, updated_ms = excluded.updated_ms",
    )?
    .execute(params![
        canonical,
        d.id,
        d.name,
        d.plate,
        d.vehicle_type,
        d.group,
        d.customer,
        d.phone,
        d.notes,
        d.speed_limit_kmh,
        now_ms
    ])?;
    Ok(())
}

/// Deletes a device; whether it was there.
pub fn delete_device(tx: &Transaction<'_>, canonical: &str) -> rusqlite::Result<bool> {
    Ok(tx.execute("DELETE FROM devices WHERE canonical = ?1", [canonical])? > 0)
}

/// Inserts or replaces a group.
pub fn put_group(tx: &Transaction<'_>, g: &Group) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO groups (id, name, parent) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, parent = excluded.parent",
        params![g.id, g.name, g.parent],
    )?;
    Ok(())
}

/// Deletes a group; whether it was there.
pub fn delete_group(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<bool> {
    Ok(tx.execute("DELETE FROM groups WHERE id = ?1", [id])? > 0)
}
