//! The device side of each protocol, as a sans-IO trait: what a tracker sends (login,
//! positions, backlog, heartbeat) and how it recognises the server's answer. The session loop
//! in `device.rs` owns the socket, the timers and the retries.
//!
//! Adding a protocol to the simulator = one file here implementing [`SimProtocol`] (built on
//! `trackgate::protocol::<p>::encode`) + one line in [`KINDS`]. The gateway has no uplink
//! encoder for the phone apps (OsmAnd query, OwnTracks JSON), so `osmand.rs` and
//! `owntracks.rs` build them from `protocol-docs/<p>.md`, with exact-output tests.

mod gps103;
mod gt06;
mod h02;
mod jt808;
mod osmand;
mod owntracks;
mod teltonika;
mod wialon;

pub use owntracks::puback;

use super::motion::Fix;
use bytes::BytesMut;
use std::net::SocketAddr;

/// Socket kind a simulated device uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One long-lived TCP connection per device.
    Tcp,
    /// Datagrams from one UDP socket per device.
    Udp,
    /// One HTTP request per frame; [`Frame::bytes`] is the request target (path and query)
    /// and the reply the device sees is the status code followed by the body (`"200 "`).
    Http,
    /// QoS 1 publishes on one MQTT session per device to [`SimProtocol::topic`]; the reply
    /// the device sees is the broker's PUBACK packet for that publish.
    Mqtt,
}

/// The broker port an MQTT kind talks to by default (the IANA MQTT port; the gateway
/// subscribes through the same broker, so its own registry port does not apply).
pub const MQTT_PORT: u16 = 1883;

/// What a frame is, for the counters and for the session loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Opens the session (login, IMEI handshake, register/auth).
    Login,
    /// Carries fixes.
    Positions,
    /// Keeps a parked device's link alive.
    Heartbeat,
}

/// One frame ready to write, with what its ACK must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Wire bytes.
    pub bytes: Vec<u8>,
    /// What it is.
    pub kind: FrameKind,
    /// Fixes it carries (0 for login and heartbeat).
    pub records: usize,
    /// Protocol-specific match key (serial number, packet id), checked against the reply.
    pub serial: u32,
    /// Protocol-specific message id the reply must echo.
    pub msg: u16,
}

/// How a reply relates to the frame waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The frame is acknowledged; for position frames all its records are accepted.
    Acked,
    /// A login step succeeded and the session continues with this frame (JT/T 808
    /// registration → authentication).
    Next(Frame),
    /// A valid server message about something else (a command, an old ACK): keep waiting.
    Unrelated,
    /// The reply is for this frame but says it was not (fully) accepted, e.g. a Teltonika
    /// count short of the records sent: the device resends, as real devices do.
    Retry(String),
}

/// Why a session step failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Socket error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No valid ACK after every retry.
    #[error("no ACK for {what} after {attempts} attempts")]
    Timeout {
        /// The frame kind.
        what: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server refused the device (handshake `00`, JT/T 808 failure result).
    #[error("refused: {0}")]
    Refused(String),
    /// Server bytes that cannot be a valid reply (bad checksum, bad framing).
    #[error("bad reply: {0}")]
    BadReply(String),
    /// Our own encoder rejected the input (a bug or a bad scenario value).
    #[error("encode: {0}")]
    Encode(String),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The run is stopping and the drain deadline passed.
    #[error("stopped")]
    Stopped,
    /// Scenario or target configuration is unusable.
    #[error("config: {0}")]
    Config(String),
}

/// Who a simulated device is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// 15-digit IMEI with a valid Luhn check digit.
    pub imei: String,
    /// Index in the fleet (picks per-device variants, e.g. GT06 0x12 vs 0x22).
    pub index: usize,
}

