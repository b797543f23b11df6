//! Device protocols, sans-IO.
//!
//! A protocol turns wire bytes into frames ([`Decoder::frame`]), frames into normalized
//! [`Record`]s plus an [`AckPlan`] ([`Decoder::decode`]), and has encoders for ACKs and uplink
//! frames (used by tests and the simulator). Nothing here touches sockets, clocks or stores and
//! nothing imports tokio: the caller passes `now` in [`DecodeCtx`] and writes the ACK bytes
//! itself at the documented point (after the pipeline made the records durable).
//!
//! [`REGISTRY`] is the only list of protocols; config, ingest, the `decode` command, metrics
//! and the simulator all read it. Adding a protocol = `protocol-docs/<p>.md` +
//! `src/protocol/<p>/` + `tests/fixtures/<p>/` + one line in [`REGISTRY`].
//!
//! # Adding a protocol
//!
//! A module supplies only what differs; the scaffolding in [`declare`] does the rest (the
//! registry trait [`Protocol`] and the per-connection [`Decoder`] come from blanket impls):
//!
//! - `frame.rs`: a pure framer `pub fn cut(buf: &[u8], max_frame: usize) -> Cut`: need more,
//!   one frame (optionally followed by a terminator the decoder does not need), or skip
//!   garbage; it never asks to hold more than `max_frame` bytes. [`Cut::apply`] does the
//!   buffer work.
//! - `decode.rs`: `fn decode(d: &mut FooDecoder, frame, ctx) -> Result<Decoded, DecodeError>`,
//!   one function per message family, every read bounded by [`wire::Reader`]. A frame that
//!   identifies the device sets `Decoded::identity` and leaves it in `d.device` (set it while
//!   decoding, or pass the result through `d.remember`; a registry-wide unit test checks it
//!   on the fixtures); `d.checksum` is the checksum policy, `d.state` the module's own state.
//! - `encode.rs`: the ACKs, and the uplink frames built from the shared [`Fix`] (the
//!   simulator and the round-trip tests use them); what only this protocol sends beside a
//!   fix (a status word, an event code) is an argument.
//! - `mod.rs`: the wire-format sketch as module doc, then the declaration:
//!
//! ```ignore
//! use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};
//!
//! pub const NAME: &str = "foo";
//!
//! /// The foo protocol (registry entry).
//! pub struct Foo;
//!
//! /// Per-connection foo decoder.
//! pub type FooDecoder = StreamDecoder<Foo>;
//!
//! impl StreamProtocol for Foo {
//!     const NAME: &'static str = NAME;
//!     const DEFAULT_PORT: u16 = 5099;
//!     const TRANSPORTS: Transports = Transports::TCP_UDP;
//!     /// No options, nothing kept beyond the device.
//!     type State = ();
//!     fn cut(d: &mut FooDecoder, buf: &[u8]) -> Cut {
//!         frame::cut(buf, d.max_frame)
//!     }
//!     fn decode(d: &mut FooDecoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
//!         decode::decode(frame, ctx, d.checksum).inspect(|out| d.remember(out))
//!     }
//! }
//! ```
//!
//! then `&foo::Foo` in [`REGISTRY`]. A protocol with options or per-connection state (a
//! learnt frame length, a reply serial) sets `type State = FooState` and implements
//! [`FromOptions`] for it with [`DecoderOptions::read`], one line per option with its default
//! (see `h02`, `jt808`); unknown keys are rejected for it. `StreamProtocol::frame` can be
//! overridden to transform cut frames (`watch` unescapes), `StreamProtocol::decode_datagram`
//! when datagrams differ from stream frames (`teltonika`). Message protocols (one HTTP
//! request or MQTT message = one frame: `osmand`, `owntracks`) implement [`ProtocolSpec`] and
//! their own [`Decoder`].
//!
//! Downlink commands: a protocol that takes commands adds `command.rs` with a
//! [`command::CommandCodec`] (the types it supports, a pure encoder given the device's last
//! frame, a number and the time, and a recogniser of the device's answers) and returns it
//! from `StreamProtocol::commands`; the queue and the connection's courier
//! (`crate::commands`) do the rest. Its decoder must accept the answer frames like any other.
//!
//! Tests: `tests.rs` next to the code with exact replies and fields from captured frames,
//! encode → decode round trips, and the garbage properties of `test_util`
//! (`random_bytes_invariants`, `cut_invariants`); a `tests/<p>_vectors.rs` replay of the
//! fixtures; `tests/registry_props.rs` covers every registered protocol by itself.

pub mod atrack;
pub mod calamp;
pub mod castel;
pub mod command;
pub mod declare;
pub mod eelink;
pub mod fix;
pub mod galileo;
pub mod gl200;
pub mod gps103;
pub mod gt02;
pub mod gt06;
pub mod h02;
pub mod jt808;
pub mod laipac;
pub mod megastek;
pub mod meiligao;
pub mod meitrack;
mod options;
pub mod osmand;
pub mod owntracks;
pub mod ruptela;
pub mod suntech;
pub mod t55;
pub mod teltonika;
pub mod tk103;
pub mod totem;
pub mod watch;
pub mod wialon;
pub mod wire;
pub mod xexun;

