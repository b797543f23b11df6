//! The deployment as shipped, tested without a Docker engine or a Kubernetes cluster (none
//! runs in CI): `docker-compose.yml` is valid Compose with the secrets `scripts/gen-env.sh`
//! makes and refuses to start without them, trackgate's config loads with the environment
//! Compose gives it, Mosquitto runs with its config and refuses anonymous clients, the Grafana
//! dashboard queries trackgate's InfluxDB schema, every mounted file exists, the systemd unit
//! verifies, `cargo deb` packages the binary, unit and config, and the Kubernetes manifests
//! validate against the Kubernetes schemas.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `scripts/gen-env.sh` into a fresh `.env`; returns its path and its variables.
fn gen_env() -> (tempfile::TempDir, PathBuf, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env");
    let out = run(Command::new(root().join("scripts/gen-env.sh")).arg(&file));
    assert!(out.status.success(), "gen-env: {}", text(&out.stderr));
    let vars = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect();
    (dir, file, vars)
}

fn compose(env_file: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(support::services::require("docker-compose"));
    if let Some(f) = env_file {
        cmd.arg("--env-file").arg(f);
    }
    run(cmd
        .args(["-f", "docker-compose.yml"])
        .args(args)
        .current_dir(root()))
}

/// The compose file's service blocks by name (two-space indented keys under `services:`).
fn service_blocks(compose: &str) -> BTreeMap<String, String> {
    let body = compose.split("\nservices:\n").nth(1).expect("services:");
    let body = body.split("\nvolumes:\n").next().unwrap();
    let mut blocks = BTreeMap::new();
    let mut name = None;
    for line in body.lines() {
        if let Some(n) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !n.starts_with(' ') && !n.starts_with('#') {
                name = Some(n.to_string());
                continue;
            }
        }
        if let Some(n) = &name {
            let b: &mut String = blocks.entry(n.clone()).or_default();
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

#[test]
fn gen_env_writes_fresh_random_secrets() {
    let (dir, file, a) = gen_env();
    let (_d2, _, b) = gen_env();
    let expected: Vec<String> = read(".env.example")
        .lines()
        .filter_map(|l| l.strip_suffix('='))
        .map(str::to_string)
        .collect();
    assert_eq!(a.keys().cloned().collect::<Vec<_>>(), {
        let mut e = expected.clone();
        e.sort();
        e
    });
    for (k, v) in &a {
        assert!(
            v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit()),
            "{k} = {v}"
        );
        assert_ne!(Some(v), b.get(k), "{k} repeats across runs");
    }
    let secrets: std::collections::BTreeSet<_> = a.values().collect();
    assert_eq!(secrets.len(), a.len(), "two secrets are equal");
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(a["API_TOKEN"].as_bytes())),
        a["API_TOKEN_SHA256"]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, ".env readable by others");
    // An existing .env is never overwritten.
    let out = run(Command::new(root().join("scripts/gen-env.sh")).arg(&file));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not overwriting"),
        "{}",
        text(&out.stderr)
    );
    drop(dir);
}

/// Valid Compose (`docker-compose config` parses and validates it without an engine); it
/// refuses to render without the secrets; only the ports a user needs are published.
#[test]
fn compose_file_is_valid_and_needs_the_generated_secrets() {
    let (_dir, env, vars) = gen_env();
    let out = compose(Some(&env), &["config", "-q"]);
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        text(&out.stderr)
    );
    let out = compose(Some(&env), &["config", "--services"]);
    let mut got: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["grafana", "influxdb", "mosquitto", "simulator", "trackgate"]
    );
    // Without .env: refused, saying what to do.
    let empty = tempfile::tempdir().unwrap();
    let none = empty.path().join("none.env");
    std::fs::write(&none, "").unwrap();
    let out = compose(Some(&none), &["config", "-q"]);
    assert!(!out.status.success(), "rendered without secrets");
    assert!(
        text(&out.stderr).contains("run scripts/gen-env.sh first"),
        "{}",
        text(&out.stderr)
    );
    // The secrets reach the services, and none is written in the repository.
    let rendered = text(&compose(Some(&env), &["config"]).stdout);
    for k in [
        "INFLUXDB_TOKEN",
        "MQTT_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "API_TOKEN_SHA256",
    ] {
        assert!(rendered.contains(&vars[k]), "{k} not passed to any service");
    }
    assert!(
        !rendered.contains(&vars["API_TOKEN"]),
        "the API token itself reaches a service"
    );
    let file = read("docker-compose.yml");
    for leaked in ["trackgate-dev-token", "trackgate-admin", "admin/admin"] {
        assert!(
            !file.contains(leaked),
            "default secret {leaked:?} in docker-compose.yml"
        );
    }
    let blocks = service_blocks(&file);
    assert!(!blocks["influxdb"].contains("ports:"), "InfluxDB published");
    assert!(blocks["mosquitto"].contains("ports: [\"127.0.0.1:1883:1883\"]"));
    for (name, b) in &blocks {
        if name != "simulator" {
            assert!(b.contains("healthcheck:"), "{name} has no health check");
        }
        if name != "influxdb" {
            assert!(b.contains("read_only: true"), "{name} root fs writable");
        }
    }
    assert!(blocks["mosquitto"].contains("user: \"1883:1883\""));
    assert!(read("deploy/Dockerfile").contains("\nUSER 10001:10001\n"));
}

