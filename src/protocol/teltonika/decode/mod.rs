//! Frame → records + ACK plan. One function per message family: the handshake and packet
//! envelopes here, AVL records in [`avl`] and [`gh3000`], command replies in [`command`].

mod avl;
mod command;
mod gh3000;

use super::frame::KEEPALIVE;
use super::{Codec, Settings, MAX_IMEI_LEN, NAME};
use crate::model::{DeviceId, Record};
use crate::protocol::wire::{crc16_arc, Reader};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};

/// Decodes one TCP frame cut by the framer (keep-alive, IMEI handshake or AVL packet).
pub(super) fn decode_tcp(
    frame: &[u8],
    ctx: &DecodeCtx,
    checksum: ChecksumPolicy,
    settings: Settings,
    device: Option<&DeviceId>,
) -> Result<Decoded, DecodeError> {
    match frame {
        [KEEPALIVE] => Ok(Decoded {
            kind: "keepalive".into(),
            ..Decoded::default()
        }),
        [0, 0, ..] => packet(frame, ctx, checksum, settings, device),
        _ => handshake(frame),
    }
}

/// `00 0F` + IMEI: identifies the connection; answered `01` (admitted) or `00` (refused).
fn handshake(frame: &[u8]) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(frame);
    let len = r.u16("imei length")? as usize;
    if len > MAX_IMEI_LEN {
        return Err(r
            .bad("imei length", format!("{len} > {MAX_IMEI_LEN}"))
            .into());
    }
    let imei = read_imei(&mut r, len)?;
    expect_end(&r, "handshake")?;
    Ok(Decoded {
        kind: "login".into(),
        identity: Some(imei),
        records: Vec::new(),
        ack: AckPlan {
            accepted: Some(vec![0x01].into()),
            refused: Some(vec![0x00].into()),
        },
    })
}

/// `00000000 | len | codec..N2 | CRC`: the CRC is checked before anything else is trusted.
fn packet(
    frame: &[u8],
    ctx: &DecodeCtx,
    checksum: ChecksumPolicy,
    settings: Settings,
    device: Option<&DeviceId>,
) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(frame);
    let preamble = r.u32("preamble")?;
    if preamble != 0 {
        return Err(r
            .bad("preamble", format!("{preamble:#010x}, expected 0"))
            .into());
    }
    let len = r.u32("data length")? as usize;
    let data = r.bytes(len, "avl data")?;
    let crc = r.u32("crc")?;
    expect_end(&r, "avl packet")?;
    let computed = crc16_arc(data);
    if checksum == ChecksumPolicy::Verify && crc != u32::from(computed) {
        return Err(DecodeError::Checksum {
            expected: crc,
            computed: u32::from(computed),
        });
    }
    let Some(device) = device else {
        let codec = data.first().copied().unwrap_or_default();
        return Err(DecodeError::NotIdentified {
            msg: format!("codec {codec:#04x}"),
        });
    };
    let body = body(data, ctx, settings, device)?;
    let ack = if body.codec.is_avl() {
        AckPlan::ack(u32::from(body.count).to_be_bytes().to_vec())
    } else {
        // Codec 12/13 packets are the device's answer to us; it waits for nothing back.
        AckPlan::default()
    };
    Ok(Decoded {
        kind: body.codec.label().into(),
        identity: None,
        records: body.records,
        ack,
    })
}

/// Decodes one UDP datagram: the IMEI rides in every datagram, there is no CRC.
pub(super) fn decode_udp(
    datagram: &[u8],
    ctx: &DecodeCtx,
    max_frame: usize,
    settings: Settings,
) -> Result<Decoded, DecodeError> {
    if datagram.len() > max_frame {
        return Err(DecodeError::Invalid(format!(
            "datagram of {} bytes exceeds max_frame {}",
            datagram.len(),
            max_frame
        )));
    }
    let mut r = Reader::new(datagram);
    let len = r.u16("datagram length")? as usize;
    if len != r.remaining() {
        return Err(r
            .bad(
                "datagram length",
                format!("says {len}, {} bytes follow", r.remaining()),
            )
            .into());
    }
    let packet_id = r.u16("packet id")?;
    // Formerly "packet type", now documented as "not usable": Traccar ignores it, so do we.
    r.u8("not usable byte")?;
    let avl_packet_id = r.u8("avl packet id")?;
    let imei_len = r.u16("imei length")? as usize;
    if imei_len > MAX_IMEI_LEN {
        return Err(r
            .bad("imei length", format!("{imei_len} > {MAX_IMEI_LEN}"))
            .into());
    }
    let imei = read_imei(&mut r, imei_len)?;
    let body = body(r.rest(), ctx, settings, &imei)?;
    let ack = if body.codec.is_avl() {
        let [hi, lo] = packet_id.to_be_bytes();
        AckPlan::ack(vec![0x00, 0x05, hi, lo, 0x01, avl_packet_id, body.count])
    } else {
        AckPlan::default()
    };
    Ok(Decoded {
        kind: format!("udp {}", body.codec.label()).into(),
        identity: Some(imei),
        records: body.records,
        ack,
    })
}

/// What the codec..N2 part of a packet held.
struct Body {
    codec: Codec,
    /// N1 (= N2): the number the ACK reports.
    count: u8,
    records: Vec<Record>,
}

/// `codec | N1 | N1 × record | N2`, shared by TCP and UDP.
fn body(
    data: &[u8],
    ctx: &DecodeCtx,
    settings: Settings,
    device: &DeviceId,
) -> Result<Body, DecodeError> {
    let mut r = Reader::new(data);
    let id = r.u8("codec id")?;
    let codec = Codec::from_id(id)
        .ok_or_else(|| DecodeError::Invalid(format!("unknown teltonika codec {id:#04x}")))?;
    let count = r.u8("record count N1")?;
    let mut records = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        match codec {
            Codec::C8 | Codec::C8Ext | Codec::C16 => {
                let p = avl::record(&mut r, codec, settings, device, ctx)?;
                records.push(Record::Position(p));
            }
            Codec::Gh3000 => records.push(gh3000::record(&mut r, device, ctx)?),
            Codec::C12 => records.push(command::codec12(&mut r, device, ctx)?),
            Codec::C13 => records.push(command::codec13(&mut r, device)?),
        }
    }
    let n2 = r.u8("record count N2")?;
    if n2 != count {
        return Err(r
            .bad("record count N2", format!("N1 = {count}, N2 = {n2}"))
            .into());
    }
    expect_end(&r, "avl data")?;
    Ok(Body {
        codec,
        count,
        records,
    })
}

/// `len` ASCII digits as a device id.
fn read_imei(r: &mut Reader<'_>, len: usize) -> Result<DeviceId, DecodeError> {
    let bytes = r.bytes(len, "imei")?;
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::Invalid(format!(
            "imei {:?} is not 1..={MAX_IMEI_LEN} ASCII digits",
            String::from_utf8_lossy(bytes)
        )));
    }
    // All ASCII digits, so the conversion is lossless.
    Ok(DeviceId::new(String::from_utf8_lossy(bytes).into_owned())?)
}

/// Rejects trailing bytes: a length that does not add up means the frame is not what it says.
fn expect_end(r: &Reader<'_>, what: &'static str) -> Result<(), DecodeError> {
    if r.remaining() == 0 {
        Ok(())
    } else {
        Err(r
            .bad(what, format!("{} unexpected trailing bytes", r.remaining()))
            .into())
    }
}

/// Lowercase hex of raw IO or payload bytes.
fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The registry name, as every record's `protocol` label.
const PROTOCOL: &str = NAME;
