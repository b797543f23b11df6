//! Queclink encoders: the server's SACK answers and the device's uplink reports (GTFRI
//! position, GTHBD heartbeat), used by the simulator and the round-trip tests.

use super::super::Fix;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// Answer to `+ACK:GTHBD,<ver>,…,<count>$`: `+SACK:GTHBD,<ver>,<count>$`. Without it the
/// device considers the link dead and reconnects (the version may be empty).
pub fn sack_heartbeat(ver: &str, count: &str) -> Bytes {
    Bytes::from(format!("+SACK:GTHBD,{ver},{count}$"))
}

/// Answer to any report when the device runs with SACK enabled: `+SACK:<count>$`.
pub fn sack(count: &str) -> Bytes {
    Bytes::from(format!("+SACK:{count}$"))
}

fn hdop(fix: &Fix) -> u8 {
    if fix.valid {
        fix.hdop.round().clamp(1.0, 255.0) as u8
    } else {
        0
    }
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// A GL300-style fixed report: `+RESP:GTFRI,<ver>,<imei>,,0,0,1,<fix>,<cell>,00,<battery %>,
/// <send time>,<count>$` (`+BUFF:` when `buffered`). The fix is `<hdop>,<speed km/h .1>,
/// <course>,<altitude m .1>,<lon>,<lat>,<time>`; the report has no validity flag, an HDOP of
/// 0 says "no fix", so a valid fix is written with an HDOP of at least 1.
pub fn fri(
    ver: &str,
    imei: &str,
    fix: &Fix,
    battery: u8,
    sent: DateTime<Utc>,
    count: u16,
    buffered: bool,
) -> Vec<u8> {
    format!(
        "+{}:GTFRI,{ver},{imei},,0,0,1,{},{:.1},{},{:.1},{:.6},{:.6},{},0460,0000,18d8,6141,00,{battery},{},{count:04X}$",
        if buffered { "BUFF" } else { "RESP" },
        hdop(fix),
        fix.speed_kmh,
        fix.course_whole(),
        fix.altitude_m,
        fix.lon,
        fix.lat,
        fmt_time(fix.time),
        fmt_time(sent),
    )
    .into_bytes()
}

/// The heartbeat `+ACK:GTHBD,<ver>,<imei>,,<send time>,<count>$`.
pub fn heartbeat(ver: &str, imei: &str, sent: DateTime<Utc>, count: u16) -> Vec<u8> {
    format!("+ACK:GTHBD,{ver},{imei},,{},{count:04X}$", fmt_time(sent)).into_bytes()
}
