//! Step 2 of start-up: every log consumer, each started through one helper
//! ([`Consumers::spawn`]) — live state, InfluxDB, the outputs store, the MQTT publisher and
//! tracking — plus the tasks that go with them (webhook dispatcher, tracking timer).
//! A sink that is not configured is unregistered, so its stale position does not hold
//! the log.

use super::{Base, StartError};
use crate::config::Config;
use crate::model::Record;
use crate::outputs::Outputs;
use crate::pipeline::runner::{Consumers, LogConsumer, Stopped};
use crate::pipeline::{DurableStage, Pipeline};
use crate::state::LiveState;
use crate::tracking::TrackingHandle;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// What the API needs from the started consumers.
pub(super) struct Started {
    pub outputs: Outputs,
    pub tracking: Option<Arc<TrackingHandle>>,
    pub console: Arc<crate::console::Console>,
    /// Geofences and fleet events.
    pub fleet: Option<Arc<crate::fleet::FleetHandle>>,
}

/// Live state as a nameless consumer: it keeps no position and rebuilds from the retained
/// log at every start.
struct LiveConsumer(Arc<LiveState>);

impl LogConsumer for LiveConsumer {
    fn name(&self) -> Option<&str> {
        None
    }
    fn wants(&self, kind: &str) -> bool {
        kind == "position"
    }
    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        self.0.apply(records);
        Box::pin(async { Ok(()) })
    }
}

/// Starts every consumer the configuration asks for.
pub(super) async fn start(
    cfg: &Config,
    base: &Base,
    consumers: &Consumers,
    live: &Arc<LiveState>,
    registry: &Arc<crate::registry::Registry>,
) -> Result<Started, StartError> {
    consumers
        .spawn(Arc::new(LiveConsumer(live.clone())))
        .await?;
    start_influx(cfg, base, consumers).await?;
    std::fs::create_dir_all(&cfg.storage.dir)
        .map_err(|e| StartError::Sink(format!("storage dir {}: {e}", cfg.storage.dir.display())))?;
    let outputs = Outputs::open(
        &cfg.storage.dir,
        cfg.storage.retention,
        consumers.log().clone(),
        consumers,
        &base.tracker,
        base.shutdown.clone(),
    )
    .await
    .map_err(StartError::Sink)?;
    let om = outputs.metrics.clone();
    base.metrics
        .register(|r| om.register(r.sub_registry_with_prefix("trackgate")));
    start_webhooks(cfg, base, &outputs)?;
    start_mqtt(cfg, base, consumers, &outputs).await?;
    let tracking = start_tracking(cfg, base, consumers).await?;
    let fleet = start_fleet(cfg, base, consumers, registry, live).await?;
    let console = Arc::new(crate::console::Console::new(
        cfg.console.clone(),
        cfg.devices.offline_after_secs,
        live.clone(),
    ));
    consumers
        .spawn(Arc::new(crate::console::HistoryConsumer(
            console.history.clone(),
        )))
        .await?;
    Ok(Started {
        outputs,
        tracking,
        console,
        fleet: Some(fleet),
    })
}

async fn start_influx(cfg: &Config, base: &Base, consumers: &Consumers) -> Result<(), StartError> {
    use crate::sinks::influx::{consumer, InfluxMetrics, InfluxSink};
    let Some(icfg) = &cfg.influx else {
        // No sink reads the log: it is the embedded store, kept for `storage.retention`.
        consumers.unregister(consumer::CONSUMER_NAME).await;
        return Ok(());
    };
    let im = InfluxMetrics::default();
    base.metrics
        .register(|r| im.register(r.sub_registry_with_prefix("trackgate")));
    let sink = InfluxSink::new(icfg, im, base.shutdown.clone())
        .map_err(|e| StartError::Sink(e.to_string()))?;
    consumers
        .spawn(Arc::new(consumer::InfluxConsumer::new(sink, icfg)))
        .await?;
    tracing::info!(url = %icfg.url, "influx sink started");
    Ok(())
}

