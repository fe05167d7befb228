//! Configuration validation through the `ckpt` command: `config check` fails exactly when the
//! other commands would, namespaces and misspelt keys are reported, configuration and site
//! files are read with a size cap (never from a FIFO or device), and errors speak the user's
//! terms (no internal type names, the YAML path once, duplicate keys named, JSON errors for
//! `--json`).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// A hang guard for commands that must not block (a FIFO, a device): not a speed assertion.
const HANG_GUARD: Duration = Duration::from_secs(60);

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A seatunnel.yaml with the given `storage.type` and extra plugin-config lines (each
    /// `key: value`, indented by this function).
    fn config_of(&self, storage_type: &str, plugin_lines: &[&str]) -> PathBuf {
        let mut yaml = format!(
            "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: {storage_type}\n        max-retained: 2\n        plugin-config:\n"
        );
        for line in plugin_lines {
            yaml.push_str("          ");
            yaml.push_str(line);
            yaml.push('\n');
        }
        self.write("seatunnel.yaml", &yaml)
    }

    /// The general storage on local files under this env, plus extra plugin-config lines.
    fn config(&self, extra: &[&str]) -> PathBuf {
        let namespace = format!("namespace: {}", self.path("ns").display());
        let mut lines = vec!["storage.type: local", namespace.as_str()];
        lines.extend_from_slice(extra);
        self.config_of("hdfs", &lines)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, config: &Path, args: &[&str]) -> Output {
        Command::cargo_bin("ckpt")
            .unwrap()
            .env("CKPT_HOME", self.path("home"))
            .env_remove("HADOOP_CONF_DIR")
            .arg("--config")
            .arg(config)
            .args(args)
            .timeout(HANG_GUARD)
            .output()
            .unwrap()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts exit code 2 and an error that mentions every needle; returns the error text.
fn assert_config_error(out: &Output, needles: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    err
}

fn error_line(out: &Output) -> String {
    stderr(out)
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default()
        .to_string()
}

// ---- Defect 5: one validation for all commands ----

#[test]
fn config_check_rejects_exactly_what_the_other_commands_reject() {
    let env = Env::new();
    for (key, value, accepted) in [
        ("ckpt.temp-grace", "forever", "duration"),
        ("ckpt.temp-grace", "-5s", "duration"),
        ("ckpt.checksum", "maybe", "true or false"),
        ("ckpt.retry.max-attempts", "0", "at least 1"),
        ("ckpt.retry.max-elapsed", "soon", "duration"),
        ("ckpt.hdfs.namenode.call-timeout", "soon", "duration"),
        ("ckpt.hdfs.namenode.call-timeout", "0", "longer than 0"),
    ] {
        let line = format!("{key}: \"{value}\"");
        for storage_type in ["hdfs", "localfile"] {
            let config = if storage_type == "hdfs" {
                env.config(&[&line])
            } else {
                let namespace = format!("namespace: {}", env.path("lf").display());
                env.config_of("localfile", &[&namespace, &line])
            };
            let check = env.run(&config, &["config", "check"]);
            assert!(
                !stderr(&check).contains("configuration is valid"),
                "{storage_type} {line}: {}",
                stderr(&check)
            );
            let check_err = assert_config_error(&check, &[key, value, accepted]);
            let jobs = env.run(&config, &["jobs"]);
            assert_config_error(&jobs, &[key, value]);
            assert_eq!(
                error_line(&check),
                error_line(&jobs),
                "{storage_type} {line}: config check and jobs disagree: {check_err}"
            );
        }
    }
    let good = env.config(&["ckpt.temp-grace: 5s", "ckpt.checksum: false"]);
    let out = env.run(&good, &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("configuration is valid"));
}

#[test]
fn config_check_shows_the_storage_options_it_validated() {
    let env = Env::new();
    let config = env.config(&["ckpt.temp-grace: 90s", "ckpt.checksum: false"]);
    let out = env.run(&config, &["--json", "config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["storage_options"]["checksum"], false, "{v}");
    assert_eq!(v["storage_options"]["temp_grace_ms"], 90_000, "{v}");
}

// ---- Defect 7: namespace surprises and misspelt keys ----

#[test]
fn a_relative_namespace_is_an_error_for_every_command() {
    let env = Env::new();
    for storage_type in ["hdfs", "localfile"] {
        let config = if storage_type == "hdfs" {
            env.config_of("hdfs", &["storage.type: local", "namespace: relative/ns"])
        } else {
            env.config_of("localfile", &["namespace: relative/ns"])
        };
        for args in [&["config", "check"][..], &["jobs"][..]] {
            let out = env.run(&config, args);
            assert_config_error(&out, &["namespace", "relative/ns", "absolute"]);
        }
    }
}

#[test]
fn an_empty_namespace_is_an_error_but_no_value_means_the_default() {
    let env = Env::new();
    for storage_type in ["hdfs", "localfile"] {
        for value in ["\"\"", "\"  \""] {
            let line = format!("namespace: {value}");
            let config = env.config_of(storage_type, &[&line]);
            let out = env.run(&config, &["config", "check"]);
            assert_config_error(&out, &["namespace", "empty"]);
        }
    }
    // `namespace:` with no value (the seed page's generic sample) is the default namespace.
    let config = env.config_of("hdfs", &["namespace:"]);
    let out = env.run(&config, &["--json", "config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["file_system"]["namespace"], "file:///seatunnel/checkpoint/",
        "{v}"
    );
}

#[test]
fn a_misspelt_plugin_key_warns_with_the_closest_known_key() {
    let env = Env::new();
    let config = env.config_of(
        "hdfs",
        &[
            "storage.type: local",
            &format!("namepsace: {}", env.path("ns").display()),
        ],
    );
    for args in [&["config", "check"][..], &["jobs"][..]] {
        let out = env.run(&config, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let warning = err
            .lines()
            .find(|l| l.contains("namepsace"))
            .unwrap_or_else(|| panic!("{args:?}: no warning about namepsace: {err}"));
        assert!(
            warning.starts_with("warning:") && warning.contains("did you mean namespace?"),
            "{warning}"
        );
    }
    let out = env.run(&config, &["--json", "config", "check"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("namepsace")),
        "{v}"
    );
}

#[test]
fn an_unknown_ckpt_key_is_an_error_naming_the_closest_one() {
    let env = Env::new();
    for (key, closest) in [
        ("ckpt.temp-gracee", "ckpt.temp-grace"),
        ("ckpt.checksums", "ckpt.checksum"),
        ("ckpt.retry.max-atempts", "ckpt.retry.max-attempts"),
    ] {
        let line = format!("{key}: 0s");
        for storage_type in ["hdfs", "localfile"] {
            let config = env.config_of(storage_type, &[&line]);
            for args in [&["config", "check"][..], &["jobs"][..]] {
                let out = env.run(&config, args);
                assert_config_error(&out, &[key, &format!("did you mean {closest}?")]);
            }
        }
    }
}

#[test]
fn hadoop_and_known_keys_pass_without_warning() {
    let env = Env::new();
    let config = env.config(&[
        "fs.defaultFS: file:///",
        "dfs.replication: 2",
        "fs.s3a.connection.maximum: 10",
        "hadoop.security.authentication: simple",
        "ipc.client.connect.timeout: 1000",
        "seatunnel.hadoop.dfs.client.use.datanode.hostname: true",
        "ckpt.retry.max-elapsed: 10s",
        "ckpt.hdfs.write.replay-buffer: 8M",
        "ckpt.hdfs.namenode.call-timeout: 5s",
        "ckpt.kerberos.krb5-conf: /etc/krb5.conf",
        "ckpt.checksum: true",
        "ckpt.temp-grace: 1m",
        "disable.cache: true",
    ]);
    let out = env.run(&config, &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

// ---- Issue 8 item 5: stray quotes and unimplemented proxy providers ----

const CONFIGURED_PROVIDER: &str =
    "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";

/// The seed page's HA sample as written, with its stray `"` after the provider class.
fn seed_ha_sample(env: &Env) -> PathBuf {
    let provider = format!(
        "seatunnel.hadoop.dfs.client.failover.proxy.provider.usdp-bing: {CONFIGURED_PROVIDER}\""
    );
    env.config_of(
        "hdfs",
        &[
            "storage.type: hdfs",
            "fs.defaultFS: hdfs://usdp-bing",
            "seatunnel.hadoop.dfs.nameservices: usdp-bing",
            "seatunnel.hadoop.dfs.ha.namenodes.usdp-bing: nn1,nn2",
            "seatunnel.hadoop.dfs.namenode.rpc-address.usdp-bing.nn1: usdp-bing-nn1:8020",
            "seatunnel.hadoop.dfs.namenode.rpc-address.usdp-bing.nn2: usdp-bing-nn2:8020",
            &provider,
        ],
    )
}

fn warning_about<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with("warning:") && l.contains(needle))
}

#[test]
fn the_seed_ha_sample_warns_about_its_stray_quote_in_the_provider_class() {
    let env = Env::new();
    let config = seed_ha_sample(&env);
    let out = env.run(&config, &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warning = warning_about(
        &err,
        "seatunnel.hadoop.dfs.client.failover.proxy.provider.usdp-bing",
    )
    .unwrap_or_else(|| panic!("no warning about the provider: {err}"));
    for part in [
        "ends with a stray \"",
        &format!("it is {CONFIGURED_PROVIDER} with a stray quote"),
        "would fail to load",
        "trying the configured NameNodes in order",
    ] {
        assert!(warning.contains(part), "{part:?} missing from {warning}");
    }
    assert_eq!(
        err.lines().filter(|l| l.contains("proxy.provider")).count(),
        1,
        "one warning for the key: {err}"
    );
    let out = env.run(&config, &["--json", "config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("with a stray quote")),
        "{v}"
    );
}

#[test]
fn an_unimplemented_proxy_provider_warns_naming_what_ckpt_does_instead() {
    let env = Env::new();
    let config = env.config(&[
        "seatunnel.hadoop.dfs.client.failover.proxy.provider.ns1: org.apache.hadoop.hdfs.server.namenode.ha.RequestHedgingProxyProvider",
        &format!("dfs.client.failover.proxy.provider.ns2: {CONFIGURED_PROVIDER}"),
    ]);
    let out = env.run(&config, &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warning = warning_about(&err, "RequestHedgingProxyProvider")
        .unwrap_or_else(|| panic!("no warning about the provider: {err}"));
    for part in [
        "does not implement",
        "ConfiguredFailoverProxyProvider, ObserverReadProxyProvider",
        "nameservice ns1",
        "trying the configured NameNodes in order",
    ] {
        assert!(warning.contains(part), "{part:?} missing from {warning}");
    }
    assert!(warning_about(&err, "ns2").is_none(), "{err}");
}

#[test]
fn every_command_warns_about_a_stray_quote_and_never_shows_a_secret() {
    let env = Env::new();
    let marker = "StRaYqUoTeSeCrEt";
    let secret = format!("fs.s3a.secret.key: {marker}'");
    let config = env.config(&["dfs.replication: 2\"", &secret]);
    for args in [
        &["config", "check"][..],
        &["jobs"][..],
        &["--json", "config", "check"][..],
    ] {
        let out = env.run(&config, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let warning = warning_about(&err, "dfs.replication")
            .unwrap_or_else(|| panic!("{args:?}: no warning about dfs.replication: {err}"));
        assert!(
            warning.contains("ends with an unbalanced \"") && warning.contains("(`2\"`)"),
            "{warning}"
        );
        let warning = warning_about(&err, "fs.s3a.secret.key")
            .unwrap_or_else(|| panic!("{args:?}: no warning about the secret: {err}"));
        assert!(warning.contains("not shown"), "{warning}");
        assert!(
            !err.contains(marker) && !stdout(&out).contains(marker),
            "{args:?}: {err}"
        );
    }
}

// ---- Defect 9: bounded reads of configuration and site files ----

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils) is needed for this test");
    assert!(status.success());
}

/// A sparse file of `len` bytes.
fn big_file(path: &Path, len: u64) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(len).unwrap();
}

#[test]
fn the_config_file_must_be_a_regular_file_of_bounded_size() {
    let env = Env::new();
    let out = env.run(Path::new("/dev/zero"), &["config", "check"]);
    assert_config_error(&out, &["/dev/zero", "not a regular file"]);

    let fifo = env.path("fifo.yaml");
    mkfifo(&fifo);
    let out = env.run(&fifo, &["jobs"]);
    assert_config_error(&out, &["fifo.yaml", "not a regular file"]);

    let big = env.path("big.yaml");
    big_file(&big, 17 << 20);
    let out = env.run(&big, &["config", "check"]);
    assert_config_error(&out, &["big.yaml", "16 MiB"]);

    let dir = env.path("adir.yaml");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env.run(&dir, &["config", "check"]);
    assert_config_error(&out, &["adir.yaml", "not a regular file"]);
}

#[test]
fn site_files_must_be_regular_files_of_bounded_size() {
    let env = Env::new();
    let fifo = env.path("hdfs-site-fifo.xml");
    mkfifo(&fifo);
    let big = env.path("hdfs-site-big.xml");
    big_file(&big, 17 << 20);
    for (file, needle) in [(&fifo, "not a regular file"), (&big, "16 MiB")] {
        let line = format!("hdfs_site_path: {}", file.display());
        let config = env.config_of(
            "hdfs",
            &["storage.type: hdfs", "fs.defaultFS: hdfs://nn:8020", &line],
        );
        let out = env.run(&config, &["config", "check"]);
        assert_config_error(&out, &[&file.display().to_string(), needle]);
    }
    // core-site.xml under HADOOP_CONF_DIR.
    let conf_dir = env.path("hadoop-conf");
    std::fs::create_dir_all(&conf_dir).unwrap();
    mkfifo(&conf_dir.join("core-site.xml"));
    let config = env.config_of(
        "hdfs",
        &["storage.type: hdfs", "fs.defaultFS: hdfs://nn:8020"],
    );
    let out = Command::cargo_bin("ckpt")
        .unwrap()
        .env("HADOOP_CONF_DIR", &conf_dir)
        .arg("--config")
        .arg(&config)
        .args(["config", "check"])
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    assert_config_error(&out, &["core-site.xml", "not a regular file"]);
}

// ---- Defect 10: messages ----

fn yaml_error(env: &Env, yaml: &str) -> String {
    let config = env.write("msg.yaml", yaml);
    let out = env.run(&config, &["config", "check"]);
    assert_eq!(out.status.code(), Some(2), "{yaml}: {}", stderr(&out));
    let err = error_line(&out);
    for internal in [
        "Raw", "struct", "untagged", "enum", "Scalar", "u128", "i128", "variant",
    ] {
        assert!(!err.contains(internal), "{internal:?} leaks in: {err}");
    }
    err
}

#[test]
fn errors_use_user_terms_and_name_the_path_once() {
    let env = Env::new();
    let head = "seatunnel:\n  engine:\n    checkpoint:\n";
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "      storage: [1]\n",
            "seatunnel.engine.checkpoint.storage",
            &["mapping", "line 4"],
        ),
        (
            "      storage:\n        plugin-config:\n          a: [1]\n",
            "seatunnel.engine.checkpoint.storage.plugin-config.a",
            &["text, number or boolean", "line 6"],
        ),
        (
            "      storage:\n        plugin-config: 5\n",
            "seatunnel.engine.checkpoint.storage.plugin-config",
            &["mapping"],
        ),
        (
            "      storage:\n        max-retained: 99999999999999999999\n",
            "seatunnel.engine.checkpoint.storage.max-retained",
            &["between 1 and 2147483647", "99999999999999999999", "line 5"],
        ),
        (
            "      storage:\n        max-retained: 3000000000\n",
            "seatunnel.engine.checkpoint.storage.max-retained",
            &["between 1 and 2147483647", "3000000000"],
        ),
        (
            "      interval: 99999999999999999999999\n",
            "seatunnel.engine.checkpoint.interval",
            &["between 10 and 9223372036854775807"],
        ),
        (
            "      timeout: -4\n",
            "seatunnel.engine.checkpoint.timeout",
            &["between 10 and"],
        ),
    ];
    for (body, path, needles) in cases {
        let err = yaml_error(&env, &format!("{head}{body}"));
        assert_eq!(err.matches(path).count(), 1, "{path} once in: {err}");
        for needle in *needles {
            assert!(err.contains(needle), "{needle:?} missing from: {err}");
        }
    }
    let err = yaml_error(&env, "seatunnel: 5\n");
    assert!(err.contains("mapping"), "{err}");
}

#[test]
fn duplicate_yaml_keys_are_errors_naming_key_and_line() {
    let env = Env::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        plugin-config:\n          fs.defaultFS: file:///\n          fs.defaultFS: file:///x\n",
            "fs.defaultFS",
            "line 7",
        ),
        (
            "seatunnel:\n  engine:\n    checkpoint:\n      interval: 5000\n      interval: 6000\n",
            "interval",
            "line 5",
        ),
        (
            "seatunnel:\n  engine:\n    backup-count: 1\n    backup-count: 2\n",
            "backup-count",
            "line 4",
        ),
        ("seatunnel: {}\nseatunnel: {}\n", "seatunnel", "line 2"),
    ];
    for (yaml, key, line) in cases {
        let err = yaml_error(&env, yaml);
        assert!(
            err.contains("duplicate key")
                && err.contains(&format!("{key:?}"))
                && err.contains(line),
            "{yaml}: {err}"
        );
    }
}

#[test]
fn json_argument_errors_are_json() {
    let run = |args: &[&str]| {
        Command::cargo_bin("ckpt")
            .unwrap()
            .args(args)
            .timeout(HANG_GUARD)
            .output()
            .unwrap()
    };
    for args in [
        &["--json", "jobs", "--bogus"][..],
        &["jobs", "--json", "--bogus"][..],
        &["--json"][..],
        &["--json", "show", "1"][..],
        &["--json", "bench", "--size", "lots"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)));
        assert_eq!(v["exit_code"], 2, "{v}");
        let message = v["error"].as_str().unwrap();
        assert!(!message.is_empty() && !message.starts_with("error:"), "{v}");
        assert!(!message.contains('\u{1b}'), "ANSI codes in {message:?}");
    }
    // Without --json, clap's own text; --help and --version print normally and exit 0.
    let out = run(&["jobs", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty() && stderr(&out).contains("--bogus"));
    for args in [&["--json", "--help"][..], &["--json", "--version"][..]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(serde_json::from_slice::<Value>(&out.stdout).is_err());
        assert!(!out.stdout.is_empty());
    }
    // `--json` after `--` is a value, not the flag.
    let out = run(&["show", "--", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
}

/// The file system's own configuration is part of the one validation: `config check` rejects
/// what building the file system rejects (nothing here contacts a server).
#[test]
fn config_check_rejects_what_the_file_system_rejects() {
    let env = Env::new();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "storage.type: s3",
                "s3.bucket: my-bucket",
                "fs.s3a.endpoint: http://127.0.0.1:9",
                "fs.s3a.path.style.access: maybe",
            ],
            &["fs.s3a.path.style.access", "maybe"],
        ),
        (
            &[
                "storage.type: s3",
                "s3.bucket: my-bucket",
                "fs.s3a.endpoint: http://127.0.0.1:9",
                "fs.s3a.multipart.size: huge",
            ],
            &["fs.s3a.multipart.size", "huge"],
        ),
        (
            &["storage.type: oss", "oss.bucket: my-bucket"],
            &["fs.oss.endpoint", "required"],
        ),
        (
            &["storage.type: hdfs", "fs.defaultFS: hdfs://my-nameservice"],
            &["my-nameservice", "dfs.ha.namenodes.my-nameservice"],
        ),
        (
            &["storage.type: hdfs", "fs.defaultFS: viewfs://cluster1"],
            &["fs.viewfs.mounttable.cluster1"],
        ),
        (
            &["storage.type: hdfs", "fs.defaultFS: gopher://host/"],
            &["gopher"],
        ),
    ];
    for (lines, needles) in cases {
        let config = env.config_of("hdfs", lines);
        let check = env.run(&config, &["config", "check"]);
        let err = stderr(&check);
        assert!(
            !err.contains("configuration is valid"),
            "{lines:?}: config check passed: {err}"
        );
        assert_eq!(check.status.code(), Some(2), "{lines:?}: {err}");
        for needle in *needles {
            assert!(
                err.contains(needle),
                "{lines:?}: {needle:?} missing from {err}"
            );
        }
        let jobs = env.run(&config, &["jobs"]);
        assert_eq!(check.status.code(), jobs.status.code(), "{lines:?}");
        assert_eq!(error_line(&check), error_line(&jobs), "{lines:?}");
    }
}

/// A viewfs mount table is checked through to its targets: a valid table passes `config
/// check`, a target nameservice without its HA keys fails it, as building the file system
/// would.
#[test]
fn viewfs_targets_are_checked_too() {
    let env = Env::new();
    let base = [
        "storage.type: hdfs",
        "fs.defaultFS: viewfs://c1",
        "namespace: /ckpt/ns",
    ];
    let good = [
        &base[..],
        &["fs.viewfs.mounttable.c1.link./ckpt: hdfs://nn:8020/ckpt"],
    ]
    .concat();
    let out = env.run(&env.config_of("hdfs", &good), &["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bad = [
        &base[..],
        &["fs.viewfs.mounttable.c1.link./ckpt: hdfs://lost-ns/ckpt"],
    ]
    .concat();
    let out = env.run(&env.config_of("hdfs", &bad), &["config", "check"]);
    assert_config_error(&out, &["dfs.ha.namenodes.lost-ns"]);
}