/// The device side of one protocol session. Implementations are pure: they build frames with
/// trackgate's uplink encoders and parse replies; they never touch sockets or clocks.
pub trait SimProtocol: Send + Sync {
    /// The id the gateway will list the device under (`/api/devices/{id}`).
    fn device_id(&self) -> String;
    /// The first frame of a session; `None` when the protocol has no login (UDP).
    fn login(&mut self) -> Result<Option<Frame>, SimError>;
    /// A frame carrying `fixes` (at most [`SimProtocol::max_batch`]); `backlog` marks fixes
    /// that were buffered during a gap and are uploaded late.
    fn positions(&mut self, fixes: &[Fix], backlog: bool) -> Result<Frame, SimError>;
    /// Most fixes one frame may carry.
    fn max_batch(&self) -> usize;
    /// A heartbeat frame, or `None` if the protocol reports a position instead while parked.
    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError>;
    /// Cuts one reply off the TCP receive buffer (`Ok(None)`: need more bytes).
    fn cut_reply(&self, sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError>;
    /// Checks one reply (a cut TCP reply or a whole UDP datagram) against `sent`.
    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError>;
    /// Whether the server answers `frame` at all. Coban positions get no reply, so the
    /// session writes them and moves on: they count as sent but unconfirmed (only the
    /// gateway's API can confirm them), never as ACKed.
    fn expects_reply(&self, _frame: &Frame) -> bool {
        true
    }
    /// The MQTT topic frames are published to ([`Transport::Mqtt`] kinds only).
    fn topic(&self) -> Option<String> {
        None
    }
    /// The device's answer when `server` (a cut reply that was not for the frame in flight)
    /// is a server command, built as the real firmware answers it; `None` for anything else
    /// and for kinds that do not answer commands.
    fn answer_command(&mut self, _server: &[u8]) -> Option<Frame> {
        None
    }
}

/// A protocol variant the fleet can mix in.
pub struct Kind {
    /// Name used in scenario `[mix]` tables and on the command line.
    pub name: &'static str,
    /// Key of the target address (`[targets]`): the gateway listener it talks to.
    pub target: &'static str,
    /// Registry name of the gateway protocol (its default port is the default target).
    pub protocol: &'static str,
    /// Socket kind.
    pub transport: Transport,
    /// Builds one device.
    pub build: fn(&Identity) -> Result<Box<dyn SimProtocol>, SimError>,
}

/// Every protocol variant the simulator speaks. The only list.
pub static KINDS: &[Kind] = &[
    Kind {
        name: "gt06",
        target: "gt06",
        protocol: "gt06",
        transport: Transport::Tcp,
        build: gt06::build,
    },
    Kind {
        name: "teltonika",
        target: "teltonika",
        protocol: "teltonika",
        transport: Transport::Tcp,
        build: teltonika::build_tcp,
    },
    Kind {
        name: "teltonika_udp",
        target: "teltonika_udp",
        protocol: "teltonika",
        transport: Transport::Udp,
        build: teltonika::build_udp,
    },
    Kind {
        name: "jt808_2013",
        target: "jt808",
        protocol: "jt808",
        transport: Transport::Tcp,
        build: jt808::build_2013,
    },
    Kind {
        name: "jt808_2019",
        target: "jt808",
        protocol: "jt808",
        transport: Transport::Tcp,
        build: jt808::build_2019,
    },
    Kind {
        name: "h02",
        target: "h02",
        protocol: "h02",
        transport: Transport::Tcp,
        build: h02::build,
    },
    Kind {
        name: "gps103",
        target: "gps103",
        protocol: "gps103",
        transport: Transport::Tcp,
        build: gps103::build,
    },
    Kind {
        name: "osmand",
        target: "osmand",
        protocol: "osmand",
        transport: Transport::Http,
        build: osmand::build,
    },
    Kind {
        name: "owntracks",
        target: "owntracks",
        protocol: "owntracks",
        transport: Transport::Mqtt,
        build: owntracks::build,
    },
    Kind {
        name: "wialon",
        target: "wialon",
        protocol: "wialon",
        transport: Transport::Tcp,
        build: wialon::build,
    },
];

/// Protocols named in issue 7 that the simulator does not speak yet; listed by
/// `trackgate-sim kinds`. Empty: every kind the issue names is in [`KINDS`].
pub const MISSING: &[&str] = &[];

/// Looks a kind up by name.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The default target of a kind: loopback on the gateway protocol's default port, or on
/// [`MQTT_PORT`] for MQTT kinds (they talk to the broker, not to the gateway).
pub fn default_target(k: &Kind) -> Option<SocketAddr> {
    if k.transport == Transport::Mqtt {
        return Some(SocketAddr::from(([127, 0, 0, 1], MQTT_PORT)));
    }
    trackgate::protocol::find(k.protocol)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p.default_port())))
}

