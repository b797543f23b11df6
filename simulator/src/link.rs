//! A simulated device's link to the gateway, one per session: a TCP stream or a UDP socket
//! carrying protocol bytes, an HTTP client (one request per frame; the status is the reply)
//! or an MQTT client session (QoS 1 publishes; the broker's PUBACK is the reply). The
//! session loop in `device.rs` writes frames and waits for replies through it, the same way
//! for every transport.

use super::proto::{self, Frame, SimError, SimProtocol, Transport};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

/// Keep-alive of a simulated MQTT session. The client is only driven while the device waits
/// for a PUBACK, so this must exceed the longest real pause between reports (a parked
/// truck's interval divided by the speedup); a broker that drops an idle session anyway
/// costs one reconnect and no fix.
const MQTT_KEEP_ALIVE: Duration = Duration::from_secs(1200);
/// Requests the MQTT client may queue; a device has at most one publish (and its resends)
/// outstanding.
const MQTT_QUEUE: usize = 16;

/// The open link of one session.
pub(super) enum Conn {
    Tcp { s: TcpStream, buf: BytesMut },
    Udp(UdpSocket),
    Http(HttpConn),
    Mqtt(Box<MqttConn>),
}

/// One HTTP "session": a client bound to the gateway's listener and the request to send.
pub(super) struct HttpConn {
    client: reqwest::Client,
    /// `http://host:port`, without a trailing slash (frames start with `/`).
    base: String,
    /// Request target written by the last [`Conn::write`], sent by [`Conn::reply`].
    pending: Option<String>,
}

/// One MQTT client session of one device.
pub(super) struct MqttConn {
    client: rumqttc::AsyncClient,
    events: rumqttc::EventLoop,
    topic: String,
    /// The frame (serial) whose publishes are outstanding, and their packet ids: a PUBACK for
    /// any copy (first send or resend) acknowledges the frame.
    frame: u32,
    pkids: Vec<u16>,
}

fn io_other(e: impl std::fmt::Display) -> SimError {
    SimError::Io(std::io::Error::other(e.to_string()))
}

impl Conn {
    /// Opens a link of kind `t` to `target` (for MQTT: connects and waits for CONNACK).
    pub(super) async fn open(
        t: Transport,
        target: SocketAddr,
        p: &dyn SimProtocol,
    ) -> Result<Conn, SimError> {
        Ok(match t {
            Transport::Tcp => {
                let s = TcpStream::connect(target).await?;
                s.set_nodelay(true)?;
                Conn::Tcp {
                    s,
                    buf: BytesMut::with_capacity(256),
                }
            }
            Transport::Udp => {
                let bind: SocketAddr = if target.is_ipv4() {
                    ([127, 0, 0, 1], 0).into()
                } else {
                    (std::net::Ipv6Addr::LOCALHOST, 0).into()
                };
                let u = UdpSocket::bind(bind).await?;
                u.connect(target).await?;
                Conn::Udp(u)
            }
            Transport::Http => Conn::Http(HttpConn {
                client: reqwest::Client::builder()
                    .build()
                    .map_err(|e| SimError::Config(format!("HTTP client: {e}")))?,
                base: format!("http://{target}"),
                pending: None,
            }),
            Transport::Mqtt => Conn::Mqtt(Box::new(MqttConn::open(target, p).await?)),
        })
    }

    /// Writes one frame (HTTP: stores the request for [`Conn::reply`] to send).
    pub(super) async fn write(&mut self, f: &Frame) -> Result<(), SimError> {
        let b = &f.bytes;
        match self {
            Conn::Tcp { s, .. } => s.write_all(b).await?,
            Conn::Udp(u) => {
                u.send(b).await?;
            }
            Conn::Http(h) => h.pending = Some(String::from_utf8_lossy(b).into_owned()),
            Conn::Mqtt(m) => {
                if m.frame != f.serial {
                    m.frame = f.serial;
                    m.pkids.clear();
                }
                m.client
                    .publish(m.topic.clone(), rumqttc::QoS::AtLeastOnce, false, b.clone())
                    .await
                    .map_err(io_other)?;
            }
        }
        Ok(())
    }

