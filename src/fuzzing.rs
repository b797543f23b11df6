//! Fuzz harnesses: what must hold for ANY input reaching trackgate from outside — device
//! bytes, datagrams, HTTP and MQTT messages, the write-ahead log on disk, the config file and
//! the API's JSON bodies. Each function takes raw fuzzer bytes and panics only when a
//! property is broken (a decoder's own panic counts as broken too).
//!
//! The `cargo fuzz` targets in `fuzz/` call these, and `tests/fuzz_corpus.rs` replays the
//! committed corpus and every crash found so far through the same functions in the normal
//! test suite, so a fixed crash stays fixed.
//!
//! Properties of the stream framers (the part that sees a hostile TCP peer first):
//! - a frame or a skip always takes bytes off the buffer (progress: no loop without input);
//! - the buffer never grows by framing (nothing consumed beyond what was given);
//! - `NeedMore` leaves the buffer as it was.

use crate::config::Config;
use crate::protocol::{ChecksumPolicy, REGISTRY};
use crate::protocol::{DecodeCtx, Decoder, DecoderOptions, FrameResult, HttpRequest, Protocol};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};

/// A fixed receive time: decoding must not depend on the wall clock for the properties.
fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc
            .timestamp_opt(1_764_215_276, 0)
            .single()
            .unwrap_or_default(),
    }
}

/// Protocols that offer `pick`, chosen by one fuzzer byte.
fn choose(sel: u8, pick: impl Fn(&dyn Protocol) -> bool) -> Option<&'static dyn Protocol> {
    let eligible: Vec<&'static dyn Protocol> =
        REGISTRY.iter().copied().filter(|p| pick(*p)).collect();
    (!eligible.is_empty()).then(|| eligible[sel as usize % eligible.len()])
}

/// A decoder with default options; checksums verified or, for one input in two, not
/// (`ChecksumPolicy::Ignore`), so the decoders behind the checksum are reached too.
fn decoder(p: &dyn Protocol, flags: u8) -> Option<Box<dyn Decoder>> {
    let opts = DecoderOptions {
        checksum: if flags & 1 == 1 {
            ChecksumPolicy::Ignore
        } else {
            ChecksumPolicy::Verify
        },
        max_frame: 4096,
        ..DecoderOptions::default()
    };
    p.new_decoder(&opts).ok()
}

/// Byte 0 picks a TCP protocol, byte 1 the checksum policy and the size of the pieces the
/// rest arrives in (1–64 bytes, as a slow or fragmenting peer sends them); every frame
/// cut is decoded.
pub fn stream(data: &[u8]) {
    let [sel, flags, rest @ ..] = data else {
        return;
    };
    let Some(p) = choose(*sel, |p| p.transports().tcp) else {
        return;
    };
    let Some(mut d) = decoder(p, *flags) else {
        return;
    };
    let piece = usize::from(flags >> 2) + 1;
    let mut buf = BytesMut::new();
    for chunk in rest.chunks(piece) {
        buf.extend_from_slice(chunk);
        if !drain(d.as_mut(), &mut buf, p) {
            return;
        }
    }
}

/// Frames and decodes everything `buf` holds; false after a fatal framing error (the
/// connection would close). A frame that decodes also goes through the protocol's command
/// answer recogniser, as the connection's command courier does.
fn drain(d: &mut dyn Decoder, buf: &mut BytesMut, p: &dyn Protocol) -> bool {
    let name = p.name();
    loop {
        let before = buf.len();
        match d.frame(buf) {
            FrameResult::NeedMore => {
                assert_eq!(buf.len(), before, "{name}: NeedMore changed the buffer");
                return true;
            }
            FrameResult::Frame(f) => {
                assert!(
                    buf.len() < before,
                    "{name}: a frame took no bytes off the buffer"
                );
                let decoded = d.decode(&f, &ctx());
                let _ = d.take_credential();
                if let (Ok(_), Some(c)) = (decoded, p.commands()) {
                    let _ = c.reply(&f);
                }
            }
            FrameResult::Skipped(n) => {
                assert!(n > 0, "{name}: skipped nothing");
                assert!(buf.len() < before, "{name}: a skip took no bytes");
            }
            FrameResult::Fatal(_) => return false,
        }
    }
}

/// Byte 0 picks a protocol served over UDP; the rest is one datagram, then the same bytes
/// again (a resend on the same peer's decoder).
pub fn datagram(data: &[u8]) {
    let [sel, flags, rest @ ..] = data else {
        return;
    };
    let Some(p) = choose(*sel, |p| p.transports().udp) else {
        return;
    };
    let Some(mut d) = decoder(p, *flags) else {
        return;
    };
    let _ = d.decode_datagram(rest, &ctx());
    let _ = d.decode_datagram(rest, &ctx());
}

