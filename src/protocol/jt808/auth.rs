//! The auth-code messages as the protocol sees them: what a 0x0102 presents, and the 0x8100
//! answer of a 0x0100 as a pure function of what the session decides (see
//! `protocol-docs/jt808.md`, Authentication). The codes themselves live in the session's
//! store; nothing here reads or writes it.

use super::encode::{self, result, Terminal};
use crate::protocol::{Credential, RegisterAnswer};
use bytes::Bytes;

/// The credential of a 0x0100: the 0x8100 answer (platform serial `s`, replying to
/// `reply_serial`) as a pure function of the session's decision.
pub(super) fn register_credential(term: Terminal, s: u16, reply_serial: u16) -> Credential {
    Credential::Register {
        reply: Box::new(move |answer| {
            let (result, code) = match answer {
                RegisterAnswer::Issued(code) => (result::OK, code),
                RegisterAnswer::AlreadyRegistered => (result::REGISTER_TERMINAL_TAKEN, &[][..]),
            };
            encode::register_response(&term, s, reply_serial, result, code)
                .ok()
                .map(Bytes::from)
        }),
    }
}

/// The code of a 0x0102 body. 2013: the whole body. 2019: {len BYTE, code, IMEI[15],
/// software version[20]} — also recognised under a 2013 header when the length fits exactly
/// (terminals that moved to the 2019 body only). Trailing NULs (padding) are not part of it.
pub(super) fn auth_code(body: &[u8], v2019: bool) -> &[u8] {
    let structured = match body.first() {
        Some(&n) => v2019 || body.len() == 1 + usize::from(n) + 15 + 20,
        None => false,
    };
    let code = if structured {
        let n = body.first().map_or(0, |&n| usize::from(n));
        body.get(1..1 + n)
            .unwrap_or_else(|| body.get(1..).unwrap_or_default())
    } else {
        body
    };
    let end = code.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &code[..end]
}

#[cfg(test)]
mod tests {
    //! Exact 0x8100 answers (expected bytes hand-built, as in `tests.rs`) and the codes read
    //! from 0x0102 bodies.

    use super::super::frame::escape_into;
    use super::super::{Jt808Decoder, OPT_REQUIRE_AUTH};
    use crate::protocol::{Credential, DecodeCtx, Decoder, DecoderOptions, RegisterAnswer};
    use chrono::{TimeZone, Utc};

    fn ctx() -> DecodeCtx {
        DecodeCtx {
            now: Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap(),
        }
    }
    fn dec() -> Jt808Decoder {
        Jt808Decoder::new(&DecoderOptions::default()).unwrap()
    }
    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// The answer a registration's credential builds for `answer` (the session's part).
    fn register_reply(d: &mut Jt808Decoder, answer: RegisterAnswer<'_>) -> Vec<u8> {
        match d.take_credential() {
            Some(Credential::Register { reply }) => reply(answer).expect("an answer").to_vec(),
            other => panic!("expected a registration credential, got {other:?}"),
        }
    }

