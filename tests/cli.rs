//! End-to-end tests of the `ckpt` command on local storage.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

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

    /// Writes a seatunnel.yaml for the general storage on local files under this env.
    fn config(&self, max_retained: &str, namespace_suffix: &str) -> PathBuf {
        let yaml = format!(
            "seatunnel:\n  engine:\n    checkpoint:\n      interval: 6000\n      timeout: 7000\n      storage:\n        type: hdfs\n        max-retained: {max_retained}\n        plugin-config:\n          storage.type: local\n          fs.defaultFS: file:///\n          namespace: {}{namespace_suffix}\n          ckpt.temp-grace: 0s\n",
            self.path("ns").display()
        );
        self.write("seatunnel.yaml", yaml.as_bytes())
    }

    fn write(&self, rel: &str, data: &[u8]) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        p
    }

    fn ckpt(&self, config: &Path) -> Command {
        let mut cmd = Command::cargo_bin("ckpt").unwrap();
        cmd.env("CKPT_HOME", self.path("home"))
            .arg("--config")
            .arg(config);
        cmd
    }

    fn json(&self, config: &Path, args: &[&str]) -> Value {
        let out = self.ckpt(config).arg("--json").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn job_files(&self, job: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("ns").join(job))
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

#[test]
fn demo_runs_on_the_embedded_default() {
    let env = Env::new();
    let out = Command::cargo_bin("ckpt")
        .unwrap()
        .env("CKPT_HOME", env.path("home"))
        .args(["--json", "demo", "--interval-ms", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["all_states_match"], true);
    assert_eq!(report["stored"], 36);
    assert_eq!(report["pruned"], 18);
    assert_eq!(report["skipped"], 1);
    assert!(env.path("home/checkpoint/900002").is_dir());
    // Tables for people too.
    Command::cargo_bin("ckpt")
        .unwrap()
        .env("CKPT_HOME", env.path("home"))
        .args(["demo", "--interval-ms", "1", "--rounds", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "fell back to its previous checkpoint",
        ));
    // The damaged file is still there for inspection and verify reports it.
    Command::cargo_bin("ckpt")
        .unwrap()
        .env("CKPT_HOME", env.path("home"))
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("corrupt"));
}

#[test]
fn store_list_latest_show_delete_prune() {
    let env = Env::new();
    // The namespace has no trailing slash: it is normalised.
    let cfg = env.config("2", "");
    let states = env.write("states.bin", b"engine bytes \x00\x01\x02");
    for checkpoint in ["1", "2", "3"] {
        env.ckpt(&cfg)
            .args(["store", "123", "1", checkpoint, "--from"])
            .arg(&states)
            .assert()
            .success()
            .stdout(predicate::str::contains("stored file://"));
    }
    env.ckpt(&cfg)
        .args(["store", "123", "2", "9", "--from", "-"])
        .write_stdin("from stdin")
        .assert()
        .success();
    assert_eq!(
        env.job_files("123").len(),
        3,
        "max-retained 2 for pipeline 1 plus one for pipeline 2"
    );

    let listed = env.json(&cfg, &["list", "123"]);
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"]["checkpoint_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![9, 3, 2], "newest first");

    let jobs = env.json(&cfg, &["jobs"]);
    assert_eq!(jobs[0]["job_id"], "123");
    assert_eq!(jobs[0]["checkpoints"], 3);

    let latest = env.json(&cfg, &["latest", "123"]);
    assert_eq!(latest.as_array().unwrap().len(), 2);
    assert_eq!(latest[0]["checkpoint_id"], 3);
    assert_eq!(latest[0]["integrity"], "verified");

    let out = env.path("out.bin");
    env.ckpt(&cfg)
        .args(["show", "123", "1", "3", "--states-out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("CRC32C"));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&states).unwrap()
    );
    env.ckpt(&cfg)
        .args(["show", "123", "2", "9", "--states-out", "-"])
        .assert()
        .success()
        .stdout("from stdin");

    env.ckpt(&cfg)
        .args(["show", "123", "1", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "No checkpoint found, job(123), pipeline(1), checkpoint(1)",
        ));

    env.ckpt(&cfg)
        .args(["delete", "123", "1", "2"])
        .assert()
        .success();
    assert_eq!(env.job_files("123").len(), 2);
    env.ckpt(&cfg)
        .args(["delete", "123", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("name the checkpoints"));

    // A leftover temp file from a crashed writer is removed by prune (grace 0 in this config).
    env.write("ns/123/1000000000000-1-1-7.sertmp", b"partial");
    let pruned = env.json(&cfg, &["prune"]);
    assert_eq!(pruned["temp_files"].as_array().unwrap().len(), 1);
    assert_eq!(env.job_files("123").len(), 2);

    env.ckpt(&cfg).args(["delete", "123"]).assert().success();
    assert!(env.job_files("123").is_empty());
}

#[test]
fn bad_files_are_skipped_and_reported_without_losing_checkpoints() {
    let env = Env::new();
    let cfg = env.config("5", "/");
    let states = env.write("states.bin", &[7u8; 300]);
    for checkpoint in ["1", "2", "3"] {
        env.ckpt(&cfg)
            .args(["store", "77", "1", checkpoint, "--from"])
            .arg(&states)
            .assert()
            .success();
    }
    let files = env.job_files("77");
    let newest = files
        .iter()
        .max_by_key(|n| n.split('-').next().unwrap().parse::<u64>().unwrap())
        .unwrap()
        .clone();
    let second = env.json(&cfg, &["list", "77"])[1]["path"]
        .as_str()
        .unwrap()
        .to_string();
    // Truncate the newest, empty the second newest, add a foreign file.
    let newest_path = env.path("ns/77").join(&newest);
    let data = std::fs::read(&newest_path).unwrap();
    std::fs::write(&newest_path, &data[..data.len() / 2]).unwrap();
    std::fs::write(second.trim_start_matches("file://"), b"").unwrap();
    env.write("ns/77/README.txt", b"not a checkpoint");

    let latest = env.json(&cfg, &["latest", "77", "--pipeline", "1"]);
    assert_eq!(latest[0]["checkpoint_id"], 1);
    assert_eq!(latest[0]["skipped"].as_array().unwrap().len(), 2);
    let reasons = latest[0]["skipped"].to_string();
    assert!(
        reasons.contains("empty") && reasons.contains("truncated"),
        "{reasons}"
    );

    let out = env.ckpt(&cfg).args(["--json", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["clean"], false);
    let statuses: Vec<&str> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "corrupt").count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == "foreign").count(), 1);
    // Nothing was deleted by reading, restoring or verifying.
    assert_eq!(env.job_files("77").len(), 4);
}