/// trackgate starts from deploy/trackgate.toml plus the environment Compose renders for it:
/// the InfluxDB token, the MQTT password and the API token's hash all arrive.
#[test]
#[allow(clippy::result_large_err)]
fn trackgate_config_loads_with_the_compose_environment() {
    let (_dir, env, vars) = gen_env();
    let rendered = text(&compose(Some(&env), &["config"]).stdout);
    let tg_env: Vec<(String, String)> = rendered
        .lines()
        .filter_map(|l| l.trim().strip_prefix("TRACKGATE_"))
        .map(|l| {
            let (k, v) = l.split_once(": ").expect("KEY: value");
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (format!("TRACKGATE_{k}"), v.to_string())
        })
        .collect();
    assert_eq!(tg_env.len(), 3, "{tg_env:?}");
    let toml = root().join("deploy/trackgate.toml");
    figment::Jail::expect_with(|jail| {
        for (k, v) in &tg_env {
            jail.set_env(k, v);
        }
        let cfg = trackgate::config::Config::load(Some(&toml)).map_err(|e| e.to_string())?;
        let influx = cfg.influx.expect("[influx]");
        assert_eq!(influx.api, trackgate::sinks::influx::InfluxApi::V2);
        assert_eq!(influx.token.expose(), vars["INFLUXDB_TOKEN"]);
        let mqtt = cfg.mqtt.expect("[mqtt]");
        assert_eq!(mqtt.url, "mqtt://mosquitto:1883");
        assert_eq!(
            mqtt.password.as_ref().map(|p| p.expose()),
            Some(vars["MQTT_PASSWORD"].as_str())
        );
        assert!(!cfg.http.listen.ip().is_loopback());
        let t = &cfg.api.tokens;
        assert_eq!(t.len(), 1, "the API needs a token on a non-loopback listen");
        assert_eq!(
            t[0].token_sha256.as_ref().map(|h| h.expose()),
            Some(vars["API_TOKEN_SHA256"].as_str())
        );
        Ok(())
    });
}