fn start_webhooks(cfg: &Config, base: &Base, outputs: &Outputs) -> Result<(), StartError> {
    let dispatcher = crate::sinks::webhook::Dispatcher::new(
        outputs.store.clone(),
        cfg.webhooks.clone(),
        outputs.wake.clone(),
        outputs.metrics.clone(),
    )
    .map_err(|e| StartError::Sink(format!("webhook http client: {e}")))?;
    base.tracker.spawn(dispatcher.run(base.shutdown.clone()));
    Ok(())
}

async fn start_mqtt(
    cfg: &Config,
    base: &Base,
    consumers: &Consumers,
    outputs: &Outputs,
) -> Result<(), StartError> {
    use crate::sinks::mqtt::{MqttPublisher, CONSUMER_NAME};
    let Some(mc) = &cfg.mqtt else {
        // Nothing publishes: do not let a stale position hold the log.
        consumers.unregister(CONSUMER_NAME).await;
        return Ok(());
    };
    let publisher = MqttPublisher::start(
        mc,
        outputs.store.clone(),
        outputs.metrics.clone(),
        &base.tracker,
        base.shutdown.clone(),
    )
    .await
    .map_err(|e| StartError::Sink(e.to_string()))?;
    consumers.spawn(Arc::new(publisher)).await?;
    tracing::info!(url = %mc.url, "mqtt publisher started");
    Ok(())
}

/// Tracking: a consumer that appends its ETAs and alerts back to the log, plus its timer.
async fn start_tracking(
    cfg: &Config,
    base: &Base,
    consumers: &Consumers,
) -> Result<Option<Arc<TrackingHandle>>, StartError> {
    use crate::tracking::consumer::{run_timer, TrackingConsumer};
    if !cfg.tracking.enabled {
        return Ok(None);
    }
    let stage: Arc<dyn DurableStage> = consumers.log().clone();
    let h = TrackingHandle::open(
        cfg.tracking.clone(),
        &cfg.storage.dir,
        Pipeline::new(stage),
        base.shutdown.clone(),
    )
    .map_err(|e| StartError::Sink(format!("tracking: {e}")))?;
    consumers
        .spawn(Arc::new(TrackingConsumer(h.clone())))
        .await?;
    let period = Duration::from_secs(cfg.tracking.timer_secs);
    base.tracker.spawn(run_timer(
        h.clone(),
        period,
        chrono::Utc::now,
        base.shutdown.clone(),
    ));
    Ok(Some(h))
}

/// Fleet events: the geofence store (always open, so the API can manage geofences) and,
/// unless `[events] enabled = false`, the consumer that appends the events to the log.
async fn start_fleet(
    cfg: &Config,
    base: &Base,
    consumers: &Consumers,
    registry: &Arc<crate::registry::Registry>,
    live: &Arc<LiveState>,
) -> Result<Arc<crate::fleet::FleetHandle>, StartError> {
    use crate::fleet::consumer::{FleetConsumer, CONSUMER_NAME};
    let stage: Arc<dyn DurableStage> = consumers.log().clone();
    let reg = registry.clone();
    let h = crate::fleet::FleetHandle::open_with_limits(
        cfg.events.clone(),
        &cfg.storage.dir,
        Pipeline::new(stage),
        base.shutdown.clone(),
        Some(Arc::new(move |d| {
            reg.device(d.as_str()).and_then(|x| x.speed_limit_kmh)
        })),
    )
    .map_err(|e| StartError::Sink(format!("fleet: {e}")))?;
    let fm = h.metrics.clone();
    base.metrics
        .register(|r| fm.register(r.sub_registry_with_prefix("trackgate")));
    if cfg.events.enabled && cfg.events.presence {
        base.tracker.spawn(crate::fleet::presence::watch(
            live.clone(),
            Duration::from_secs(cfg.devices.offline_after_secs),
            Pipeline::new(consumers.log().clone()),
            base.shutdown.clone(),
        ));
    }
    if cfg.events.enabled {
        consumers.spawn(Arc::new(FleetConsumer(h.clone()))).await?;
    } else {
        // Nothing derives events: do not let a stale position hold the log.
        consumers.unregister(CONSUMER_NAME).await;
    }
    Ok(h)
}