#[cfg(test)]
pub(crate) mod test_util;

pub use declare::{ProtocolSpec, StreamDecoder, StreamProtocol};
pub use fix::Fix;
pub use options::{ChecksumPolicy, DecoderOptions, FromOptions, OptionReader, OptionsError};
pub use wire::Cut;

use crate::model::{DeviceId, Record};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// Every protocol trackgate speaks. The only list.
pub static REGISTRY: &[&dyn Protocol] = &[
    &gt06::Gt06,
    &teltonika::Teltonika,
    &jt808::Jt808,
    &h02::H02,
    &gps103::Gps103,
    &tk103::Tk103,
    &ruptela::Ruptela,
    &osmand::OsmAnd,
    &owntracks::OwnTracks,
    &gl200::Gl200,
    &meitrack::Meitrack,
    &suntech::Suntech,
    &watch::Watch,
    &galileo::Galileo,
    &calamp::CalAmp,
    &atrack::Atrack,
    &meiligao::Meiligao,
    &eelink::Eelink,
    &castel::Castel,
    &wialon::Wialon,
    &t55::T55,
    &laipac::Laipac,
    &xexun::Xexun,
    &totem::Totem,
    &megastek::Megastek,
    &gt02::Gt02,
];

/// Looks a protocol up by its registry name.
pub fn find(name: &str) -> Option<&'static dyn Protocol> {
    REGISTRY.iter().copied().find(|p| p.name() == name)
}

/// Which socket kinds a protocol is served on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transports {
    pub tcp: bool,
    pub udp: bool,
}

impl Transports {
    /// A TCP stream only.
    pub const TCP: Transports = Transports {
        tcp: true,
        udp: false,
    };
    /// A TCP stream, and UDP datagrams on the same port.
    pub const TCP_UDP: Transports = Transports {
        tcp: true,
        udp: true,
    };
    /// No stream socket: HTTP or MQTT only.
    pub const NONE: Transports = Transports {
        tcp: false,
        udp: false,
    };
}

/// Context the caller passes to every decode: the decoder reads no clock of its own.
#[derive(Clone, Copy, Debug)]
pub struct DecodeCtx {
    /// Time the bytes were received.
    pub now: DateTime<Utc>,
}

/// A protocol: a name, its default ports, and a factory for per-connection decoders.
pub trait Protocol: Send + Sync {
    /// Registry name, used in config tables, metrics labels and the `protocol` tag.
    fn name(&self) -> &'static str;
    /// Default listen port (Traccar's, which installers know).
    fn default_port(&self) -> u16;
    /// Socket kinds served by default.
    fn transports(&self) -> Transports;
    /// A fresh decoder for one TCP connection or one UDP peer. Fails on bad options.
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError>;
    /// Served over HTTP (one request = one frame, see [`HttpRequest`]) on the protocol's
    /// `listen` address. Stream protocols keep the default `false`.
    fn http(&self) -> bool {
        false
    }
    /// The protocol's downlink command codec, when trackgate can send it commands.
    fn commands(&self) -> Option<&'static dyn command::CommandCodec> {
        None
    }
}

/// Per-connection protocol state: framer plus decoder.
pub trait Decoder: Send {
    /// Cuts the next frame off the front of `buf` (a TCP byte stream).
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult;

    /// Decodes one frame returned by [`Decoder::frame`].
    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError>;

    /// Decodes one UDP datagram. Protocols whose datagrams differ from their TCP frames
    /// (Teltonika) override this; the default treats the datagram as one frame.
    fn decode_datagram(
        &mut self,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        self.decode(datagram, ctx)
    }

    /// Decodes one HTTP request (OsmAnd, OwnTracks HTTP mode). The reply is expressed in the
    /// returned [`Decoded`] like any ACK: `ack.accepted` is the body of the `200` written once
    /// the records are durable (empty: no body), `ack.refused` the body of the `403` when the
    /// device is not admitted; an `Err` becomes a `400` whose body is the error text.
    fn decode_http(&mut self, req: &HttpRequest, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let _ = (req, ctx);
        Err(DecodeError::UnsupportedTransport("http"))
    }

    /// Decodes one MQTT message received on `topic`. `ack.accepted` is ignored (the shell
    /// acknowledges the PUBACK itself once the records are durable).
    fn decode_mqtt(
        &mut self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        let _ = (topic, payload, ctx);
        Err(DecodeError::UnsupportedTransport("mqtt"))
    }

    /// The device this connection identified as, once known.
    fn device(&self) -> Option<&DeviceId>;

    /// The credential the frame just decoded carried, if any (JT/T 808 registration and
    /// authentication); taken, so ask once per frame, right after [`Decoder::decode`]. The
    /// protocol cannot check it itself — the codes are in a store, which is I/O — so the
    /// session does (see [`Credential`]).
    fn take_credential(&mut self) -> Option<Credential> {
        None
    }

