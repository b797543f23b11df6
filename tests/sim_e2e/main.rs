//! The fleet simulator end to end, one test binary (the simulator's sources are compiled in
//! once, see below) with a file per subject:
//! - `smoke`: the smoke scenario (GT06, Teltonika TCP/UDP, JT/T 808 2013/2019) against an
//!   in-process gateway on port 0 that writes to a real InfluxDB and publishes to a real
//!   Mosquitto: every fix ACKed, backlog uploaded, API and retained MQTT positions are the
//!   newest ACKed fix, InfluxDB holds exactly one point per ACKed fix and ETA points.
//! - `kinds`: h02, gps103, osmand (HTTP) and owntracks (MQTT, real Mosquitto).
//! - `wialon`: the Wialon IPS kind (live `#D#`, black box backlog, pings).
//! - `demo`: the demo (gateway + fleet with twisted plans) shows arrivals, late and
//!   off-route exceptions.
//! - `load`: the load harness against the gateway and its baseline servers.
//! - `commands`: the fleet answers downlink commands queued through the API.
//!
//! Needs `influxd` and `mosquitto` on PATH: `.ci/services.sh install`.

#[path = "../support/mod.rs"]
mod support;

// The simulator crate's sources, compiled into this test (the gateway package cannot depend
// on the workspace member that depends on it); they only use `super::` paths for this reason.
#[path = "../../simulator/src/lib.rs"]
#[allow(dead_code)]
mod sim;

mod commands;
mod demo;
mod kinds;
mod load;
mod smoke;
mod wialon;

use std::path::Path;
use trackgate::server::Running;

/// Loads `simulator/scenarios/<file>` with each `(target key, protocol, transport)` pointed
/// at the gateway's listener and the API at the gateway's.
fn scenario_for(
    gw: &Running,
    file: &str,
    targets: &[(&str, &str, &'static str)],
) -> sim::scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("simulator/scenarios")
        .join(file);
    let mut sc =
        sim::scenario::Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (key, proto, transport) in targets {
        let addr = gw.addr(proto, transport).expect("listener bound");
        sc.targets.insert((*key).into(), addr);
    }
    sc.api.url = format!("http://{}", gw.http_addr);
    sc
}

/// Runs the scenario to its end and returns the report with the distinct device kinds.
async fn run_fleet(sc: &sim::scenario::Scenario) -> (sim::fleet::Report, Vec<&'static str>) {
    let report = sim::fleet::run(sc, std::future::pending())
        .await
        .expect("scenario runs");
    let kinds: std::collections::BTreeSet<_> = report.devices.iter().map(|d| d.kind).collect();
    (report, kinds.into_iter().collect())
}