/// A 15-digit IMEI: `prefix` (TAC-like digits), then the device number, then the Luhn digit.
pub fn imei(prefix: &str, n: u64) -> String {
    let digits: String = prefix
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let body = format!("{digits}{n:0>width$}", width = 14 - digits.len());
    let body = &body[body.len() - 14..];
    format!("{body}{}", luhn(body))
}

fn luhn(digits: &str) -> u32 {
    // Double every second digit from the right of the payload (the check digit goes last).
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simulated devices answer the gateway's own command frames (built by trackgate's
    /// codecs) in a form trackgate's answer recognisers accept, naming the command answered
    /// where the protocol can.
    #[test]
    fn devices_answer_the_gateways_commands() {
        use trackgate::protocol::command::{Command, Link};
        let id = Identity {
            imei: "864717003283581".into(),
            index: 0,
        };
        for (name, proto) in [
            ("gt06", "gt06"),
            ("teltonika", "teltonika"),
            ("jt808_2013", "jt808"),
            ("jt808_2019", "jt808"),
        ] {
            let mut dev = (kind(name).expect("kind").build)(&id).expect("device");
            // The frame the gateway last saw: the login (JT/T 808: its header shape).
            let login = dev.login().expect("login").expect("a login frame");
            let device = dev.device_id();
            let codec = trackgate::protocol::find(proto)
                .and_then(|p| p.commands())
                .expect("codec");
            let link = Link {
                device: &device,
                frame: &login.bytes,
                number: 42,
                now: chrono::Utc::now(),
            };
            let cmd = codec.encode(&Command::Reboot, &link).expect("encode");
            let answer = dev.answer_command(&cmd.bytes).expect(name);
            let reply = codec.reply(&answer.bytes).expect(name);
            assert!(reply.ok, "{name}: {reply:?}");
            assert_eq!(reply.tag, cmd.tag, "{name}");
            // Anything else is no command.
            assert!(dev.answer_command(&login.bytes).is_none(), "{name}");
        }
    }

    #[test]
    fn imei_has_luhn_digit() {
        // 49015420323751 + Luhn 8 is the textbook example IMEI.
        assert_eq!(imei("49015420", 323751), "490154203237518");
        assert_eq!(imei("35", 1), "350000000000014");
        assert_eq!(imei("35", 1).len(), 15);
    }

    #[test]
    fn new_kinds_default_to_the_documented_ports() {
        let port = |name: &str| {
            kind(name)
                .and_then(default_target)
                .map(|a| a.port())
                .expect("kind with a target")
        };
        // design.md: h02 5013, gps103 5001, osmand 5055 (HTTP); OwnTracks goes to the broker.
        assert_eq!(
            ["h02", "gps103", "osmand", "owntracks"].map(port),
            [5013, 5001, 5055, MQTT_PORT]
        );
        assert_eq!(kind("osmand").map(|k| k.transport), Some(Transport::Http));
        assert_eq!(
            kind("owntracks").map(|k| k.transport),
            Some(Transport::Mqtt)
        );
    }

    #[test]
    fn every_kind_has_a_default_target() {
        for k in KINDS {
            assert!(
                default_target(k).is_some(),
                "{} has no gateway protocol",
                k.name
            );
        }
    }
}
