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
                "expected a decimal number from 0 to",
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
fn config_check_compares_each_key_with_seatunnels_plugin() {
    let env = Env::new();
    let sample =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed/s3-simple.yaml");
    let report = env.json(&sample, &["config", "check"]);
    let st = &report["seatunnel_plugin"];
    assert_eq!(st["version"], "2.3.8");
    // The seed sample's bucket has no s3a://: SeaTunnel's plugin falls back to s3n.
    assert_eq!(st["hadoop"]["fs.s3n.impl.disable.cache"], "true");
    let keys = st["keys"].as_array().unwrap();
    let row = |key: &str| keys.iter().find(|k| k["key"] == key).unwrap();
    assert!(
        row("s3.bucket")["difference"]
            .as_str()
            .unwrap()
            .contains("s3a://")
    );
    assert!(row("storage.type")["difference"].is_null());
    assert_eq!(row("fs.s3a.secret.key")["value"], "<redacted>");
    assert_eq!(st["differences"], 4);
    env.ckpt(&sample)
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(
                "key by key, SeaTunnel 2.3.8's hdfs plugin and ckpt (4 differences)",
            )
            .and(predicate::str::contains("    why:       without s3a://"))
            .and(predicate::str::contains("your-secret-key").not()),
        );
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

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Issue 7, defect 1, as reported: with `max-retained: 1` and the newest file torn, `prune`
/// deleted the only readable checkpoint.
#[test]
fn prune_keeps_the_newest_readable_checkpoint_when_newer_files_are_torn() {
    let env = Env::new();
    let cfg = env.config("1", "");
    env.ckpt(&cfg)
        .args(["store", "1", "1", "1", "--from", "-"])
        .write_stdin("state one")
        .assert()
        .success();
    let torn = format!("ns/1/{}-7-1-2.ser", now_millis() + 5);
    env.write(&torn, b"");
    let latest = env.json(&cfg, &["latest", "1"]);
    assert_eq!(latest[0]["checkpoint_id"], 1);
    let pruned = env.json(&cfg, &["prune", "1"]);
    assert!(
        pruned["checkpoints"].as_array().unwrap().is_empty(),
        "pruned {pruned}"
    );
    let latest = env.json(&cfg, &["latest", "1"]);
    assert_eq!(
        latest[0]["checkpoint_id"], 1,
        "still restorable after prune"
    );
    assert_eq!(
        env.job_files("1").len(),
        2,
        "the torn file is kept for inspection"
    );
    // The next store is readable and newest: now the torn file and checkpoint 1 go.
    let stored = env.json(&cfg, &["store", "1", "1", "3", "--from", "-"]);
    assert_eq!(stored["pruned"].as_array().unwrap().len(), 2, "{stored}");
    assert_eq!(env.json(&cfg, &["latest", "1"])[0]["checkpoint_id"], 3);
}

/// Issue 7, defect 2, as reported: files dated after the writer's clock made retention delete
/// the checkpoint just stored, while the store reported Ok.
#[test]
fn a_store_is_never_pruned_by_its_own_retention() {
    let env = Env::new();
    let cfg = env.config("1", "");
    // A torn file from a writer whose clock is an hour ahead.
    let ahead = now_millis() + 3_600_000;
    env.write(&format!("ns/1/{ahead}-7-1-1.ser"), b"");
    let stored = env.json(&cfg, &["store", "1", "1", "2", "--from", "-"]);
    let path = stored["path"].as_str().unwrap();
    assert!(
        !stored["pruned"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == path),
        "the store pruned itself: {stored}"
    );
    let file = path.strip_prefix("file://").unwrap();
    assert!(std::path::Path::new(file).exists(), "{file} is gone");
    // Named after the newer file, so that restores (which order by the name) choose it.
    let name = std::path::Path::new(file)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let millis: u64 = name.split('-').next().unwrap().parse().unwrap();
    assert!(millis > ahead, "{name} sorts before {ahead}");
    assert_eq!(env.json(&cfg, &["latest", "1"])[0]["checkpoint_id"], 2);
}

