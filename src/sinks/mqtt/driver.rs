//! Drives rumqttc's event loop and reports connection state and PUBACK counts.
//!
//! rumqttc cannot tie a PUBACK to the `publish()` call that caused it (rumqtt#349), so the
//! driver only counts: `acked` grows by one per PUBACK, and `epoch` grows by one per CONNACK.
//! The publisher compares these counts with how many messages it handed over in the same
//! epoch (see `super` for what "delivered" means as a result).

use rumqttc::{Event, EventLoop, Packet};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the publisher sees of the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Connected (CONNACK received, no error since).
    pub connected: bool,
    /// Number of CONNACKs so far: a change means the session (and its in-flight publishes)
    /// was lost.
    pub epoch: u64,
    /// PUBACKs received in this epoch.
    pub acked: u64,
}

/// Polls `eventloop` until shutdown, publishing [`LinkState`] on `tx`.
pub async fn drive(
    mut eventloop: EventLoop,
    tx: watch::Sender<LinkState>,
    reconnect: crate::backoff::Backoff,
    acked_metric: prometheus_client::metrics::counter::Counter,
    shutdown: CancellationToken,
) {
    let mut retry = reconnect.retry();
    // A broker that cannot be reached (or whose certificate does not verify) is reported
    // once per distinct error, not once per reconnect attempt.
    let mut last_error = String::new();
    loop {
        let ev = tokio::select! {
            _ = shutdown.cancelled() => return,
            ev = eventloop.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                retry.reset();
                last_error.clear();
                tracing::info!("mqtt publisher connected");
                tx.send_modify(|s| {
                    s.connected = true;
                    s.epoch += 1;
                    s.acked = 0;
                });
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                acked_metric.inc();
                tx.send_modify(|s| s.acked += 1);
            }
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                if tx.borrow().connected {
                    tracing::warn!(error = %text, "mqtt publisher disconnected; reconnecting");
                } else if text != last_error {
                    tracing::warn!(error = %text, "mqtt publisher cannot connect; retrying");
                } else {
                    tracing::debug!(error = %text, "mqtt publisher cannot connect");
                }
                last_error = text;
                tx.send_modify(|s| s.connected = false);
                let nap = retry.next_delay();
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(nap) => {}
                }
            }
        }
    }
}