/// Byte 0 picks an HTTP protocol; up to the first NUL is the request URI, the rest its
/// body, sent as GET and as POST.
pub fn http(data: &[u8]) {
    let [sel, rest @ ..] = data else {
        return;
    };
    let Some(p) = choose(*sel, |p| p.http()) else {
        return;
    };
    let Some(mut d) = decoder(p, 0) else {
        return;
    };
    let (uri, body) = split_at_nul(rest);
    let uri = String::from_utf8_lossy(uri);
    for method in ["GET", "POST"] {
        let req = HttpRequest::from_uri(method, &uri, body.to_vec());
        let _ = d.decode_http(&req, &ctx());
    }
}

/// Every protocol's MQTT entry (OwnTracks): up to the first NUL is the topic, the rest the
/// payload.
pub fn mqtt(data: &[u8]) {
    let (topic, payload) = split_at_nul(data);
    let topic = String::from_utf8_lossy(topic);
    for p in REGISTRY {
        if let Some(mut d) = decoder(*p, 0) {
            let _ = d.decode_mqtt(&topic, payload, &ctx());
        }
    }
}

fn split_at_nul(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == 0) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

/// A log record's bytes (what a consumer decodes after reading the log).
pub fn record(data: &[u8]) {
    let _ = crate::pipeline::records::record_kind(data);
    if let Ok(r) = crate::pipeline::records::decode_record(data) {
        // What decodes must encode and decode to the same record.
        let again =
            crate::pipeline::records::decode_record(&crate::pipeline::records::encode_record(&r));
        assert_eq!(
            again.ok(),
            Some(r),
            "a record does not survive encode/decode"
        );
    }
}

/// The config file: parsed and validated, or refused with an error — never a panic.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::from_toml(text);
    }
}

/// The shipment body of `POST /api/shipments` (serde, then the quota-checked validation).
pub fn shipment_json(data: &[u8]) {
    if let Ok(spec) = serde_json::from_slice::<crate::tracking::ShipmentSpec>(data) {
        let _ = spec.validate_within(200, 10_000);
    }
}

/// Arbitrary bytes as the only segment of a write-ahead log: opening it (recovery) and
/// reading everything back must end in records, a gap or an error, never a panic or a
/// hang. `dir` is an empty scratch directory the caller owns.
pub fn wal_segment(data: &[u8], dir: &std::path::Path) {
    use crate::pipeline::wal::{Wal, WalOptions};
    let seg = dir.join(format!("{:020}.wal", 0));
    if std::fs::write(&seg, data).is_err() {
        return;
    }
    let Ok(wal) = Wal::open(dir, WalOptions::default()) else {
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        let mut r = wal.reader(wal.oldest_offset());
        // Each batch moves the reader on; an empty one means everything durable was read.
        loop {
            let before = r.position();
            match r.try_next_batch(64).await {
                Ok(batch) if batch.is_empty() => break,
                Ok(_) => assert!(r.position() > before, "log reader did not move"),
                Err(_) => break,
            }
        }
    });
}

/// The selector byte of protocol `name` among those `pick` keeps (for building seeds).
fn selector(name: &str, pick: impl Fn(&dyn Protocol) -> bool) -> Option<u8> {
    REGISTRY
        .iter()
        .filter(|p| pick(**p))
        .position(|p| p.name() == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// A [`stream`] input that sends `bytes` to protocol `name` in pieces of 16 bytes.
pub fn stream_input(name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let sel = selector(name, |p| p.transports().tcp)?;
    Some([&[sel, 15 << 2][..], bytes].concat())
}

/// A [`datagram`] input of `bytes` for protocol `name`.
pub fn datagram_input(name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let sel = selector(name, |p| p.transports().udp)?;
    Some([&[sel, 0][..], bytes].concat())
}

/// An [`http`] input of a request `uri` with `body` for protocol `name`.
pub fn http_input(name: &str, uri: &str, body: &[u8]) -> Option<Vec<u8>> {
    let sel = selector(name, |p| p.http())?;
    Some([&[sel][..], uri.as_bytes(), &[0], body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harnesses_take_empty_and_short_inputs() {
        for f in [stream, datagram, http, mqtt, record, config, shipment_json] {
            f(&[]);
            f(&[0]);
            f(&[7, 3, 0x78, 0x78]);
        }
    }

    #[test]
    fn every_tcp_protocol_is_reachable_by_the_stream_harness() {
        let tcp = REGISTRY.iter().filter(|p| p.transports().tcp).count();
        let reached: std::collections::BTreeSet<&str> = (0..=255u8)
            .filter_map(|s| choose(s, |p| p.transports().tcp).map(|p| p.name()))
            .collect();
        assert_eq!(reached.len(), tcp);
    }
}
