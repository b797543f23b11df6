//! JT/T 808 (2013 and 2019), the Chinese road-transport terminal protocol ("huabao" in
//! Traccar). TCP, default port 5015.
//!
//! Wire format (all integers big-endian):
//! ```text
//! 7E | MsgID u16 | BodyAttr u16 | [Version u8 (2019)] | Phone BCD[6] (2013) / BCD[10] (2019)
//!    | Serial u16 | [PkgTotal u16, PkgIndex u16 (bit 13)] | Body | XOR u8 | 7E
//! BodyAttr: bits 0-9 body length, 10-12 encryption, 13 sub-packaged, 14 = 2019 header.
//! ```
//! Everything between the flags is escaped (`7E` → `7D 02`, `7D` → `7D 01`); the XOR covers the
//! unescaped header and body. Every frame carries the terminal phone, which is the identity.
//! The platform answers most uplinks with 0x8001 {reply serial, reply id, result}, registration
//! with 0x8100, using its own per-connection serial counter. Details, dialects and options:
//! `protocol-docs/jt808.md`.
//!
//! Layout: [`frame`] cuts and unescapes, `decode` parses the header and dispatches one function
//! per message family (`location`, `location2`, `transparent`, `decode::misc`), [`encode`]
//! builds ACKs and uplink frames, `reassembly` joins sub-packaged bodies (bounded per
//! connection and process-wide), `auth` turns 0x0100 / 0x0102 into the credentials the
//! session checks (the codes are the session's; see `protocol-docs/jt808.md`).

mod auth;
pub mod command;
mod decode;
pub mod encode;
pub mod frame;
mod items;
mod location;
mod location2;
pub mod reassembly;
#[cfg(test)]
mod tests;
mod transparent;

pub use decode::Header;

use super::{
    Credential, Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError,
    StreamDecoder, StreamProtocol, Transports,
};
use chrono::FixedOffset;

/// Registry name.
pub const NAME: &str = "jt808";

/// Message ids: the one place the wire codes live.
pub mod msg {
    /// 0x0001 terminal general response (to a platform command).
    pub const TERMINAL_RESPONSE: u16 = 0x0001;
    /// 0x0002 heartbeat.
    pub const HEARTBEAT: u16 = 0x0002;
    /// 0x0003 logout.
    pub const LOGOUT: u16 = 0x0003;
    /// 0x0100 registration.
    pub const REGISTER: u16 = 0x0100;
    /// 0x0102 authentication.
    pub const AUTH: u16 = 0x0102;
    /// 0x0104 parameter query response.
    pub const PARAMETERS: u16 = 0x0104;
    /// 0x0107 terminal attributes.
    pub const ATTRIBUTES: u16 = 0x0107;
    /// 0x0109 time sync request (vendor).
    pub const TIME_SYNC: u16 = 0x0109;
    /// 0x0200 location report.
    pub const LOCATION: u16 = 0x0200;
    /// 0x0201 location query response.
    pub const LOCATION_QUERY_RESPONSE: u16 = 0x0201;
    /// 0x0210 vendor batch (one-byte item lengths) or battery/time report (7-byte body).
    pub const LOCATION_BATCH_2: u16 = 0x0210;
    /// 0x0506 vendor heartbeat.
    pub const HEARTBEAT_2: u16 = 0x0506;
    /// 0x0701 electronic waybill / command result text.
    pub const COMMAND_RESULT: u16 = 0x0701;
    /// 0x0702 driver identity (IC card).
    pub const DRIVER_IDENTITY: u16 = 0x0702;
    /// 0x0704 batch / blind-area upload.
    pub const LOCATION_BATCH: u16 = 0x0704;
    /// 0x0900 uplink transparent data.
    pub const TRANSPARENT: u16 = 0x0900;
    /// 0x1007 time-zone sync (vendor).
    pub const TIMEZONE_SYNC: u16 = 0x1007;
    /// 0x1300 text-message response (UTF-16BE, vendor).
    pub const TEXT_RESPONSE: u16 = 0x1300;
    /// 0x2070 acceleration samples (vendor).
    pub const ACCELERATION: u16 = 0x2070;
    /// 0x5501 e-lock location report (one-byte serial).
    pub const LOCATION_2: u16 = 0x5501;
    /// 0x5502 e-lock blind-area location report (one-byte serial).
    pub const LOCATION_2_BLIND: u16 = 0x5502;
    /// 0x6006 text report (vendor, GBK).
    pub const TEXT_REPORT: u16 = 0x6006;
    /// 0x8888 photo (vendor).
    pub const PHOTO: u16 = 0x8888;
    /// 0x8001 platform general response.
    pub const GENERAL_RESPONSE: u16 = 0x8001;
    /// 0x4401 short general response of the e-lock dialect.
    pub const GENERAL_RESPONSE_2: u16 = 0x4401;
    /// 0x8100 registration response.
    pub const REGISTER_RESPONSE: u16 = 0x8100;
    /// 0x8109 time sync response.
    pub const TIME_SYNC_RESPONSE: u16 = 0x8109;
}

/// The JT/T 808 protocol.
pub struct Jt808;