    /// The next reply, or `None` at `deadline`.
    pub(super) async fn reply(
        &mut self,
        p: &dyn SimProtocol,
        sent: &Frame,
        deadline: Instant,
    ) -> Result<Option<Vec<u8>>, SimError> {
        match self {
            Conn::Tcp { s, buf } => loop {
                if let Some(r) = p.cut_reply(sent, buf)? {
                    return Ok(Some(r));
                }
                match tokio::time::timeout_at(deadline, s.read_buf(buf)).await {
                    Err(_) => return Ok(None),
                    Ok(Ok(0)) => return Err(SimError::Closed),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e.into()),
                }
            },
            Conn::Udp(u) => {
                let mut b = vec![0u8; 2048];
                match tokio::time::timeout_at(deadline, u.recv(&mut b)).await {
                    Err(_) => Ok(None),
                    Ok(Ok(n)) => {
                        b.truncate(n);
                        Ok(Some(b))
                    }
                    Ok(Err(e)) => Err(e.into()),
                }
            }
            Conn::Http(h) => {
                let Some(target) = h.pending.take() else {
                    // The one reply to the last request was consumed: nothing else comes.
                    tokio::time::sleep_until(deadline).await;
                    return Ok(None);
                };
                let url = format!("{}{target}", h.base);
                let request = async {
                    let r = h.client.post(url).send().await?;
                    let status = r.status().as_u16();
                    let body = r.bytes().await?;
                    Ok::<_, reqwest::Error>((status, body))
                };
                match tokio::time::timeout_at(deadline, request).await {
                    Err(_) => Ok(None),
                    Ok(Err(e)) => Err(io_other(e)),
                    Ok(Ok((status, body))) => {
                        let mut r = format!("{status} ").into_bytes();
                        r.extend_from_slice(&body);
                        Ok(Some(r))
                    }
                }
            }
            Conn::Mqtt(m) => m.puback(deadline).await,
        }
    }
}

