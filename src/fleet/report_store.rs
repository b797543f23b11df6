//! The report tables of `fleet.sqlite`: finished trips, finished stops and per-device UTC-day
//! figures, written by the fleet consumer in the transaction that saves the device states
//! (so a replay never duplicates them) and read by `/api/reports/*`.
//!
//! Trips and stops are keyed by (device, start); day figures are sums (distance, driving
//! and idle seconds) and a maximum, added to as a trip's fixes are known to belong to it
//! and as idle time accrues.

use super::trips::{total, Row};
use crate::model::DeviceId;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, params_from_iter, Connection, Transaction};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS trips (
  device TEXT NOT NULL, start_ms INTEGER NOT NULL, start_lat REAL NOT NULL,
  start_lon REAL NOT NULL, end_ms INTEGER NOT NULL, end_lat REAL NOT NULL,
  end_lon REAL NOT NULL, distance_m REAL NOT NULL, driving_s REAL NOT NULL,
  max_kmh REAL NOT NULL, PRIMARY KEY (device, start_ms));
CREATE INDEX IF NOT EXISTS trips_start ON trips (start_ms);
CREATE TABLE IF NOT EXISTS stops (
  device TEXT NOT NULL, arrival_ms INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
  departure_ms INTEGER NOT NULL, PRIMARY KEY (device, arrival_ms));
CREATE INDEX IF NOT EXISTS stops_arrival ON stops (arrival_ms);
CREATE TABLE IF NOT EXISTS days (
  device TEXT NOT NULL, day TEXT NOT NULL, distance_m REAL NOT NULL DEFAULT 0,
  driving_s REAL NOT NULL DEFAULT 0, idle_s REAL NOT NULL DEFAULT 0,
  max_kmh REAL NOT NULL DEFAULT 0, PRIMARY KEY (device, day));
";

/// Writes finished rows inside the caller's transaction.
pub(super) fn write(tx: &Transaction<'_>, rows: &[(DeviceId, Row)]) -> rusqlite::Result<()> {
    let mut add_day = tx.prepare_cached(
        "INSERT INTO days (device, day, distance_m, driving_s, idle_s, max_kmh)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(device, day) DO UPDATE SET
           distance_m = distance_m + excluded.distance_m,
           driving_s = driving_s + excluded.driving_s,
           idle_s = idle_s + excluded.idle_s,
           max_kmh = max(max_kmh, excluded.max_kmh)",
    )?;
    for (dev, row) in rows {
        // Canonical ids (`012…` is `12…`): asked for in either form, a device has one key.
        let d = dev.canonical();
        match row {
            Row::Trip(t) => {
                let sum = total(&t.days);
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO trips VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    d,
                    t.start.time.timestamp_millis(),
                    t.start.lat,
                    t.start.lon,
                    t.end.time.timestamp_millis(),
                    t.end.lat,
                    t.end.lon,
                    sum.distance_m,
                    sum.driving_s,
                    sum.max_kmh
                ])?;
            }
            Row::Stop(s) => {
                tx.prepare_cached("INSERT OR REPLACE INTO stops VALUES (?1, ?2, ?3, ?4, ?5)")?
                    .execute(params![
                        d,
                        s.arrival.time.timestamp_millis(),
                        s.arrival.lat,
                        s.arrival.lon,
                        s.departure.timestamp_millis()
                    ])?;
            }
            Row::Days(days) => {
                for (day, f) in days {
                    add_day.execute(params![
                        d,
                        day.to_string(),
                        f.distance_m,
                        f.driving_s,
                        f.idle_s,
                        f.max_kmh
                    ])?;
                }
            }
        }
    }
    Ok(())
}

/// Which rows a report reads: devices (`None`: all; canonical ids), a time window, a page.
#[derive(Clone, Debug)]
pub struct Query {
    pub devices: Option<Vec<String>>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Cursor: rows strictly after (key, device).
    pub after: Option<(String, String)>,
    pub limit: usize,
}

/// A finished trip as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    pub device: String,
    pub start_ms: i64,
    pub start_lat: f64,
    pub start_lon: f64,
    pub end_ms: i64,
    pub end_lat: f64,
    pub end_lon: f64,
    pub distance_m: f64,
    pub driving_s: f64,
    pub max_kmh: f64,
}

