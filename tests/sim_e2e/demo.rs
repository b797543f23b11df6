//! The demo: gateway in-process, fleet with twisted plans, exceptions and arrivals.

use crate::sim;
use crate::support::{eventually, gateway};
use serde_json::Value;
use std::time::Duration;

/// `/api/events?type=…&shipment=…` items (the alert bodies webhooks also get).
async fn events(api: &str, kind: &str) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{api}/api/events"))
        .query(&[("type", kind), ("limit", "1000")])
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    v["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_shows_devices_etas_arrivals_and_late_and_off_route_exceptions() {
    let args = sim::demo::DemoArgs {
        http: "127.0.0.1:0".parse().expect("addr"),
        data: Some(gateway::temp_dir("demo")),
        devices: Some(8),
        speedup: Some(120.0),
        duration: None,
        summary: 0.0,
    };
    let d = sim::demo::start(&args).await.expect("demo starts");
    let api = d.scenario.api.url.clone();
    // Shipment ids in fleet order, as the fleet builds them (`sim-<device id>`).
    let fleet: Vec<String> = d
        .scenario
        .assign_kinds()
        .iter()
        .enumerate()
        .map(|(index, k)| {
            let imei = sim::proto::imei(&d.scenario.imei_prefix, index as u64 + 1);
            let p = (k.build)(&sim::proto::Identity { imei, index }).expect("builds");
            format!("sim-{}", p.device_id())
        })
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(sim::demo::run(d, 0.0, async move {
        let _ = stop_rx.await;
    }));

    // Twists by index (shipments::Twist::for_index): 1 and 5 late, 3 and 7 off route.
    // Trucks reach their midway depot after 25–35 simulated minutes (13–18 s at 120x).
    let (late, off, arrived) = eventually(
        Duration::from_secs(90),
        "late, off_route and arrived events",
        async || {
            let late = events(&api, "late").await;
            let off = events(&api, "off_route").await;
            let arrived = events(&api, "arrived").await;
            if !late.is_empty() && !off.is_empty() && !arrived.is_empty() {
                Ok((late, off, arrived))
            } else {
                Err(format!(
                    "{} late, {} off_route, {} arrived",
                    late.len(),
                    off.len(),
                    arrived.len()
                ))
            }
        },
    )
    .await;
    // Trucks stop at their midway depot, so the tracker sees them arrive there.
    assert!(
        arrived.iter().any(|e| e["stop"] == "mid"),
        "no arrival at a midway depot: {arrived:?}"
    );
    let shipments_of = |ev: &[Value]| -> std::collections::BTreeSet<String> {
        ev.iter()
            .filter_map(|e| e["shipment"].as_str().map(str::to_string))
            .collect()
    };
    let (late, off) = (shipments_of(&late), shipments_of(&off));
    assert!(
        !late.is_empty() && !off.is_empty(),
        "late {late:?} off {off:?}"
    );

    // Only the twisted plans raise them; fair plans stay quiet.
    let shipments: Vec<Value> = reqwest::get(format!("{api}/api/shipments"))
        .await
        .expect("shipments")
        .json()
        .await
        .expect("json");
    assert_eq!(shipments.len(), 8, "one shipment per truck");
    let index_of = |sid: &str| fleet.iter().position(|f| f == sid);
    for s in &late {
        assert_eq!(index_of(s).map(|i| i % 4), Some(1), "late raised for {s}");
    }
    for s in &off {
        assert_eq!(
            index_of(s).map(|i| i % 4),
            Some(3),
            "off_route raised for {s}"
        );
    }
    // Every truck is listed live and every shipment has ETAs for its stops.
    let devices: Vec<Value> = reqwest::get(format!("{api}/api/devices"))
        .await
        .expect("devices")
        .json()
        .await
        .expect("json");
    assert_eq!(devices.len(), 8, "{devices:?}");
    for s in &shipments {
        assert!(
            s["stops"]
                .as_array()
                .is_some_and(|st| st.iter().all(|x| x["eta"].is_string())),
            "{s}"
        );
    }
    let _ = stop_tx.send(());
    let report = run.await.expect("joins").expect("demo runs");
    assert_eq!(report.stats.bad_acks, 0, "{:?}", report.stats);
}