    /// True when nothing this connection sends is accepted before its device authenticated
    /// with a [`Credential::Authenticate`] the session verified (JT/T 808 by default).
    fn requires_credential(&self) -> bool {
        false
    }
}

/// A device secret a frame presents or asks for. Sans-IO: the protocol reports it, the
/// session checks it against the gateway's code store and picks the answer.
pub enum Credential {
    /// The device registers and must be given its code. The session issues (or finds) it and
    /// calls `reply`, a pure encoder of this frame's answer, with the outcome; the result
    /// replaces the frame's `ack.accepted`.
    Register {
        reply: Box<dyn FnOnce(RegisterAnswer<'_>) -> Option<Bytes> + Send>,
    },
    /// The device authenticates with `code`: the frame's `ack.accepted` answers a correct
    /// code, `ack.refused` any other (and the connection closes).
    Authenticate { code: Bytes },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Register { .. } => f.write_str("Register"),
            // Never the code itself: it is a secret.
            Credential::Authenticate { code } => write!(f, "Authenticate({} bytes)", code.len()),
        }
    }
}

/// What the session decided about a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterAnswer<'a> {
    /// Registered: the device's code, to be sent in the answer.
    Issued(&'a [u8]),
    /// The device registered and authenticated before; it must use the code it holds.
    AlreadyRegistered,
}

/// One HTTP request as a protocol sees it: plain data built by the I/O shell
/// (`ingest/http.rs`), so HTTP protocols stay sans-IO and are tested without a server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ... (upper case, as sent).
    pub method: String,
    /// The path, percent-encoded as sent, without the query.
    pub path: String,
    /// The raw query string after `?` (percent-encoded), empty when absent.
    pub query: String,
    /// Header names lower-cased, values as sent (non-UTF-8 values are dropped).
    pub headers: Vec<(String, String)>,
    /// The body, already capped by the shell's body limit.
    pub body: Bytes,
}

impl HttpRequest {
    /// A request for `uri` (`/path?query`), e.g. a captured OsmAnd GET line.
    pub fn from_uri(method: &str, uri: &str, body: impl Into<Bytes>) -> Self {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body without parameters, lower-cased (`application/json`).
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// The three outcomes of a framer, plus progress on garbage.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameResult {
    /// Not enough bytes for a frame yet; `buf` is untouched.
    NeedMore,
    /// One complete frame, removed from `buf`.
    Frame(Bytes),
    /// This many bytes of garbage (or an oversized frame) were dropped from `buf` while
    /// resyncing to the next start marker. Call again.
    Skipped(usize),
    /// The stream cannot be recovered; close the connection.
    Fatal(FrameError),
}

/// Why a stream cannot be framed any further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{0}")]
    Protocol(String),
}

/// A decoded frame: what it was, what it carried, and how to answer it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    /// Short label of the message type, e.g. `login`, `location 0x22`, `codec 8`. Mostly a
    /// static label: `Cow` spares a heap allocation per frame on the hot path.
    pub kind: Cow<'static, str>,
    /// Set when this frame (newly or again) identifies the device: login, IMEI handshake,
    /// every JT/T 808 header. The session runs admission on it before storing anything.
    pub identity: Option<DeviceId>,
    /// Records to make durable before the ACK is released.
    pub records: Vec<Record>,
    /// The answers this frame gets.
    pub ack: AckPlan,
}

/// How a frame is answered. The I/O shell writes exactly one of these, at the right time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckPlan {
    /// Written once the frame's records are durable (immediately when it has none).
    pub accepted: Option<Bytes>,
    /// Written instead when the device is not admitted (`devices.allow`); the connection is
    /// then closed. `None` means the protocol's refusal is silence.
    pub refused: Option<Bytes>,
}

impl AckPlan {
    /// A plan that answers `ack` on success and stays silent on refusal.
    pub fn ack(ack: impl Into<Bytes>) -> Self {
        AckPlan {
            accepted: Some(ack.into()),
            refused: None,
        }
    }
}

/// Why a frame could not be decoded. The frame is dropped and counted; the connection stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("bad checksum: frame says {expected:#06x}, computed {computed:#06x}")]
    Checksum { expected: u32, computed: u32 },
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    #[error("message {msg} before the device identified itself")]
    NotIdentified { msg: String },
    #[error("invalid device id: {0}")]
    DeviceId(#[from] crate::model::InvalidDeviceId),
    #[error("{0}")]
    Invalid(String),
    #[error("this protocol is not served over {0}")]
    UnsupportedTransport(&'static str),
}

impl DecodeError {
    /// A text field that does not parse: `"<protocol>: bad <field> <value>"`, the value cut
    /// to 40 characters so a garbage flood cannot fill the logs.
    pub fn bad_field(protocol: &str, field: &str, value: &str) -> Self {
        DecodeError::Invalid(format!(
            "{protocol}: bad {field} {:?}",
            value.chars().take(40).collect::<String>()
        ))
    }

    /// True for checksum mismatches, counted apart from other decode errors.
    pub fn is_checksum(&self) -> bool {
        matches!(self, DecodeError::Checksum { .. })
    }
}
