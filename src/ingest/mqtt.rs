//! MQTT device ingest: OwnTracks phones and configured JSON devices, via a broker.
//!
//! One rumqttc client `<client_id>-in` with `clean_session = false`, so the broker keeps the
//! QoS 1 subscriptions and queues messages while the gateway is down, and redelivers them
//! when it is back. Acks are manual: a message's PUBACK is queued only after
//! [`frame_handler::handle`] made its records durable (the same admission and durability as
//! TCP frames). A message that does not decode is acknowledged too (redelivery could not
//! fix it) and counted; one whose records were not made durable is left unacknowledged, so
//! the broker redelivers it on the next session.
//!
//! Reconnects: the event loop reconnects on the next poll; between attempts the task waits
//! with exponential backoff (`reconnect_min_ms` doubling up to `reconnect_max_secs`).
//! TLS (`mqtts://`) is refused at start-up: see [`MqttIngestConfig`].
//!
//! [`frame_handler::handle`]: super::frame_handler::handle

use super::frame_handler::{decode_failed, handle};
use super::{IngestCtx, ProtoRuntime};
use crate::config::MqttConfig;
use crate::protocol::owntracks::{Mapping, OwnTracksDecoder};
use crate::protocol::{DecodeCtx, Decoder};
use crate::session::Session;
use crate::telemetry::{ConnLabel, ProtoLabel};
use chrono::Utc;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// `[mqtt.ingest]`: what trackgate subscribes to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttIngestConfig {
    /// Subscribe at all (when `[mqtt]` is present). Default true.
    pub enabled: bool,
    /// OwnTracks topic filter; the 2nd and 3rd levels are user and device. Empty: no
    /// OwnTracks subscription. Default `owntracks/+/+`.
    pub owntracks_topic: String,
    /// Generic JSON devices, tried in order before the OwnTracks layout.
    pub mappings: Vec<Mapping>,
    /// Largest MQTT packet accepted from the broker, bytes. Default 65536.
    pub max_packet_bytes: usize,
    /// First reconnect delay, milliseconds. Default 500.
    pub reconnect_min_ms: u64,
    /// Longest reconnect delay, seconds. Default 30.
    pub reconnect_max_secs: u64,
}

impl Default for MqttIngestConfig {
    fn default() -> Self {
        MqttIngestConfig {
            enabled: true,
            owntracks_topic: "owntracks/+/+".into(),
            mappings: Vec::new(),
            max_packet_bytes: 64 * 1024,
            reconnect_min_ms: 500,
            reconnect_max_secs: 30,
        }
    }
}

/// Why MQTT ingest cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttSetupError {
    #[error("mqtt.url = {0:?}: expected mqtt://host[:port]")]
    Url(String),
    #[error("mqtt.url = {0:?}: mqtts:// (TLS) is not built into this trackgate (rumqttc's TLS backends need a C toolchain); use mqtt:// on a trusted network or a local TLS-terminating bridge")]
    TlsUnsupported(String),
    #[error(transparent)]
    Mapping(#[from] crate::protocol::owntracks::MappingError),
}

/// Host and port of an `mqtt://host[:port]` URL (default port 1883).
pub fn parse_url(url: &str) -> Result<(String, u16), MqttSetupError> {
    if url.starts_with("mqtts://") {
        return Err(MqttSetupError::TlsUnsupported(url.into()));
    }
    let rest = url
        .strip_prefix("mqtt://")
        .ok_or_else(|| MqttSetupError::Url(url.into()))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse().map_err(|_| MqttSetupError::Url(url.into()))?)
        }
        _ => (rest, 1883),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') {
        return Err(MqttSetupError::Url(url.into()));
    }
    Ok((host.to_string(), port))
}

/// Validates the broker URL and the mappings (called once at start-up).
pub fn validate(mqtt: &MqttConfig) -> Result<(), MqttSetupError> {
    parse_url(&mqtt.url)?;
    for m in &mqtt.ingest.mappings {
        m.validate()?;
    }
    Ok(())
}

fn topics(cfg: &MqttIngestConfig) -> Vec<String> {
    let mut t: Vec<String> = cfg.mappings.iter().map(|m| m.topic.clone()).collect();
    if !cfg.owntracks_topic.is_empty() {
        t.push(cfg.owntracks_topic.clone());
    }
    t
}

