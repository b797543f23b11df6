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
//! Broker settings are the shared `[mqtt]` section ([`crate::mqtt`]).
//!
//! [`frame_handler::handle`]: super::frame_handler::handle

use super::frame_handler::{handle, Outcome};
use super::{IngestCtx, ProtoRuntime};
use crate::mqtt::MqttConfig;
use crate::protocol::owntracks::OwnTracksDecoder;
use crate::protocol::{DecodeCtx, Decoder};
use crate::session::Session;
use crate::telemetry::{ConnLabel, ProtoLabel};
use chrono::Utc;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use std::sync::Arc;

/// Runs the subscriber until shutdown. `rt` is the owntracks registry entry (labels, ack
/// mode); records decoded by a mapping carry the `mqtt` protocol label.
pub async fn run(mqtt: MqttConfig, ctx: Arc<IngestCtx>, rt: ProtoRuntime) {
    let icfg = &mqtt.ingest;
    let mut opts = match mqtt.options("in") {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "mqtt ingest not started");
            return;
        }
    };
    opts.set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(icfg.max_packet_bytes, icfg.max_packet_bytes);
    let (client, mut events) = AsyncClient::new(opts, 256);
    let mut decoder = OwnTracksDecoder::with_mappings(icfg.mappings.clone());
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let m = &ctx.metrics.ingest;
    let mut retry = icfg.reconnect_backoff().retry();
    let peer = mqtt.url.clone();
    loop {
        let ev = tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            ev = events.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                retry.reset();
                m.connections
                    .get_or_create(&ConnLabel {
                        protocol: rt.name(),
                        transport: "mqtt",
                    })
                    .inc();
                tracing::info!(broker = %peer, session_present = ack.session_present, "mqtt ingest connected");
                // Subscribing again on a resumed session is harmless and covers a broker
                // that lost its state.
                for t in icfg.topics() {
                    if let Err(e) = client.try_subscribe(t.clone(), QoS::AtLeastOnce) {
                        tracing::warn!(topic = %t, error = %e, "mqtt subscribe not queued");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                m.frames.get_or_create(&label).inc();
                let now = Utc::now();
                let topic = p.topic.clone();
                let decoded = decoder.decode_mqtt(&topic, &p.payload, &DecodeCtx { now });
                // Behind a broker the device's own address is unknown.
                let mut session = Session::message(rt.name(), ctx.gate.clone(), None);
                let outcome =
                    handle(&ctx, &rt, &mut session, &mut decoder, decoded, &topic, now).await;
                let ack = puback(&outcome);
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
                let delay = retry.next_delay();
                tracing::warn!(broker = %peer, error = %e, retry_in = ?delay, "mqtt ingest connection lost");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

/// Whether a message is acknowledged to the broker. Everything is, except what was not
/// stored for lack of durability: redelivery cannot fix a bad message, a refused device or
/// one without an id (they are counted and dropped), but it does fix a full log.
fn puback(outcome: &Outcome) -> bool {
    !matches!(outcome, Outcome::LogFull | Outcome::NotDurable(_))
}

#[cfg(test)]
mod tests {
    use super::{puback, Outcome};
    use crate::pipeline::Refused;

    #[test]
    fn only_what_was_not_durable_is_left_for_redelivery() {
        assert!(puback(&Outcome::Accepted { ack: None }));
        assert!(puback(&Outcome::Refused { refusal: None }));
        assert!(puback(&Outcome::NotIdentified));
        assert!(puback(&Outcome::BadFrame(
            crate::protocol::DecodeError::Invalid("x".into())
        )));
        assert!(!puback(&Outcome::LogFull));
        assert!(!puback(&Outcome::NotDurable(Refused::ShuttingDown)));
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
            i.topics(),
            vec!["fleet/+/gps".to_string(), "ot/+/+".to_string()]
        );
        let e = crate::config::Config::from_toml(
            "[mqtt]\n[[mqtt.ingest.mappings]]\ntopic = \"a/+\"\ndevice_id = \"{2}\"\nlat = \"x\"\nlon = \"y\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{2}"), "{e}");
        // TLS brokers are accepted (tests/tls_outbound.rs connects to one).
        assert!(crate::config::Config::from_toml("[mqtt]\nurl = \"mqtts://b:8883\"\n").is_ok());
    }
}