/// Issue 7, defect 4: `show --states-out` into the namespace overwrote a checkpoint.
#[test]
fn show_refuses_to_write_states_into_the_namespace() {
    let env = Env::new();
    let cfg = env.config("3", "");
    let stored = env.json(&cfg, &["store", "5", "1", "1", "--from", "-"]);
    let file = stored["path"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    let before = std::fs::read(&file).unwrap();
    env.ckpt(&cfg)
        .args(["show", "5", "1", "1", "--states-out"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside the checkpoint namespace"));
    env.ckpt(&cfg)
        .args(["show", "5", "1", "1", "--states-out"])
        .arg(env.path("ns/5/new.bin"))
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "checkpoint untouched"
    );
    assert!(!env.path("ns/5/new.bin").exists());
}

/// Issue 7, defect 6: `delete` reported deletions that did not happen.
#[test]
fn delete_reports_only_what_it_deleted() {
    let env = Env::new();
    let cfg = env.config("3", "");
    env.json(&cfg, &["store", "6", "1", "1", "--from", "-"]);
    env.json(&cfg, &["store", "6", "1", "2", "--from", "-"]);
    // A missing checkpoint: nothing deleted, exit 1, said so.
    env.ckpt(&cfg)
        .args(["delete", "6", "1", "9"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("deleted").not())
        .stderr(predicate::str::contains("nothing deleted"));
    // A directory named like a checkpoint is not a checkpoint.
    std::fs::create_dir_all(env.path("ns/6/1000-1-1-4.ser")).unwrap();
    env.ckpt(&cfg)
        .args(["delete", "6", "1", "4"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing deleted"));
    assert!(env.path("ns/6/1000-1-1-4.ser").is_dir());
    // Partly present: the deleted file is named, the missing id reported, exit 1.
    let out = env
        .ckpt(&cfg)
        .args(["--json", "delete", "6", "1", "1", "8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["not_found"], serde_json::json!([8]));
    env.ckpt(&cfg)
        .args(["delete", "6", "1", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted file://"));
    // A missing job.
    env.ckpt(&cfg)
        .args(["delete", "77"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no job 77"));
}

/// Issue 7, defect 7 (last part): a namespace that is a regular file listed "no jobs", exit 0.
#[test]
fn a_namespace_that_is_a_file_is_an_error() {
    let env = Env::new();
    let cfg = env.config("3", "");
    env.write("ns", b"not a directory");
    for args in [&["jobs"][..], &["verify"], &["prune"]] {
        env.ckpt(&cfg)
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is a file, not a directory"));
    }
}

/// Issue 7, defect 9: a FIFO named like a checkpoint hung `latest` and `verify` forever.
#[test]
fn a_fifo_named_like_a_checkpoint_is_skipped() {
    let env = Env::new();
    let cfg = env.config("3", "");
    env.json(&cfg, &["store", "9", "1", "1", "--from", "-"]);
    let fifo = env.path(&format!("ns/9/{}-1-1-2.ser", now_millis() + 10));
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = |args: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ckpt"))
            .env("CKPT_HOME", env.path("home"))
            .arg("--config")
            .arg(&cfg)
            .arg("--json")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut out = String::new();
                std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
                return (status.code(), out);
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("ckpt {args:?} hangs on a FIFO");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let (code, out) = run(&["latest", "9"]);
    assert_eq!(code, Some(0), "{out}");
    let latest: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(latest[0]["checkpoint_id"], 1);
    assert!(
        latest[0]["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a regular file")
    );
    let (code, out) = run(&["verify"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not a regular file"), "{out}");
}

/// Issue 7, defect 10 (CLI parts): `--json latest` of a job without checkpoints exits 1 like
/// the table; `verify` ignores `lost+found`; out-of-range ids name the range; an unreadable job
/// directory is reported and skipped by `jobs`, `verify` and `prune`.
#[test]
fn messages_and_exit_codes_agree() {
    let env = Env::new();
    let cfg = env.config("3", "");
    let out = env
        .ckpt(&cfg)
        .args(["--json", "latest", "404"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
    env.json(&cfg, &["store", "10", "1", "1", "--from", "-"]);
    std::fs::create_dir_all(env.path("ns/lost+found")).unwrap();
    env.ckpt(&cfg).arg("verify").assert().success();
    env.ckpt(&cfg)
        .args(["show", "10", "1", "99999999999999999999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 0 to 9223372036854775807"));
    env.ckpt(&cfg)
        .args(["latest", "10", "--pipeline", "2147483648"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 0 to 2147483647"));

    env.json(&cfg, &["store", "11", "1", "1", "--from", "-"]);
    env.json(&cfg, &["store", "11", "1", "2", "--from", "-"]);
    use std::os::unix::fs::PermissionsExt;
    let locked = env.path("ns/11");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let jobs = env.without_dac_override(&cfg).arg("jobs").output().unwrap();
    let verify = env
        .without_dac_override(&cfg)
        .arg("verify")
        .output()
        .unwrap();
    let prune = env
        .without_dac_override(&cfg)
        .arg("prune")
        .output()
        .unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (what, out) in [("jobs", &jobs), ("verify", &verify), ("prune", &prune)] {
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{what}: {text}");
        assert!(
            text.contains("11") && text.contains("permission denied"),
            "{what}: {text}"
        );
        assert!(
            !text.contains("Permission denied (os error 13)"),
            "{what}: {text}"
        );
    }
    assert!(
        String::from_utf8_lossy(&jobs.stdout).contains("10"),
        "other jobs still listed"
    );
}

impl Env {
    /// The `ckpt` command subject to file permissions even when the tests run as root (as in
    /// CI): root's capabilities to bypass them are dropped from the process's bounding set.
    fn without_dac_override(&self, config: &Path) -> std::process::Command {
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--bounding-set", "-dac_override,-dac_read_search"])
                .arg(env!("CARGO_BIN_EXE_ckpt"));
            c
        } else {
            std::process::Command::new(env!("CARGO_BIN_EXE_ckpt"))
        };
        cmd.env("CKPT_HOME", self.path("home"))
            .arg("--config")
            .arg(config);
        cmd
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The configuration is validated once per command, both for a command that opens the storage
/// and for `config check` (each validation logs "storage configuration validated" at debug).
#[test]
fn configuration_is_validated_once_per_command() {
    let env = Env::new();
    let config = env.config("2", "");
    for args in [&["jobs"][..], &["config", "check"]] {
        let out = env
            .ckpt(&config)
            .arg("-vv")
            .args(args)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert_eq!(
            stderr.matches("storage configuration validated").count(),
            1,
            "{args:?}: {stderr}"
        );
    }
}

/// `type: ckpt` (ckpt's own SeaTunnel plugin) takes the `hdfs` plugin's plugin-config: the
/// command reads the seatunnel.yaml the engine runs with that plugin, on the same namespace.
#[test]
fn ckpt_storage_type_is_the_general_storage() {
    let env = Env::new();
    let hdfs_cfg = env.config("3", "/");
    let text = std::fs::read_to_string(&hdfs_cfg).unwrap();
    let ckpt_cfg = env.write(
        "ckpt.yaml",
        text.replace("type: hdfs\n", "type: ckpt\n").as_bytes(),
    );
    assert_ne!(text, std::fs::read_to_string(&ckpt_cfg).unwrap());
    let states = env.write("s.bin", b"through the plugin");
    env.ckpt(&ckpt_cfg)
        .args(["store", "77", "1", "1", "--from"])
        .arg(&states)
        .assert()
        .success();
    env.ckpt(&ckpt_cfg)
        .args(["config", "check"])
        .assert()
        .success();
    let via_hdfs = env.json(&hdfs_cfg, &["latest", "77"]);
    assert_eq!(via_hdfs[0]["checkpoint_id"], 1);
    let via_ckpt = env.json(&ckpt_cfg, &["latest", "77"]);
    assert_eq!(via_ckpt, via_hdfs);
}