impl MqttConn {
    /// Connects a clean session as `sim-<device id>` and waits for the broker's CONNACK.
    async fn open(target: SocketAddr, p: &dyn SimProtocol) -> Result<MqttConn, SimError> {
        use rumqttc::{Event, Packet};
        let topic = p.topic().ok_or_else(|| {
            SimError::Config(format!("{}: MQTT kind without a topic", p.device_id()))
        })?;
        let mut o = rumqttc::MqttOptions::new(
            format!("sim-{}", p.device_id()),
            target.ip().to_string(),
            target.port(),
        );
        o.set_keep_alive(MQTT_KEEP_ALIVE).set_clean_session(true);
        let (client, mut events) = rumqttc::AsyncClient::new(o, MQTT_QUEUE);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => break,
                Ok(_) => {}
                Err(rumqttc::ConnectionError::ConnectionRefused(code)) => {
                    return Err(SimError::Refused(format!("MQTT CONNACK {code:?}")))
                }
                Err(e) => return Err(io_other(e)),
            }
        }
        Ok(MqttConn {
            client,
            events,
            topic,
            frame: 0,
            pkids: Vec::new(),
        })
    }

    /// Drives the client until the PUBACK of an outstanding publish (as the packet's bytes),
    /// or `None` at `deadline`.
    async fn puback(&mut self, deadline: Instant) -> Result<Option<Vec<u8>>, SimError> {
        use rumqttc::{Event, Outgoing, Packet};
        loop {
            match tokio::time::timeout_at(deadline, self.events.poll()).await {
                Err(_) => return Ok(None),
                Ok(Err(e)) => return Err(io_other(e)),
                Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => self.pkids.push(pkid),
                Ok(Ok(Event::Incoming(Packet::PubAck(a)))) if self.pkids.contains(&a.pkid) => {
                    return Ok(Some(proto::puback(a.pkid)))
                }
                Ok(Ok(_)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The HTTP link and the no-reply path through the whole session loop, against scripted
    //! servers: an OsmAnd 503 is retried and only the 200 counts; Coban positions are written
    //! without waiting and counted as unconfirmed, never as ACKed.

    use super::super::fleet;
    use super::super::scenario::Scenario;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn scenario(kind: &str, records: u64, target: std::net::SocketAddr) -> Scenario {
        let mut sc = Scenario::from_toml(&format!(
            "devices = 1\nspeedup = 600.0\nrecords = {records}\nprogress_s = 0.0\n\
             [mix]\n{kind} = 1\n[motion]\ngaps_per_hour = 0.0\njump_probability = 0.0\n\
             [device]\nack_timeout_ms = 2000\nretries = 2\nbackoff_min_ms = 10\ndrain_s = 5.0\n"
        ))
        .expect("scenario");
        sc.targets.insert(kind.into(), target);
        sc
    }

    /// Answers HTTP/1.1 requests on one connection: 503 to the first, 200 to the rest.
    /// Returns every request line.
    async fn http_server(l: TcpListener) -> Vec<String> {
        let mut lines = Vec::new();
        let Ok((mut s, _)) = l.accept().await else {
            return lines;
        };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while let Ok(n) = s.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            // Requests carry no body (content-length: 0): a head ends each one.
            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 4);
                lines.push(head.lines().next().unwrap_or_default().to_string());
                let reply: &[u8] = if lines.len() == 1 {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                };
                if s.write_all(reply).await.is_err() {
                    return lines;
                }
            }
        }
        lines
    }

    #[tokio::test]
    async fn osmand_retries_a_503_and_counts_only_the_200() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let server = tokio::spawn(http_server(l));
        let r = fleet::run(&scenario("osmand", 3, addr), std::future::pending())
            .await
            .expect("runs");
        let lines = server.await.expect("server ends when the device hangs up");
        let s = &r.stats;
        assert_eq!((s.records_generated, s.records_acked), (3, 3), "{s:?}");
        assert_eq!(
            (s.resends, s.bad_acks),
            (1, 1),
            "the 503 was retried: {s:?}"
        );
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], lines[1], "the same fix again");
        assert!(
            lines[0].starts_with("POST /?id=") && lines[0].ends_with(" HTTP/1.1"),
            "{lines:?}"
        );
    }

    /// A Coban server: `LOAD` to the log-on, `ON` to heartbeats, nothing to positions.
    /// Returns the position sentences read before the device hung up.
    async fn coban_server(l: TcpListener) -> Vec<String> {
        let mut positions = Vec::new();
        let Ok((mut s, _)) = l.accept().await else {
            return positions;
        };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while let Ok(n) = s.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(end) = buf.iter().position(|&b| b == b';') {
                let sentence = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..=end);
                let reply: &[u8] = if sentence.starts_with("##,") {
                    b"LOAD"
                } else if sentence.starts_with("imei:") {
                    positions.push(sentence);
                    continue;
                } else {
                    b"ON"
                };
                if s.write_all(reply).await.is_err() {
                    return positions;
                }
            }
        }
        positions
    }

    #[tokio::test]
    async fn coban_positions_are_unconfirmed_not_acked() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let server = tokio::spawn(coban_server(l));
        let r = fleet::run(&scenario("gps103", 5, addr), std::future::pending())
            .await
            .expect("runs");
        let positions = server.await.expect("server ends when the device hangs up");
        let s = &r.stats;
        assert_eq!(s.records_generated, 5, "{s:?}");
        assert_eq!((s.records_acked, s.records_unconfirmed), (0, 5), "{s:?}");
        // Nothing was waited for, so nothing timed out and nothing was sent twice.
        assert_eq!((s.resends, s.bad_acks), (0, 0), "{s:?}");
        assert_eq!(r.devices[0].acked, 0);
        assert_eq!(positions.len(), 5, "{positions:?}");
        assert!(positions.iter().all(|p| p.contains(",tracker,")));
    }
}