    #[test]
    fn register_acks_2013_and_2019() {
        // Traccar sample 0x0100 (2013), phone 013345678906, serial 0x000f.
        let reg = h("7e01000021013345678906000f002c012f373031313142534a2d4d3742203030303030303001d4c1423838383838b47e");
        let mut d = dec();
        let out = d.decode(&reg, &ctx()).unwrap();
        assert!(out.records.is_empty());
        assert_eq!(out.identity.unwrap().as_str(), "013345678906");
        // The code comes from the session's store: no accepted answer of the decoder's own.
        assert_eq!(out.ack.accepted, None);
        // 0x8100 {serial 000f, result 0, auth code}, here the code "013345678906".
        assert_eq!(
            register_reply(&mut d, RegisterAnswer::Issued(b"013345678906")),
            h("7e8100000f0133456789060000000f00303133333435363738393036187e")
        );
        // Refusal (not admitted): result 4 "no such terminal", no auth code.
        assert_eq!(
            out.ack.refused.as_deref(),
            Some(&h("7e810000030133456789060000000f04167e")[..])
        );
        // A terminal that authenticated before: result 3 "already registered", no code.
        let mut d = dec();
        d.decode(&reg, &ctx()).unwrap();
        assert_eq!(
            register_reply(&mut d, RegisterAnswer::AlreadyRegistered),
            h("7e810000030133456789060000000f03117e")
        );
        assert!(d.take_credential().is_none(), "taken once");
        // Traccar sample 0x0100 (2019 header: version 1, 10-byte phone), serial 0x5218: the
        // reply keeps the 2019 header shape.
        let reg19 = h("7e0100405c010000086649607758216452180000000000000000000000000000004d443330300000000000000000000000000000000000000000000000000038363634393630373735383231363400000000000000000000000000000004000000000000000000000000000000007a7e");
        let mut d = dec();
        let out = d.decode(&reg19, &ctx()).unwrap();
        assert_eq!(out.identity.unwrap().as_str(), "00000866496077582164");
        assert_eq!(
            register_reply(&mut d, RegisterAnswer::Issued(b"00000866496077582164")),
            h("7e81004017010000086649607758216400005218003030303030383636343936303737353832313634bf7e")
        );
    }

    #[test]
    fn without_require_auth_the_device_id_is_the_code_and_nothing_is_checked() {
        let mut opts = DecoderOptions::default();
        opts.options.insert(OPT_REQUIRE_AUTH.into(), "false".into());
        let mut d = Jt808Decoder::new(&opts).unwrap();
        assert!(!d.requires_credential());
        let reg = h("7e01000021013345678906000f002c012f373031313142534a2d4d3742203030303030303001d4c1423838383838b47e");
        let out = d.decode(&reg, &ctx()).unwrap();
        assert_eq!(
            out.ack.accepted.as_deref(),
            Some(&h("7e8100000f0133456789060000000f00303133333435363738393036187e")[..])
        );
        assert!(d.take_credential().is_none());
        let auth = h("7e0102000e013511221122000661757468656e7469636174696f6e3f7e");
        d.decode(&auth, &ctx()).unwrap();
        assert!(d.take_credential().is_none());
        opts.options.insert(OPT_REQUIRE_AUTH.into(), "maybe".into());
        assert_eq!(
            Jt808Decoder::new(&opts).err().unwrap().key,
            OPT_REQUIRE_AUTH
        );
    }

    #[test]
    fn auth_codes_are_read_from_2013_and_2019_bodies() {
        let code = |d: &mut Jt808Decoder| match d.take_credential() {
            Some(Credential::Authenticate { code }) => code.to_vec(),
            other => panic!("expected an authentication, got {other:?}"),
        };
        // Traccar sample 0x0102 (2013): the whole body is the code.
        let mut d = dec();
        assert!(d.requires_credential());
        d.decode(
            &h("7e0102000e013511221122000661757468656e7469636174696f6e3f7e"),
            &ctx(),
        )
        .unwrap();
        assert_eq!(code(&mut d), b"authentication");
        // 2019 body {len, code, IMEI[15], version[20]} built by hand; padding NULs are no part.
        let mut body = vec![5];
        body.extend_from_slice(b"K3Y\0\0");
        body.extend_from_slice(b"860000000000001");
        body.extend_from_slice(&[b'1'; 20]);
        let mut raw = vec![
            0x01,
            0x02,
            0x40 | (body.len() >> 8) as u8,
            body.len() as u8,
            0x01,
        ];
        raw.extend_from_slice(&h("00000000860000000001 0007"));
        raw.extend_from_slice(&body);
        raw.push(raw.iter().fold(0, |a, b| a ^ b));
        let mut f = vec![0x7e];
        escape_into(&raw, &mut f);
        f.push(0x7e);
        d.decode(&f, &ctx()).unwrap();
        assert_eq!(code(&mut d), b"K3Y");
        // Any other frame carries none, and does not leave an old one behind.
        d.decode(&f, &ctx()).unwrap();
        d.decode(&h("7e0002000004304832546500b7ca7e"), &ctx())
            .unwrap();
        assert!(d.take_credential().is_none());
    }
}