#[test]
fn config_errors_name_file_key_and_line() {
    let env = Env::new();
    let bad_yaml = env.write("bad.yaml", b"seatunnel:\n  engine:\n    checkpoint: [\n");
    env.ckpt(&bad_yaml)
        .arg("jobs")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml").and(predicate::str::contains("line")));

    let wrong_type = env.write(
        "type.yaml",
        b"seatunnel:\n  engine:\n    checkpoint:\n      interval: often\n",
    );
    env.ckpt(&wrong_type)
        .arg("config")
        .arg("check")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("seatunnel.engine.checkpoint.interval")
                .and(predicate::str::contains("line 4")),
        );

    let zero = env.write(
        "zero.yaml",
        b"seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: hdfs\n        max-retained: 0\n",
    );
    env.ckpt(&zero)
        .arg("jobs")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max-retained").and(predicate::str::contains("line 6")));

    let unknown_plugin = env.write(
        "plugin.yaml",
        b"seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: kafka\n",
    );
    env.ckpt(&unknown_plugin)
        .arg("jobs")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown checkpoint storage type \"kafka\"")
                .and(predicate::str::contains("hdfs, localfile")),
        );

    let unknown_fs = env.write(
        "fs.yaml",
        b"seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: hdfs\n        plugin-config:\n          storage.type: ftp\n",
    );
    env.ckpt(&unknown_fs).arg("jobs").assert().code(2).stderr(
        predicate::str::contains("storage.type")
            .and(predicate::str::contains("local, hdfs, s3, oss")),
    );

    let missing = env.path("nope.yaml");
    env.ckpt(&missing)
        .arg("jobs")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.yaml"));

    let unknown_key = env.write(
        "warn.yaml",
        b"seatunnel:\n  engine:\n    checkpoint:\n      intervall: 5\n",
    );
    env.ckpt(&unknown_key)
        .args(["config", "check"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "unknown key seatunnel.engine.checkpoint.intervall",
        ));
}