#[test]
fn mosquitto_refuses_anonymous_clients_and_takes_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let out = run(Command::new("sh")
        .arg(root().join("deploy/mosquitto-entrypoint.sh"))
        .arg("true")
        .env("MQTT_PASSWORD", "s3cret-for-test")
        .env("MOSQUITTO_PASSWORD_FILE", &passwd));
    assert!(out.status.success(), "entrypoint: {}", text(&out.stderr));
    let port = support::services::free_port();
    let conf = read("deploy/mosquitto.conf")
        .replace(
            "listener 1883 0.0.0.0",
            &format!("listener {port} 127.0.0.1\nuser root"),
        )
        .replace("/mosquitto/run/passwd", &passwd.display().to_string());
    assert!(conf.contains(&format!("listener {port}")) && conf.contains("allow_anonymous false"));
    let _broker = support::services::mosquitto_with_config(&conf, port);
    let sub = |creds: &[&str]| {
        run(Command::new(support::services::require("mosquitto_sub"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(creds)
            .args(["-t", "$SYS/broker/uptime", "-C", "1", "-W", "5"]))
    };
    let anon = sub(&[]);
    assert!(!anon.status.success(), "anonymous client accepted");
    let wrong = sub(&["-u", "trackgate", "-P", "guess"]);
    assert!(!wrong.status.success(), "wrong password accepted");
    let ok = sub(&["-u", "trackgate", "-P", "s3cret-for-test"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("seconds"), "{}", text(&ok.stdout));
}

#[test]
fn dashboard_queries_the_schema() {
    let dash: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/trackgate.json")).unwrap();
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
    let ds = read("deploy/grafana/provisioning/datasources/influxdb.yml");
    assert!(ds.contains("uid: trackgate-influx"));
    // The token comes from the env Compose gives Grafana, not from the file.
    assert!(ds.contains("token: $INFLUXDB_TOKEN"), "{ds}");
    assert!(service_blocks(&read("docker-compose.yml"))["grafana"].contains("INFLUXDB_TOKEN:"));
}

#[test]
fn every_mounted_file_exists() {
    let compose = read("docker-compose.yml");
    let mounts: Vec<&str> = compose
        .split("\"./")
        .skip(1)
        .map(|rest| rest.split(':').next().unwrap())
        .collect();
    assert!(mounts.len() >= 5, "mounts found: {mounts:?}");
    for src in mounts {
        assert!(
            root().join(src).exists(),
            "compose mounts ./{src}, which does not exist"
        );
    }
    assert!(root().join("simulator/scenarios/demo.toml").exists());
}

#[test]
fn systemd_unit_verifies_and_is_locked_down() {
    let unit = read("deploy/trackgate.service");
    for line in [
        "DynamicUser=yes",
        "StateDirectory=trackgate",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "CapabilityBoundingSet=\n",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(line), "unit lacks {line:?}");
    }
    // No capability unless a port below 1024 is configured (then by a drop-in, see the file).
    assert!(
        !unit.lines().any(|l| l.starts_with("AmbientCapabilities")),
        "AmbientCapabilities set by default"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trackgate.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/trackgate", env!("CARGO_BIN_EXE_trackgate")),
    )
    .unwrap();
    let out = run(Command::new(support::services::require("systemd-analyze"))
        .arg("verify")
        .arg(&path));
    let err = text(&out.stderr);
    assert!(
        out.status.success() && !err.contains("trackgate.service:"),
        "systemd-analyze verify: {err}"
    );
    // The packaged config keeps its data where the unit's StateDirectory is.
    let cfg = trackgate::config::Config::from_toml(&read("deploy/trackgate.deb.toml")).unwrap();
    assert_eq!(cfg.storage.dir, Path::new("/var/lib/trackgate"));
    assert!(
        cfg.http.listen.ip().is_loopback(),
        "packaged API open without a token"
    );
    assert!(unit.contains("TRACKGATE_STORAGE__DIR=/var/lib/trackgate"));
}

/// `cargo deb` builds an installable package holding the binary, the unit and the example
/// config (as a conffile). Packaged from the binary the tests already built (`--no-build`
/// with the dev profile): the release build would add minutes to CI and test nothing more.
#[test]
fn cargo_deb_packages_the_binary_unit_and_config() {
    let cargo_deb = support::services::require("cargo-deb");
    let out_dir = tempfile::tempdir().unwrap();
    let deb = out_dir.path().join("trackgate.deb");
    let bin = Path::new(env!("CARGO_BIN_EXE_trackgate"));
    let profile = bin
        .parent()
        .and_then(|p| p.file_name())
        .unwrap()
        .to_string_lossy();
    let out = run(Command::new(&cargo_deb)
        .args(["--no-build", "--no-strip", "--fast", "-p", "trackgate"])
        .args([
            "--profile",
            if profile == "debug" { "dev" } else { &profile },
        ])
        .arg("-o")
        .arg(&deb)
        .current_dir(root()));
    assert!(out.status.success(), "cargo deb: {}", text(&out.stderr));
    let list = text(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)).stdout);
    for f in [
        "./usr/bin/trackgate",
        "./etc/trackgate/trackgate.toml",
        "/systemd/system/trackgate.service",
        "./usr/share/doc/trackgate/README.md",
        "./usr/share/doc/trackgate/copyright",
    ] {
        assert!(list.contains(f), "{f} not in the package:\n{list}");
    }
    let info = text(&run(Command::new("dpkg-deb").arg("-I").arg(&deb)).stdout);
    assert!(info.contains("Package: trackgate"), "{info}");
    assert!(info.contains("Depends:"), "{info}");
    // Installed, not enabled nor started (no maintainer scripts): configure, then
    // `systemctl enable --now trackgate`.
    assert!(info.contains("conffiles"), "{info}");
    let x = out_dir.path().join("x");
    let out = run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(x.join("etc/trackgate/trackgate.toml")).unwrap(),
        read("deploy/trackgate.deb.toml").as_bytes()
    );
    assert_eq!(
        std::fs::read(x.join("usr/bin/trackgate")).unwrap(),
        std::fs::read(bin).unwrap()
    );
}

/// Finds kubernetes-validate (installed by `.ci/services.sh` into a venv under the cache
/// directory and linked onto PATH).
fn kubernetes_validate() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(p) = cache
        .map(|c| c.join("trackgate-ci/k8s-venv/bin/kubernetes-validate"))
        .filter(|p| p.is_file())
    {
        return p;
    }
    support::services::require("kubernetes-validate")
}

#[test]
fn kubernetes_manifests_validate_against_the_schemas() {
    let dir = root().join("deploy/k8s");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    let out = run(Command::new(kubernetes_validate())
        .args(["--strict", "--quiet"])
        .args(&files));
    assert!(
        out.status.success(),
        "kubernetes-validate: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The pieces fit: probes on /healthz, the token file where the Secret is mounted, the
    // PVC where storage.dir is, and the config itself loads.
    let deployment = read("deploy/k8s/deployment.yaml");
    assert_eq!(deployment.matches("path: /healthz").count(), 3);
    assert!(deployment.contains("mountPath: /run/secrets/trackgate"));
    assert!(deployment.contains("claimName: trackgate-data"));
    assert!(deployment.contains("readOnlyRootFilesystem: true"));
    let cm = read("deploy/k8s/configmap.yaml");
    let toml: String = cm
        .split("trackgate.toml: |\n")
        .nth(1)
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let cfg = trackgate::config::Config::from_toml(&toml).expect("configmap config");
    assert_eq!(
        cfg.api.tokens[0].token_file.as_deref(),
        Some(Path::new("/run/secrets/trackgate/token"))
    );
    assert!(deployment.contains(&format!("mountPath: {}", cfg.storage.dir.display())));
}
