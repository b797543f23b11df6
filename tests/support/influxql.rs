//! Reading InfluxDB 1.x back with InfluxQL (`GET /query`), the way an operator would.

use super::poll::eventually;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// One result row: column → value, null columns left out (so a row compares equal to the
/// fields a point really has).
pub type Row = BTreeMap<String, Value>;

/// A database on an InfluxDB 1.x server, with the time precision rows come back in.
#[derive(Clone, Debug)]
pub struct Influxql {
    url: String,
    db: String,
    epoch: &'static str,
}

impl Influxql {
    /// `db` on the server at `url` (`http://host:port`); times in nanoseconds.
    pub fn new(url: &str, db: &str) -> Self {
        Influxql {
            url: url.into(),
            db: db.into(),
            epoch: "ns",
        }
    }

    /// The same database with times in `epoch` units (`s`, `ms`, `ns` ...).
    pub fn epoch(mut self, epoch: &'static str) -> Self {
        self.epoch = epoch;
        self
    }

    /// The rows of the first series of `q`; none when there is no series yet. A query error
    /// (a typo, a missing database) fails the test instead of reading as "no rows".
    pub async fn rows(&self, q: &str) -> Vec<Row> {
        self.fetch(q).await.unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    /// The number a `SELECT count(..)` returns; 0 when there is no series yet.
    pub async fn count(&self, q: &str) -> i64 {
        count_of(q, &self.rows(q).await)
    }

    /// Like [`Self::rows`] while polling: a database the sink has not created yet has no rows.
    async fn rows_so_far(&self, q: &str) -> Vec<Row> {
        match self.fetch(q).await {
            Ok(rows) => rows,
            Err(e) if e.starts_with("database not found") => Vec::new(),
            Err(e) => panic!("{q}: {e}"),
        }
    }

    /// The rows of the first series, or the error InfluxDB answered.
    async fn fetch(&self, q: &str) -> Result<Vec<Row>, String> {
        let v: Value = reqwest::Client::new()
            .get(format!("{}/query", self.url))
            .query(&[("db", self.db.as_str()), ("epoch", self.epoch), ("q", q)])
            .send()
            .await
            .expect("query request")
            .json()
            .await
            .expect("query json");
        if let Some(e) = v["results"][0]["error"].as_str().or(v["error"].as_str()) {
            return Err(e.to_string());
        }
        let Some(series) = v["results"][0]["series"][0].as_object() else {
            return Ok(Vec::new());
        };
        let cols: Vec<String> = series["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c.as_str().expect("column name").to_string())
            .collect();
        Ok(series["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|row| {
                cols.iter()
                    .cloned()
                    .zip(row.as_array().expect("row").iter().cloned())
                    .filter(|(_, v)| !v.is_null())
                    .collect()
            })
            .collect())
    }

    /// Polls `q` until it returns at least `n` rows (`within` limit); returns them all.
    pub async fn wait_rows(&self, q: &str, n: usize, within: Duration) -> Vec<Row> {
        eventually(within, &format!("{n} rows of {q}"), async || {
            let rows = self.rows_so_far(q).await;
            if rows.len() >= n {
                Ok(rows)
            } else {
                Err(format!("{} rows: {rows:?}", rows.len()))
            }
        })
        .await
    }

    /// Polls a `SELECT count(..)` until `pred` accepts it (`within` limit); returns it.
    pub async fn wait_count(&self, q: &str, within: Duration, pred: impl Fn(i64) -> bool) -> i64 {
        eventually(within, q, async || {
            let n = count_of(q, &self.rows_so_far(q).await);
            if pred(n) {
                Ok(n)
            } else {
                Err(n)
            }
        })
        .await
    }
}

/// The `count` column of the first row; 0 without rows.
fn count_of(q: &str, rows: &[Row]) -> i64 {
    rows.first().map_or(0, |r| {
        r.get("count")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{q}: no integer `count` in {r:?}"))
    })
}