#[test]
fn ids_that_could_escape_are_refused() {
    let env = Env::new();
    let cfg = env.config("3", "/");
    let states = env.write("states.bin", b"x");
    for args in [
        vec!["store", "../1", "1", "1", "--from"],
        vec!["store", "1", "../1", "1", "--from"],
        vec!["store", "1", "1", "-1", "--from"],
    ] {
        env.ckpt(&cfg)
            .args(&args)
            .arg(&states)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "expected a non-negative decimal number",
            ));
    }
    env.ckpt(&cfg)
        .args(["delete", "../../etc"])
        .assert()
        .code(2);
    env.ckpt(&cfg).args(["list", "1/2"]).assert().code(2);
    assert!(!env.path("ns").exists() || std::fs::read_dir(env.path("ns")).unwrap().count() == 0);
    let out = env
        .ckpt(&cfg)
        .args(["--json", "list", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(err["error"].as_str().unwrap().contains("invalid job id"));
}

#[test]
fn config_check_redacts_secrets() {
    let env = Env::new();
    let cfg = env.write(
        "s3.yaml",
        b"seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: hdfs\n        max-retained: 3\n        plugin-config:\n          storage.type: s3\n          s3.bucket: your-bucket\n          fs.s3a.access.key: AKIAVERYSECRET\n          fs.s3a.secret.key: wJalrXUtnFEMI/K7MDENG\n          fs.s3a.aws.credentials.provider: org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider\n",
    );
    for json in [false, true] {
        let mut cmd = env.ckpt(&cfg);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.args(["config", "check"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("AKIAVERYSECRET") && !text.contains("wJalrXUtnFEMI"),
            "{text}"
        );
        assert!(
            text.contains("<redacted>") && text.contains("s3a://your-bucket/"),
            "{text}"
        );
    }
}

#[test]
fn localfile_storage_type_uses_its_namespace() {
    let env = Env::new();
    let yaml = format!(
        "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: localfile\n        plugin-config:\n          namespace: {}/legacy/\n",
        env.path("").display()
    );
    let cfg = env.write("legacy.yaml", yaml.as_bytes());
    let states = env.write("s.bin", b"legacy");
    env.ckpt(&cfg)
        .args(["store", "5", "1", "1", "--from"])
        .arg(&states)
        .assert()
        .success();
    assert!(env.path("legacy/5").is_dir());
    let latest = env.json(&cfg, &["latest", "5"]);
    assert_eq!(latest[0]["checkpoint_id"], 1);
}

#[test]
fn bench_reports_store_and_restore() {
    let env = Env::new();
    let cfg = env.config("3", "/");
    let report = env.json(
        &cfg,
        &[
            "bench",
            "--size",
            "4K",
            "--pipelines",
            "2",
            "--checkpoints",
            "5",
        ],
    );
    assert_eq!(report["phases"][0]["operation"], "store");
    assert_eq!(report["phases"][0]["count"], 10);
    assert_eq!(report["phases"][1]["count"], 10);
    assert!(report["phases"][1]["p50_ms"].as_f64().unwrap() >= 0.0);
    assert!(
        env.job_files("990000000000000001").is_empty(),
        "the bench cleans up after itself"
    );
    env.ckpt(&cfg)
        .args(["bench", "--size", "lots"])
        .assert()
        .code(2);
}