/// Runs the subscriber until shutdown. `rt` is the owntracks registry entry (labels, ack
/// mode); records decoded by a mapping carry the `mqtt` protocol label.
pub async fn run(mqtt: MqttConfig, ctx: Arc<IngestCtx>, rt: ProtoRuntime) {
    let (host, port) = match parse_url(&mqtt.url) {
        Ok(hp) => hp,
        Err(e) => {
            tracing::error!(error = %e, "mqtt ingest not started");
            return;
        }
    };
    let icfg = &mqtt.ingest;
    let mut opts = MqttOptions::new(format!("{}-in", mqtt.client_id), host, port);
    opts.set_keep_alive(Duration::from_secs(mqtt.keep_alive_secs.max(5)))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(icfg.max_packet_bytes, icfg.max_packet_bytes);
    if let (Some(u), Some(p)) = (&mqtt.username, &mqtt.password) {
        opts.set_credentials(u.clone(), p.clone());
    }
    let (client, mut events) = AsyncClient::new(opts, 256);
    let mut decoder = OwnTracksDecoder::with_mappings(icfg.mappings.clone());
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let m = &ctx.metrics.ingest;
    let min = Duration::from_millis(icfg.reconnect_min_ms.max(1));
    let max = Duration::from_secs(icfg.reconnect_max_secs.max(1));
    let mut backoff = min;
    let peer = mqtt.url.clone();
    loop {
        let ev = tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            ev = events.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = min;
                m.connections
                    .get_or_create(&ConnLabel {
                        protocol: rt.name(),
                        transport: "mqtt",
                    })
                    .inc();
                tracing::info!(broker = %peer, session_present = ack.session_present, "mqtt ingest connected");
                // Subscribing again on a resumed session is harmless and covers a broker
                // that lost its state.
                for t in topics(icfg) {
                    if let Err(e) = client.try_subscribe(t.clone(), QoS::AtLeastOnce) {
                        tracing::warn!(topic = %t, error = %e, "mqtt subscribe not queued");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                m.frames.get_or_create(&label).inc();
                let now = Utc::now();
                let topic = p.topic.clone();
                let ack = match decoder.decode_mqtt(&topic, &p.payload, &DecodeCtx { now }) {
                    Err(e) => {
                        decode_failed(&ctx, &rt, &topic, &e);
                        true
                    }
                    Ok(decoded) => {
                        let has_records = !decoded.records.is_empty();
                        let mut session =
                            Session::new(rt.name(), ctx.live.clone(), ctx.admission.clone());
                        let reply = handle(&ctx, &rt, &mut session, decoded, &topic, now).await;
                        // Refused devices are acknowledged (dropped by policy, not by fault).
                        reply.close || reply.write.is_some() || !has_records
                    }
                };
                if ack {
                    match client.try_ack(&p) {
                        Ok(()) => {
                            m.acks.get_or_create(&label).inc();
                        }
                        Err(e) => {
                            tracing::warn!(topic = %topic, error = %e, "mqtt ack not queued; the broker will redeliver")
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(broker = %peer, error = %e, retry_in = ?backoff, "mqtt ingest connection lost");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(max);
            }
        }
    }
    let _ = client.try_disconnect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1884").unwrap(),
            ("127.0.0.1".into(), 1884)
        );
        assert_eq!(parse_url("mqtt://broker").unwrap(), ("broker".into(), 1883));
        assert_eq!(
            parse_url("mqtt://[::1]:1885").unwrap(),
            ("::1".into(), 1885)
        );
        assert!(matches!(
            parse_url("mqtts://b:8883"),
            Err(MqttSetupError::TlsUnsupported(_))
        ));
        assert!(parse_url("mqtt://b:x").is_err());
        assert!(parse_url("tcp://b").is_err());
    }

    #[test]
    fn ingest_section_parses_with_mappings() {
        let c = crate::config::Config::from_toml(
            "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n[mqtt.ingest]\nowntracks_topic = \"ot/+/+\"\n\
             [[mqtt.ingest.mappings]]\ntopic = \"fleet/+/gps\"\ndevice_id = \"{1}\"\nlat = \"p.lat\"\nlon = \"p.lon\"\n",
        )
        .unwrap();
        let i = c.mqtt.unwrap().ingest;
        assert_eq!(i.owntracks_topic, "ot/+/+");
        assert_eq!(i.mappings[0].topic, "fleet/+/gps");
        assert_eq!(
            topics(&i),
            vec!["fleet/+/gps".to_string(), "ot/+/+".to_string()]
        );
        let e = crate::config::Config::from_toml(
            "[mqtt]\n[[mqtt.ingest.mappings]]\ntopic = \"a/+\"\ndevice_id = \"{2}\"\nlat = \"x\"\nlon = \"y\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{2}"), "{e}");
        let e = crate::config::Config::from_toml("[mqtt]\nurl = \"mqtts://b:8883\"\n").unwrap_err();
        assert!(e.to_string().contains("mqtts://"), "{e}");
    }
}