/// Per-connection JT/T 808 decoder; its `device` is the terminal phone of the last header.
pub type Jt808Decoder = StreamDecoder<Jt808>;

/// Option key: the time zone of the device clock, `±HH:MM` (default `+08:00`, Beijing time,
/// as the standard says; export devices often send UTC: set `+00:00`).
pub const OPT_TIME_ZONE: &str = "time_zone";

/// Parses `+08:00` / `-05:30` / `+0800` / `Z` into an offset.
pub fn parse_time_zone(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Option key: whether a connection must authenticate (0x0102 with the code its 0x8100
/// registration answer carried) before anything else it sends is accepted. Default `true`;
/// `false` restores the trusting behaviour of older gateways (and Traccar): the register
/// answer carries the device id as code and no code is checked — any device can then send
/// as any terminal.
pub const OPT_REQUIRE_AUTH: &str = "require_auth";
/// Option key: most packages one sub-packaged message may declare (default 256).
pub const OPT_REASSEMBLY_MAX_PACKAGES: &str = "reassembly_max_packages";
/// Option key: most bytes one sub-packaged message may hold, i.e. per connection (default
/// 256 KiB, or `max_frame` if larger).
pub const OPT_REASSEMBLY_MAX_BYTES: &str = "reassembly_max_bytes";
/// Option key: most bytes all connections may hold in partial messages together (default
/// 64 MiB).
pub const OPT_REASSEMBLY_TOTAL_BYTES: &str = "reassembly_total_bytes";

/// Per-connection state beyond the shared decoder fields: the device clock's zone, the
/// platform's reply serial, any sub-packaged message being reassembled, and the credential
/// the last frame carried (for the session to check).
pub struct Jt808State {
    tz: FixedOffset,
    /// Serial of the platform's next reply; one counter per connection, as the standard wants.
    serial: u16,
    reassembly: reassembly::Reassembly,
    /// See [`OPT_REQUIRE_AUTH`].
    require_auth: bool,
    /// Set by a 0x0100 / 0x0102 decode, taken by the session right after.
    credential: Option<Credential>,
}

impl StreamProtocol for Jt808 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5015;
    const TRANSPORTS: Transports = Transports::TCP;
    type State = Jt808State;

    fn cut(d: &mut Jt808Decoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }

    fn decode(d: &mut Jt808Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        d.state.credential = None;
        if frame.first() == Some(&b'(') {
            return decode::text(d, frame, ctx);
        }
        let unescaped = frame::unescape(frame)?;
        d.decode_unescaped(&unescaped, ctx)
    }

    fn take_credential(d: &mut Jt808Decoder) -> Option<Credential> {
        d.state.credential.take()
    }

    fn requires_credential(d: &Jt808Decoder) -> bool {
        d.state.require_auth
    }

    fn commands() -> Option<&'static dyn super::command::CommandCodec> {
        Some(&command::CODEC)
    }
}

/// A positive whole number of at most `max`.
fn count<T: TryFrom<u64>>(max: u64) -> impl Fn(&str) -> Option<T> {
    move |v| {
        v.parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .and_then(|n| T::try_from(n).ok())
    }
}

impl FromOptions for Jt808State {
    /// `time_zone`, `require_auth` and the reassembly limits (see the `OPT_*` keys); any
    /// other key is rejected.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let beijing = FixedOffset::east_opt(8 * 3600)
            .ok_or_else(|| OptionsError::invalid(protocol, OPT_TIME_ZONE, "an offset", "+08:00"))?;
        opts.read(protocol, |o| {
            let d = reassembly::Limits::default();
            let limits = reassembly::Limits {
                max_packages: o.parse(
                    OPT_REASSEMBLY_MAX_PACKAGES,
                    d.max_packages,
                    "1..=65535",
                    count(65_535),
                )?,
                max_bytes: o.parse(
                    OPT_REASSEMBLY_MAX_BYTES,
                    d.max_bytes.max(opts.max_frame),
                    "a byte count of at least 1",
                    count(u64::MAX),
                )?,
                total_bytes: o.parse(
                    OPT_REASSEMBLY_TOTAL_BYTES,
                    d.total_bytes,
                    "a byte count of at least 1",
                    count(u64::MAX),
                )?,
            };
            Ok(Jt808State {
                tz: o.parse(
                    OPT_TIME_ZONE,
                    beijing,
                    "an offset like +08:00",
                    parse_time_zone,
                )?,
                serial: 0,
                reassembly: reassembly::Reassembly::new(limits),
                require_auth: o.flag(OPT_REQUIRE_AUTH, true)?,
                credential: None,
            })
        })
    }
}

impl Jt808Decoder {
    /// Decodes a frame whose escapes are already removed (delimiters kept): what Traccar's
    /// frame decoder hands its protocol decoder, so its test vectors replay through here.
    pub fn decode_unescaped(
        &mut self,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode_unescaped(self, frame, ctx)
    }

    /// Takes the platform serial for the next reply.
    fn next_serial(&mut self) -> u16 {
        let s = self.state.serial;
        self.state.serial = self.state.serial.wrapping_add(1);
        s
    }
}
