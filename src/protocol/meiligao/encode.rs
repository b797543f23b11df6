//! Encoders: server frames (ACKs) and device frames built from a [`Fix`] (tests, simulator).

use crate::protocol::Fix;
use bytes::{BufMut, Bytes, BytesMut};
use crc::{Crc, CRC_16_IBM_3740};

/// CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740: poly 0x1021, init 0xFFFF; check 0x29B1) over
/// everything before it.
pub const CCITT_FALSE: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

pub fn crc(data: &[u8]) -> u16 {
    CCITT_FALSE.checksum(data)
}

/// A frame `marker marker | len u16 | id[7] | cmd u16 | payload | CRC | \r\n`: `@@` from the
/// server, `$$` from a device.
pub fn frame(marker: u8, id: &[u8; 7], cmd: u16, payload: &[u8]) -> Bytes {
    let total = 2 + 2 + 7 + 2 + payload.len() + 2 + 2;
    let mut b = BytesMut::with_capacity(total);
    b.put_slice(&[marker, marker]);
    b.put_u16(total as u16);
    b.put_slice(id);
    b.put_u16(cmd);
    b.put_slice(payload);
    let c = crc(&b);
    b.put_u16(c);
    b.put_slice(b"\r\n");
    b.freeze()
}

/// The id field for decimal `digits` (BCD, padded with F nibbles).
pub fn id_field(digits: &str) -> [u8; 7] {
    let mut nibbles: Vec<u8> = digits
        .bytes()
        .map(|c| c.wrapping_sub(b'0') & 0x0f)
        .collect();
    nibbles.resize(14, 0x0f);
    let mut id = [0u8; 7];
    for (i, pair) in nibbles.chunks(2).enumerate() {
        id[i] = (pair[0] << 4) | pair[1];
    }
    id
}

/// The NMEA-style sentence of a position report: `hhmmss.000,A,ddmm.mmmm,N,dddmm.mmmm,E,
/// knots,course,ddmmyy,,*00|hdop|altitude|state|adc1,adc2`.
pub fn sentence(f: &Fix, state: u16) -> String {
    format!(
        "{}.000,{},{:.2},{:.0},{},,*00|{:.1}|{:.0}|{state:04X}|0000,0000",
        f.time.format("%H%M%S"),
        f.nmea_position(","),
        f.speed_knots(),
        f.course_whole(),
        f.time.format("%d%m%y"),
        f.hdop,
        f.altitude_m,
    )
}

/// A position report (0x9955) from device `digits`.
pub fn position(digits: &str, f: &Fix) -> Bytes {
    frame(b'$', &id_field(digits), 0x9955, sentence(f, 0).as_bytes())
}