/// A finished stop as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub device: String,
    pub arrival_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub departure_ms: i64,
}

/// One device's figures on one UTC day.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    pub device: String,
    pub day: String,
    pub distance_m: f64,
    pub driving_s: f64,
    pub idle_s: f64,
    pub max_kmh: f64,
}

/// Builds `WHERE` for a key column compared as `key_sql` values (millis or day text).
fn filter(
    q: &Query,
    key: &str,
    lo: rusqlite::types::Value,
    hi: rusqlite::types::Value,
) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql = format!("{key} >= ? AND {key} < ?");
    let mut args = vec![lo, hi];
    if let Some(devs) = &q.devices {
        let marks = vec!["?"; devs.len()].join(",");
        sql.push_str(&format!(" AND device IN ({marks})"));
        args.extend(devs.iter().map(|d| Value::Text(d.clone())));
    }
    if let Some((k, d)) = &q.after {
        sql.push_str(&format!(" AND ({key}, device) > (?, ?)"));
        let k = match k.parse::<i64>() {
            Ok(n) if key != "day" => Value::Integer(n),
            _ => Value::Text(k.clone()),
        };
        args.extend([k, Value::Text(d.clone())]);
    }
    (sql, args)
}

fn ms(t: DateTime<Utc>) -> rusqlite::types::Value {
    rusqlite::types::Value::Integer(t.timestamp_millis())
}

/// Trips starting within the window, by (start, device).
pub fn trips(c: &Connection, q: &Query) -> rusqlite::Result<Vec<Trip>> {
    let (w, args) = filter(q, "start_ms", ms(q.from), ms(q.to));
    let sql = format!(
        "SELECT device, start_ms, start_lat, start_lon, end_ms, end_lat, end_lon, distance_m,
                driving_s, max_kmh FROM trips WHERE {w} ORDER BY start_ms, device LIMIT {}",
        q.limit
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        Ok(Trip {
            device: r.get(0)?,
            start_ms: r.get(1)?,
            start_lat: r.get(2)?,
            start_lon: r.get(3)?,
            end_ms: r.get(4)?,
            end_lat: r.get(5)?,
            end_lon: r.get(6)?,
            distance_m: r.get(7)?,
            driving_s: r.get(8)?,
            max_kmh: r.get(9)?,
        })
    })?;
    rows.collect()
}

/// Stops arriving within the window, by (arrival, device).
pub fn stops(c: &Connection, q: &Query) -> rusqlite::Result<Vec<Stop>> {
    let (w, args) = filter(q, "arrival_ms", ms(q.from), ms(q.to));
    let sql = format!(
        "SELECT device, arrival_ms, lat, lon, departure_ms FROM stops WHERE {w}
         ORDER BY arrival_ms, device LIMIT {}",
        q.limit
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        Ok(Stop {
            device: r.get(0)?,
            arrival_ms: r.get(1)?,
            lat: r.get(2)?,
            lon: r.get(3)?,
            departure_ms: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Day figures of the UTC days the window touches, by (day, device).
pub fn days(c: &Connection, q: &Query) -> rusqlite::Result<Vec<Day>> {
    use rusqlite::types::Value;
    let first: NaiveDate = q.from.date_naive();
    // Days starting before `to`: the day of `to` unless `to` is its midnight.
    let last = (q.to - chrono::Duration::milliseconds(1)).date_naive();
    let (w, args) = filter(
        q,
        "day",
        Value::Text(first.to_string()),
        Value::Text(last.succ_opt().unwrap_or(last).to_string()),
    );
    let sql = format!(
        "SELECT device, day, distance_m, driving_s, idle_s, max_kmh FROM days WHERE {w}
         ORDER BY day, device LIMIT {}",
        q.limit
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        Ok(Day {
            device: r.get(0)?,
            day: r.get(1)?,
            distance_m: r.get(2)?,
            driving_s: r.get(3)?,
            idle_s: r.get(4)?,
            max_kmh: r.get(5)?,
        })
    })?;
    rows.collect()
}
