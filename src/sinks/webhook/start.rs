//! Starts the live outputs: the embedded store, the `webhooks` consumer and dispatcher, the
//! MQTT publisher (with `[mqtt]`); consumer lag is sampled by the log runner
//! (`trackgate_wal_consumer_lag_*`). One call from `server.rs`.

use super::metrics::OutputMetrics;
use super::{Dispatcher, Store, WebhookConsumer, STORE_FILE};
use crate::api::webhooks::Outputs;
use crate::config::Config;
use crate::pipeline::runner::{self, LogConsumer};
use crate::pipeline::wal::Wal;
use crate::telemetry::Metrics;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often the store drops what is older than `storage.retention`.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prunes the store at start and then every [`PRUNE_EVERY`] until shutdown.
async fn prune_loop(store: Store, retention: Duration, shutdown: CancellationToken) {
    loop {
        let keep = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = chrono::Utc::now().timestamp_millis().saturating_sub(keep);
        match store.prune(cutoff).await {
            Ok((d, e)) if d + e > 0 => {
                tracing::info!(deliveries = d, events = e, "outputs store pruned")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outputs store prune failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Starts every live output; the returned handle feeds the API routes.
pub async fn start_outputs(
    cfg: &Config,
    wal: &Wal,
    metrics: &Metrics,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<Outputs, String> {
    cfg.webhooks.validate()?;
    std::fs::create_dir_all(&cfg.storage.dir)
        .map_err(|e| format!("storage dir {}: {e}", cfg.storage.dir.display()))?;
    let path = cfg.storage.dir.join(STORE_FILE);
    let store = Store::open(&path).map_err(|e| format!("store {}: {e}", path.display()))?;
    let om = OutputMetrics::default();
    metrics.register(|r| om.register(r.sub_registry_with_prefix("trackgate")));
    let wake = Arc::new(Notify::new());

    let consumer: Arc<dyn LogConsumer> = Arc::new(WebhookConsumer::new(
        store.clone(),
        wake.clone(),
        shutdown.clone(),
    ));
    runner::spawn(wal.clone(), consumer, tracker, shutdown.clone())
        .await
        .map_err(|e| format!("webhooks consumer: {e}"))?;
    let dispatcher = Dispatcher::new(
        store.clone(),
        cfg.webhooks.clone(),
        wake.clone(),
        om.clone(),
    )
    .map_err(|e| format!("webhook http client: {e}"))?;
    tracker.spawn(dispatcher.run(shutdown.clone()));

    if let Some(mc) = &cfg.mqtt {
        let publisher = crate::sinks::mqtt::MqttPublisher::start(
            mc,
            store.clone(),
            om.clone(),
            tracker,
            shutdown.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        runner::spawn(wal.clone(), Arc::new(publisher), tracker, shutdown.clone())
            .await
            .map_err(|e| format!("mqtt consumer: {e}"))?;
        tracing::info!(url = %mc.url, "mqtt publisher started");
    } else {
        // Nothing publishes: do not let a stale offset pin the log.
        let _ = wal
            .unregister_consumer(crate::sinks::mqtt::CONSUMER_NAME)
            .await;
    }
    tracker.spawn(prune_loop(
        store.clone(),
        cfg.storage.retention,
        shutdown.clone(),
    ));
    Ok(Outputs {
        store,
        wal: wal.clone(),
        wake,
        metrics: om,
        shutdown,
    })
}
