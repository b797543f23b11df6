//! The CSV form of the registry (`trackgate devices import FILE.csv` / `export`): one device
//! per row under a header naming the columns [`COLUMNS`] (any order, `id` required, unknown
//! columns refused). An empty cell is "not set".
//!
//! Installers onboard hundreds of trackers from a spreadsheet, so a bad row must be found
//! before anything is written: [`parse`] checks every row (the same rules as the API) and
//! names the line of the first bad one; duplicates of one device in a file are refused too
//! (which row should win is a guess). Export writes the header and every device in id
//! order, so `export | import` changes nothing.

use super::model::{device_id, Device, DeviceFields};
use std::collections::HashMap;
use std::io::{Read, Write};

/// The columns, in export order.
pub const COLUMNS: [&str; 9] = [
    "id",
    "name",
    "plate",
    "vehicle_type",
    "group",
    "customer",
    "phone",
    "notes",
    "speed_limit_kmh",
];

/// A file that cannot be imported; `line` is 1-based (the header is line 1).
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: u64,
    pub message: String,
}

fn at(line: u64, message: impl Into<String>) -> CsvError {
    CsvError {
        line,
        message: message.into(),
    }
}

/// Every row as a checked device with its line number (groups are checked at import, against
/// the stored ones).
pub fn parse(input: impl Read) -> Result<Vec<(usize, Device)>, CsvError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = r
        .headers()
        .map_err(|e| at(1, format!("header: {e}")))?
        .clone();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        // Spreadsheets save UTF-8 CSV with a byte order mark before the first column.
        let h = h.trim_start_matches('\u{feff}').trim();
        let Some(known) = COLUMNS.iter().find(|c| **c == h) else {
            return Err(at(
                1,
                format!(
                    "unknown column {h:?} (columns: {}; a header row is required)",
                    COLUMNS.join(",")
                ),
            ));
        };
        if index.insert(known, i).is_some() {
            return Err(at(1, format!("column {h:?} appears twice")));
        }
    }
    if !index.contains_key("id") {
        return Err(at(
            1,
            format!(
                "no id column (columns: {}; a header row is required)",
                COLUMNS.join(",")
            ),
        ));
    }
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let cell = |c: &str| {
            index
                .get(c)
                .and_then(|i| rec.get(*i))
                .map(str::to_string)
                .filter(|s| !s.trim().is_empty())
        };
        let id = cell("id").ok_or_else(|| at(line, "id: empty"))?;
        let speed = match cell("speed_limit_kmh") {
            None => None,
            Some(s) => Some(
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| at(line, format!("speed_limit_kmh: {s:?} is not a number")))?,
            ),
        };
        let fields = DeviceFields {
            id: None,
            name: cell("name"),
            plate: cell("plate"),
            vehicle_type: cell("vehicle_type"),
            group: cell("group"),
            customer: cell("customer"),
            phone: cell("phone"),
            notes: cell("notes"),
            speed_limit_kmh: speed,
        };
        let d = fields
            .into_device(&id)
            .map_err(|e| at(line, e.to_string()))?;
        let canonical = device_id(&d.id)
            .map_err(|e| at(line, e.to_string()))?
            .canonical()
            .to_string();
        if let Some(first) = seen.insert(canonical, line) {
            return Err(at(
                line,
                format!("device {:?} appears again (first on line {first})", d.id),
            ));
        }
        out.push((line as usize, d));
    }
    Ok(out)
}

/// Writes the header and `devices` (already in id order).
pub fn write(out: impl Write, devices: &[Device]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for d in devices {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([
            d.id.clone(),
            s(&d.name),
            s(&d.plate),
            s(&d.vehicle_type),
            s(&d.group),
            s(&d.customer),
            s(&d.phone),
            s(&d.notes),
            d.speed_limit_kmh.map(|v| v.to_string()).unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "id,name,plate,vehicle_type,group,customer,phone,notes,speed_limit_kmh
864717003283581,Truck 1,B-TG 1,truck,north,acme,+4917,\"two\nlines, a comma\",90
864717003283582,Van 2,,,,,,,
";

    #[test]
    fn rows_parse_with_their_line_numbers_and_round_trip() {
        let rows = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        let (line, d) = &rows[0];
        assert_eq!(*line, 2);
        assert_eq!(d.notes.as_deref(), Some("two\nlines, a comma"));
        assert_eq!(d.speed_limit_kmh, Some(90.0));
        // The quoted newline makes the second device start on line 4.
        assert_eq!(rows[1].0, 4);
        assert_eq!(rows[1].1.plate, None);
        let mut out = Vec::new();
        let devices: Vec<Device> = rows.iter().map(|(_, d)| d.clone()).collect();
        write(&mut out, &devices).unwrap();
        let again: Vec<Device> = parse(out.as_slice())
            .unwrap()
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        assert_eq!(again, devices);
    }

    #[test]
    fn a_bad_row_is_named_by_its_line() {
        let bad = "id,name,speed_limit_kmh\n1,a,50\n2,b,fast\n";
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            "line 3: speed_limit_kmh: \"fast\" is not a number"
        );
        let e = parse("id,speed_limit_kmh\n1,900\n".as_bytes()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("speed_limit_kmh: 900"), "{e}");
        let e = parse("id,name\n1,a\n,b\n".as_bytes()).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (3, "id: empty"));
        let e = parse("id,name\n1,a\n01,b\n".as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: device \"01\" appears again (first on line 2)"
        );
        let e = parse("id,name\n1,a,extra\n".as_bytes()).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn a_spreadsheet_s_byte_order_mark_is_not_part_of_the_header() {
        let rows = parse("\u{feff}id,name\n1,a\n".as_bytes()).unwrap();
        assert_eq!(rows[0].1.name.as_deref(), Some("a"));
    }

    #[test]
    fn the_header_is_required_and_checked() {
        let e = parse("864717003283581,Truck\n".as_bytes()).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("header row is required"), "{e}");
        let e = parse("name,plate\n".as_bytes()).unwrap_err();
        assert!(e.message.starts_with("no id column"), "{e}");
        let e = parse("id,id\n".as_bytes()).unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
    }
}
