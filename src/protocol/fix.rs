//! [`Fix`]: the one input of every uplink encoder (`<p>::encode`), in physical units.
//!
//! The encoders exist for the simulator and for round-trip tests. They all take this struct,
//! so the simulator's motion model produces it once and every protocol kind sends the same
//! fix; each encoder converts to its wire units (knots, whole degrees, hex metres …) with
//! the helpers below, so the rounding rules live in one place. What only one protocol
//! carries (a status word, an event code, a battery level) is an argument of that
//! protocol's encoder, not a field here.

use chrono::{DateTime, Utc};

/// One GNSS fix as a device reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fix {
    /// Fix time, UTC. Encoders write whole seconds; most wire formats hold years 2000–2099.
    pub time: DateTime<Utc>,
    /// Degrees, south negative.
    pub lat: f64,
    /// Degrees, west negative.
    pub lon: f64,
    /// Speed over ground, km/h.
    pub speed_kmh: f64,
    /// Course over ground, degrees from north (0 ≤ course < 360).
    pub course: f64,
    /// Metres above sea level.
    pub altitude_m: f64,
    /// Satellites used.
    pub satellites: u8,
    /// Horizontal dilution of precision; 0 when unknown.
    pub hdop: f64,
    /// The receiver reports the fix as valid.
    pub valid: bool,
    /// Ignition (ACC) input.
    pub ignition: bool,
    /// Odometer, metres.
    pub odometer_m: f64,
}

impl Fix {
    /// Speed in knots (never negative), for the formats that speak knots.
    pub fn speed_knots(&self) -> f64 {
        self.speed_kmh.max(0.0) / super::wire::KNOT_KMH
    }

    /// Speed in whole km/h, clamped to `0..=max` (formats with an integer speed field).
    pub fn speed_kmh_whole(&self, max: u16) -> u16 {
        self.speed_kmh.round().clamp(0.0, f64::from(max)) as u16
    }

    /// Course in whole degrees, 0–359 (360 and negative courses wrap).
    pub fn course_whole(&self) -> u16 {
        (self.course.round().rem_euclid(360.0) as u16) % 360
    }

    /// Odometer in whole metres, clamped to `u32`.
    pub fn odometer_u32(&self) -> u32 {
        self.odometer_m.round().clamp(0.0, f64::from(u32::MAX)) as u32
    }

    /// Validity and position as the NMEA-style text protocols write them:
    /// `A|V <sep> ddmm.mmmm <sep> N|S <sep> dddmm.mmmm <sep> E|W` (`sep` is `,` for Coban and
    /// H02, empty for TK103's packed form).
    pub fn nmea_position(&self, sep: &str) -> String {
        format!(
            "{}{sep}{}{sep}{}{sep}{}{sep}{}",
            validity(self.valid),
            ddmm(self.lat, 2),
            north_south(self.lat),
            ddmm(self.lon, 3),
            east_west(self.lon)
        )
    }
}

/// `ddmm.mmmm` (or `dddmm.mmmm` with `deg_digits = 3`) of |deg|, minutes rounded to 1e-4:
/// the NMEA-style coordinate of the text protocols; the hemisphere letter goes apart.
pub fn ddmm(deg: f64, deg_digits: usize) -> String {
    let total = (deg.abs() * 60.0 * 10_000.0).round() as u64;
    let (d, m) = (total / 600_000, total % 600_000);
    format!("{d:0deg_digits$}{:02}.{:04}", m / 10_000, m % 10_000)
}

/// The inverse of [`ddmm`] for the decoders: `(d*)mm[.mmmm]` (the last two integer digits are
/// minutes, any before them degrees, so `3644.67` is 36°44.67′ and `10.2368` is 0°10.2368′),
/// signed by the hemisphere letter `N`/`S`/`E`/`W`. `None` for anything else, minutes ≥ 60
/// or more than `max_deg` degrees: the caller names the field in its error.
pub fn parse_ddmm(value: &str, hemisphere: &str, max_deg: f64) -> Option<f64> {
    let sign = match hemisphere {
        "N" | "E" => 1.0,
        "S" | "W" => -1.0,
        _ => return None,
    };
    let (int, frac) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    let (d, m) = int.split_at(int.len().saturating_sub(2));
    let deg: f64 = if d.is_empty() { 0.0 } else { d.parse().ok()? };
    let min: f64 = format!("{m}.{frac}").parse().ok()?;
    let out = deg + min / 60.0;
    (min < 60.0 && out <= max_deg).then_some(sign * out)
}

/// `N`/`S` for a latitude.
pub fn north_south(lat: f64) -> char {
    if lat < 0.0 {
        'S'
    } else {
        'N'
    }
}

/// `E`/`W` for a longitude.
pub fn east_west(lon: f64) -> char {
    if lon < 0.0 {
        'W'
    } else {
        'E'
    }
}

/// `A` (valid) / `V` (void), the NMEA validity letter.
pub fn validity(valid: bool) -> char {
    if valid {
        'A'
    } else {
        'V'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_and_wrap() {
        let f = Fix {
            speed_kmh: 18.52,
            course: 359.6,
            odometer_m: -3.0,
            ..Fix::default()
        };
        assert!((f.speed_knots() - 10.0).abs() < 1e-12);
        assert_eq!(f.course_whole(), 0);
        assert_eq!(
            Fix {
                course: -90.2,
                ..f.clone()
            }
            .course_whole(),
            270
        );
        assert_eq!(f.odometer_u32(), 0);
        assert_eq!(f.speed_kmh_whole(10), 10);
        assert_eq!(ddmm(-22.586295, 2), "2235.1777");
        assert_eq!(ddmm(113.964855, 3), "11357.8913");
        let back = parse_ddmm("11357.8913", "W", 180.0).unwrap();
        assert!((back + 113.964855).abs() < 1e-6);
        assert_eq!(parse_ddmm("10.5", "N", 90.0), Some(10.5 / 60.0));
        assert_eq!(parse_ddmm("5429", "S", 90.0), Some(-(54.0 + 29.0 / 60.0)));
        for (v, h) in [
            ("9100.0", "N"),
            ("1060.0", "N"),
            ("12a4.0", "E"),
            ("1234.5", "X"),
            ("", "N"),
            (".5", "N"),
        ] {
            assert_eq!(parse_ddmm(v, h, 90.0), None, "{v} {h}");
        }
        assert_eq!(
            (north_south(-1.0), east_west(-1.0), validity(false)),
            ('S', 'W', 'V')
        );
        let f = Fix {
            lat: -22.586295,
            lon: 113.964855,
            valid: true,
            ..Fix::default()
        };
        assert_eq!(f.nmea_position(","), "A,2235.1777,S,11357.8913,E");
        assert_eq!(f.nmea_position(""), "A2235.1777S11357.8913E");
    }
}
