//! The new generation's status report is a run of fixed-width fields without separators,
//! some of them optional (three more ADC inputs, one or two temperatures, the operator code,
//! a 3-digit battery in place of battery + external power). Which ones a frame carries
//! follows only from its length and the character classes, so the variants are tried in a
//! fixed order, the most fields first (the order of Traccar's reference pattern), and the
//! first whose widths add up and whose characters fit is taken.

/// Character class of a field: decimal digits or hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Dec,
    Hex,
}

/// The fields between the date/time and the HDOP of a status report, as text.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Middle<'a> {
    /// `dd` battery (0.1 V) with `dd` external power (V), or `ddd` battery (0.01 V).
    pub battery: &'a str,
    pub power: Option<&'a str>,
    /// ADC 1, then ADC 2–4 when present.
    pub adc: Vec<&'a str>,
    /// Temperature 1, 2 as present.
    pub temps: Vec<&'a str>,
    pub lac: &'a str,
    pub cid: &'a str,
    /// `(mnc, mcc)` when present.
    pub operator: Option<(&'a str, &'a str)>,
    pub satellites: &'a str,
    pub rssi: &'a str,
    pub course: &'a str,
    pub speed: &'a str,
}

/// Splits `s` (everything between the date/time and the HDOP) into its fields, `None` when
/// no variant fits.
pub(super) fn middle(s: &str) -> Option<Middle<'_>> {
    for short_battery in [false, true] {
        for (more_adc, temp1, temp2) in [
            (true, true, true),
            (true, true, false),
            (false, true, true),
            (false, true, false),
            (false, false, false),
        ] {
            for operator in [true, false] {
                if let Some(m) = variant(s, short_battery, more_adc, temp1, temp2, operator) {
                    return Some(m);
                }
            }
        }
    }
    None
}

fn variant(
    s: &str,
    short_battery: bool,
    more_adc: bool,
    temp1: bool,
    temp2: bool,
    operator: bool,
) -> Option<Middle<'_>> {
    use Class::{Dec, Hex};
    let mut widths: Vec<(usize, Class)> = vec![];
    if short_battery {
        widths.push((3, Dec));
    } else {
        widths.extend([(2, Dec), (2, Dec)]);
    }
    widths.push((4, Dec));
    if more_adc {
        widths.extend([(4, Dec); 3]);
    }
    if temp1 {
        widths.push((4, Dec));
    }
    if temp2 {
        widths.push((4, Dec));
    }
    widths.extend([(4, Hex), (4, Hex)]);
    if operator {
        widths.extend([(2, Dec), (3, Dec)]);
    }
    widths.extend([(2, Dec), (2, Dec), (3, Dec), (3, Dec)]);
    if widths.iter().map(|w| w.0).sum::<usize>() != s.len() {
        return None;
    }
    let mut fields = Vec::with_capacity(widths.len());
    let mut at = 0;
    for (w, class) in widths {
        let f = s.get(at..at + w)?;
        let fits = match class {
            Dec => f.bytes().all(|b| b.is_ascii_digit()),
            Hex => f.bytes().all(|b| b.is_ascii_hexdigit()),
        };
        if !fits {
            return None;
        }
        fields.push(f);
        at += w;
    }
    let mut it = fields.into_iter();
    let mut next = || it.next().unwrap_or_default();
    let mut m = Middle {
        battery: next(),
        ..Middle::default()
    };
    if !short_battery {
        m.power = Some(next());
    }
    m.adc.push(next());
    if more_adc {
        m.adc.extend([next(), next(), next()]);
    }
    if temp1 {
        m.temps.push(next());
    }
    if temp2 {
        m.temps.push(next());
    }
    m.lac = next();
    m.cid = next();
    if operator {
        m.operator = Some((next(), next()));
    }
    m.satellites = next();
    m.rssi = next();
    m.course = next();
    m.speed = next();
    Some(m)
}
