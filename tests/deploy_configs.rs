//! The files docker-compose.yml mounts are tested here, since no Docker engine runs in CI:
//! trackgate's config validates, Mosquitto runs with its config, the Grafana dashboard is
//! JSON that queries only measurements and fields of trackgate's InfluxDB schema, and every
//! file the compose file mounts exists.

mod support;

use std::path::Path;

fn deploy(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(file),
    )
    .unwrap_or_else(|e| panic!("deploy/{file}: {e}"))
}

#[test]
fn trackgate_config_validates() {
    let cfg = trackgate::config::Config::from_toml(&deploy("trackgate.toml")).expect("valid");
    let influx = cfg.influx.expect("[influx]");
    assert_eq!(influx.api, trackgate::sinks::influx::InfluxApi::V2);
    assert_eq!(
        (influx.org.as_str(), influx.bucket.as_str()),
        ("trackgate", "trackgate")
    );
    // The token the compose file initialises InfluxDB with.
    assert!(deploy("docker-compose.yml").contains(&format!(
        "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: {}",
        influx.token.expose()
    )));
    assert_eq!(cfg.mqtt.expect("[mqtt]").url, "mqtt://mosquitto:1883");
}

#[test]
fn mosquitto_runs_with_the_compose_config() {
    // Same file, with the listener moved to a free loopback port; the harness fails the test
    // if Mosquitto rejects the config (exits) or never listens.
    let port = support::services::free_port();
    let conf = deploy("mosquitto.conf").replace(
        "listener 1883 0.0.0.0",
        &format!("listener {port} 127.0.0.1\nuser root"),
    );
    assert!(
        conf.contains(&format!("listener {port}")),
        "listener line changed?"
    );
    let _broker = support::services::mosquitto_with_config(&conf, port);
}

#[test]
fn dashboard_queries_the_schema() {
    let dash: serde_json::Value =
        serde_json::from_str(&deploy("grafana/dashboards/trackgate.json")).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert_eq!(panels.len(), 4);
    let fields = [
        ("position", &["lat", "lon"][..]),
        ("eta", &["deviation"][..]),
        ("event", &["message"][..]),
    ];
    for p in panels {
        let q = p["targets"][0]["query"].as_str().unwrap();
        assert!(q.contains("from(bucket: \"trackgate\")"), "{q}");
        let (m, fs) = fields
            .iter()
            .find(|(m, _)| q.contains(&format!("r._measurement == \"{m}\"")))
            .unwrap_or_else(|| panic!("panel queries no known measurement: {q}"));
        assert!(
            fs.iter()
                .any(|f| q.contains(&format!("r._field == \"{f}\""))),
            "{m}: {q}"
        );
        assert_eq!(p["datasource"]["uid"], "trackgate-influx");
    }
    assert!(
        deploy("grafana/provisioning/datasources/influxdb.yml").contains("uid: trackgate-influx")
    );
}

#[test]
fn every_mounted_file_exists() {
    let compose = deploy("docker-compose.yml");
    let mounts: Vec<&str> = compose
        .split("\"./")
        .skip(1)
        .map(|rest| rest.split(':').next().unwrap())
        .collect();
    assert!(mounts.len() >= 4, "mounts found: {mounts:?}");
    for src in mounts {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("deploy")
                .join(src)
                .exists(),
            "compose mounts ./{src}, which does not exist"
        );
    }
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("simulator/scenarios/demo.toml")
        .exists());
}

/// The compose file itself is valid Compose (services, keys, mounts syntax): `docker-compose
/// config -q` parses and validates it without a Docker engine. A typo in a key fails here.
#[test]
fn compose_file_is_valid_compose() {
    let bin = support::services::require("docker-compose");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let out = std::process::Command::new(bin)
        .args(["-f", "docker-compose.yml", "config", "-q"])
        .current_dir(&dir)
        .output()
        .expect("docker-compose runs");
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(support::services::require("docker-compose"))
        .args(["-f", "docker-compose.yml", "config", "--services"])
        .current_dir(&dir)
        .output()
        .expect("docker-compose runs");
    let services = String::from_utf8_lossy(&out.stdout);
    let mut got: Vec<&str> = services.lines().collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["grafana", "influxdb", "mosquitto", "simulator", "trackgate"]
    );
}
