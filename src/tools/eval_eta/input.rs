//! The evaluation's inputs: the planned shipment(s) and the trips CSV.

use super::EvalError;
use crate::model::DeviceId;
use crate::tracking::ShipmentSpec;
use chrono::{DateTime, TimeZone, Utc};

/// One trip from the CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    /// Trip name (first column).
    pub name: String,
    /// The shipment it drives (fifth column; empty when the file has four).
    pub shipment: String,
    /// Fixes `(time, lat, lon)` sorted by time.
    pub fixes: Vec<(DateTime<Utc>, f64, f64)>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let secs: f64 = s.parse().ok()?;
    if !secs.is_finite() {
        return None;
    }
    Utc.timestamp_opt(secs.floor() as i64, ((secs.fract()) * 1e9) as u32)
        .single()
}

/// Parses `trip,time,lat,lon[,shipment]` (header required; time RFC 3339 or unix seconds).
/// Trips keep the order of their first line.
pub fn parse_trips(text: &str) -> Result<Vec<Trip>, EvalError> {
    let mut lines = text.lines().enumerate();
    let cols_expected = match lines.next().map(|(_, h)| h.trim().replace(' ', "")) {
        Some(h) if h == "trip,time,lat,lon" => 4,
        Some(h) if h == "trip,time,lat,lon,shipment" => 5,
        _ => {
            return Err(EvalError::Csv {
                line: 1,
                message: "header must be trip,time,lat,lon or trip,time,lat,lon,shipment".into(),
            })
        }
    };
    let mut trips: Vec<Trip> = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |m: &str| EvalError::Csv {
            line: line_no,
            message: format!("{m}: {line:?}"),
        };
        if cols.len() != cols_expected {
            return Err(bad(&format!("expected {cols_expected} columns")));
        }
        let time =
            parse_time(cols[1]).ok_or_else(|| bad("time is neither RFC 3339 nor unix seconds"))?;
        let lat: f64 = cols[2].parse().map_err(|_| bad("lat is not a number"))?;
        let lon: f64 = cols[3].parse().map_err(|_| bad("lon is not a number"))?;
        let shipment = cols.get(4).copied().unwrap_or_default();
        match trips.iter_mut().find(|t| t.name == cols[0]) {
            Some(t) if t.shipment != shipment => {
                return Err(bad(&format!(
                    "trip {:?} was on shipment {:?} before",
                    t.name, t.shipment
                )))
            }
            Some(t) => t.fixes.push((time, lat, lon)),
            None => trips.push(Trip {
                name: cols[0].to_string(),
                shipment: shipment.to_string(),
                fixes: vec![(time, lat, lon)],
            }),
        }
    }
    for t in &mut trips {
        t.fixes.sort_by_key(|f| f.0);
    }
    Ok(trips)
}

/// Parses the shipment file: one shipment object or an array of them, each validated.
pub fn parse_shipments(text: &str) -> Result<Vec<ShipmentSpec>, EvalError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| EvalError::Shipment(e.to_string()))?;
    let list = match v {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    let mut out: Vec<ShipmentSpec> = Vec::new();
    for (i, s) in list.into_iter().enumerate() {
        let spec: ShipmentSpec = serde_json::from_value(s)
            .map_err(|e| EvalError::Shipment(format!("shipment {i}: {e}")))?;
        spec.validate()
            .map_err(|e| EvalError::Shipment(format!("shipment {:?}: {e}", spec.id)))?;
        if out.iter().any(|o| o.id == spec.id) {
            return Err(EvalError::Shipment(format!("shipment {:?} twice", spec.id)));
        }
        out.push(spec);
    }
    if out.is_empty() {
        return Err(EvalError::Shipment("no shipment".into()));
    }
    Ok(out)
}

/// The shipment a trip drives: by the CSV's shipment column, or the only one.
pub fn shipment_of<'a>(
    shipments: &'a [ShipmentSpec],
    trip: &Trip,
) -> Result<&'a ShipmentSpec, EvalError> {
    if trip.shipment.is_empty() && shipments.len() == 1 {
        return Ok(&shipments[0]);
    }
    shipments
        .iter()
        .find(|s| s.id == trip.shipment)
        .ok_or_else(|| {
            EvalError::Shipment(format!(
                "trip {:?} names shipment {:?}, which the shipment file does not hold",
                trip.name, trip.shipment
            ))
        })
}

/// The trip's shipment: planned times (and windows) shifted to the trip's first fix.
pub fn trip_spec(base: &ShipmentSpec, trip: &Trip) -> Result<Option<ShipmentSpec>, EvalError> {
    let (Some(first), Some(stop0)) = (trip.fixes.first(), base.stops.first()) else {
        return Ok(None);
    };
    let shift = first.0 - stop0.planned_arrival;
    let mut s = base.clone();
    s.id = format!("{}-{}", base.id, trip.name);
    // Trip names are free text; device ids may not hold '/', '+', '#' or whitespace.
    let id: String = format!("eval-{}", trip.name)
        .chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#') || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(60)
        .collect();
    s.device = DeviceId::new(id).map_err(|e| EvalError::Csv {
        line: 0,
        message: format!("trip name {:?} cannot be a device id: {e}", trip.name),
    })?;
    for st in &mut s.stops {
        st.planned_arrival += shift;
        st.window_start = st.window_start.map(|w| w + shift);
        st.window_end = st.window_end.map(|w| w + shift);
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_with_and_without_a_shipment_column() {
        let t = parse_trips("trip,time,lat,lon\na,0,52,13\nb,5,52,13\na,1,52.1,13\n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].fixes.len(), t[0].shipment.as_str()), (2, ""));
        let t = parse_trips("trip,time,lat,lon,shipment\na,0,52,13,x\n").unwrap();
        assert_eq!(t[0].shipment, "x");
        let e = parse_trips("trip,time,lat,lon,shipment\na,0,52,13,x\na,1,52,13,y\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("trips file line 3: trip \"a\" was on shipment"),
            "{e}"
        );
        let e = parse_trips("trip,time,lat,lon\na,0,52\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("trips file line 2: expected 4 columns"),
            "{e}"
        );
        let e = parse_trips("trip,time,lat,lon\na,inf,52,13\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("time is neither"), "{e}");
    }
}
