//! Compatibility with SeaTunnel's Zeta engine 2.3.8 itself (issue 9 item 2): the engine embedded
//! in local mode (compat-engine's `EngineRun`: a Hazelcast member on 127.0.0.1 plus a
//! `SeaTunnelClient`) runs a streaming FakeSource -> Console job with its `hdfs` checkpoint
//! plugin on local disk and on a MiniDFSCluster, and is halted (a crash; a cancel would delete
//! the checkpoints). Then `ckpt` reads what the engine wrote (`jobs`, `list`, `latest`, `show`
//! agree with the files and with SeaTunnel's plugin; `verify` is clean), stores a newer
//! checkpoint holding the engine's own state bytes and prunes; the engine restores the job with
//! the same id from ckpt's checkpoint and continues. Last, the engine's newest file is truncated:
//! the engine's restore refuses it, and `ckpt latest` names it and picks the previous one.

mod common;

use std::path::{Path as StdPath, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use ckpt::fs::{FileSystem, Path};
use common::hdfs_env::{self, HdfsEnv};
use common::java_peer::{self, JavaPlugin, Seen, sha256};
use serde_json::Value;

/// Longer than EngineRun's own 120 s wait: it only cuts a JVM that hangs before it.
const ENGINE_LIMIT: Duration = Duration::from_secs(180);

/// Where the engine's checkpoints go, seen by the engine, by SeaTunnel's plugin and by ckpt.
struct Storage {
    /// The plugin-config (`namespace`, `fs.defaultFS`, `hdfs_site_path`...).
    plugin: Vec<(&'static str, String)>,
    /// The namespace as a ckpt path.
    namespace: Path,
    /// ckpt's file system on it.
    fs: Arc<dyn FileSystem>,
}

impl Storage {
    fn value(&self, key: &str) -> &str {
        self.plugin
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key}"))
    }
}

/// The engine, in one work directory.
struct Engine {
    cp: String,
    work: PathBuf,
    job: String,
}

impl Engine {
    /// Runs `EngineRun MODE...`; its JSON line, with its exit code and stderr's tail on failure.
    fn run(&self, storage: &Storage, mode: &[&str]) -> (i32, Value) {
        let mut cmd = Command::new("java");
        cmd.args([
            "-Djava.net.preferIPv4Stack=true",
            "-Xmx512m",
            "-cp",
            &self.cp,
        ])
        .arg("ckpt.compat.EngineRun")
        .args(mode)
        .arg(&self.work)
        .arg(&self.job)
        .arg(storage.value("namespace"))
        .arg(storage.value("fs.defaultFS"));
        for (k, v) in &storage.plugin {
            if *k != "namespace" && *k != "fs.defaultFS" && *k != "storage.type" {
                cmd.arg(format!("{k}={v}"));
            }
        }
        let out =
            java_peer::output_within(&mut cmd, ENGINE_LIMIT).unwrap_or_else(|e| panic!("{e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| {
                panic!(
                    "EngineRun {mode:?} printed no JSON line (exit {:?}): {stdout}\n{}",
                    out.status,
                    java_peer::tail(&stderr, 40)
                )
            });
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let code = out.status.code().unwrap_or(-1);
        if code == 2 || code == 3 {
            panic!(
                "EngineRun {mode:?}: {value}\n{}",
                java_peer::tail(&stderr, 40)
            );
        }
        (code, value)
    }
}

/// The `ckpt` command with a seatunnel.yaml naming the same storage (`max-retained: 1`).
struct Ckpt {
    config: PathBuf,
}

impl Ckpt {
    fn new(dir: &StdPath, storage: &Storage) -> Ckpt {
        let plugin: String = storage
            .plugin
            .iter()
            .map(|(k, v)| format!("          {k}: \"{v}\"\n"))
            .collect();
        let config = dir.join("ckpt.yaml");
        std::fs::write(
            &config,
            format!(
                "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: hdfs\n        \
                 max-retained: 1\n        plugin-config:\n{plugin}"
            ),
        )
        .unwrap();
        Ckpt { config }
    }

    /// Exit code and the JSON it printed.
    fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_ckpt"))
            .arg("--config")
            .arg(&self.config)
            .arg("--json")
            .args(args)
            .output()
            .expect("ckpt runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "ckpt {args:?}: {e}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), value)
    }

    fn must(&self, args: &[&str]) -> Value {
        let (code, value) = self.run(args);
        assert_eq!(code, 0, "ckpt {args:?}: {value}");
        value
    }

    /// `(checkpoint id, path)` of `list JOB`, newest first.
    fn list(&self, job: &str) -> Vec<(i64, String)> {
        self.must(&["list", job])
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"]["checkpoint_id"].as_i64().unwrap(),
                    e["path"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// `.ser` files of the job directory on storage, by name.
fn files_on_storage(storage: &Storage, job: &str) -> Vec<String> {
    let dir = storage.namespace.join(job).unwrap();
    let mut names: Vec<String> = block_on(storage.fs.list_status(&dir))
        .unwrap_or_else(|e| panic!("listing {dir}: {e}"))
        .into_iter()
        .map(|s| s.path.name().to_string())
        .filter(|n| n.ends_with(".ser") && !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// One runtime for the binary: ckpt's file systems live as long as the tests.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
    .block_on(f)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The whole cycle on one storage.
fn engine_cycle(storage: &Storage, dir: &StdPath, job: &str) {
    let Some(engine_cp) = java_peer::classpath("compat-engine") else {
        return;
    };
    let Some(plugin_cp) = common::compat_peer::classpath() else {
        return;
    };
    let engine = Engine {
        cp: engine_cp,
        work: dir.join("engine"),
        job: job.to_string(),
    };
    let java = JavaPlugin::new(&plugin_cp, "hdfs", dir, &storage.plugin);
    let ckpt = Ckpt::new(dir, storage);

    // 1. The engine runs the job until it has completed 3 checkpoints, then crashes.
    let (code, ran) = engine.run(storage, &["run", "3"]);
    assert_eq!(code, 0, "{ran}");
    assert_eq!(ran["status"], "RUNNING", "{ran}");
    assert!(ran["latest"].as_i64().unwrap() >= 3, "{ran}");

    // 2. ckpt reads what the engine wrote, in agreement with the files and SeaTunnel's plugin.
    let jobs = ckpt.must(&["jobs"]);
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["job_id"], job);
    assert_eq!(jobs[0]["pipelines"], serde_json::json!([1]));
    let listed = ckpt.list(job);
    let mut listed_names: Vec<String> = listed
        .iter()
        .map(|(_, p)| file_name(p).to_string())
        .collect();
    listed_names.sort();
    assert_eq!(
        listed_names,
        files_on_storage(storage, job),
        "list vs the files"
    );
    assert_eq!(
        jobs[0]["checkpoints"].as_u64().unwrap() as usize,
        listed.len()
    );
    let java_all = java.states(&["all", job]);
    let mut java_ids: Vec<i64> = java_all.iter().map(|s| s.checkpoint).collect();
    java_ids.sort_unstable_by(|a, b| b.cmp(a));
    let ids: Vec<i64> = listed.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        ids, java_ids,
        "ckpt's list vs the plugin's getAllCheckpoints"
    );
    let newest = ids[0];
    assert!(newest >= ran["latest"].as_i64().unwrap());

    let latest = ckpt.must(&["latest", job]);
    assert_eq!(latest[0]["checkpoint_id"], newest, "{latest}");
    assert_eq!(latest[0]["skipped"], serde_json::json!([]), "{latest}");
    assert_eq!(latest[0]["path"].as_str(), Some(listed[0].1.as_str()));
    let java_latest = java.states(&["latest", job, "1"]);
    assert_eq!(java_latest.len(), 1, "{java_latest:?}");
    assert_eq!(java_latest[0].checkpoint, newest);

    let states_file = dir.join("engine-states.bin");
    let shown = ckpt.must(&[
        "show",
        job,
        "1",
        &newest.to_string(),
        "--states-out",
        &states_file.display().to_string(),
    ]);
    assert_eq!(shown["checkpoint_id"], newest);
    let states = std::fs::read(&states_file).unwrap();
    assert_eq!(
        Seen {
            job: job.to_string(),
            pipeline: 1,
            checkpoint: newest,
            states: Some((states.len(), sha256(&states))),
        },
        java_latest[0],
        "ckpt's show vs the plugin's getLatestCheckpointByJobIdAndPipelineId"
    );
    assert!(!states.is_empty());
    let verified = ckpt.must(&["verify"]);
    assert_eq!(verified["clean"], true, "{verified}");

    // 3. ckpt stores a newer checkpoint (the engine's own state bytes) and prunes.
    let ours = newest + 100;
    ckpt.must(&[
        "store",
        job,
        "1",
        &ours.to_string(),
        "--from",
        &states_file.display().to_string(),
    ]);
    ckpt.must(&["prune", job]);
    let after_prune = ckpt.list(job);
    assert_eq!(
        after_prune.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![ours],
        "max-retained 1 leaves ckpt's checkpoint only"
    );

    // 4. The engine restores the job with the same id from ckpt's checkpoint and continues:
    // its checkpoint counter goes on from ckpt's id (the engine takes it from the file's
    // checkpoint id; the task states inside still say the engine's own id).
    let (code, restored) = engine.run(storage, &["restore"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(restored["status"], "RUNNING", "{restored}");
    assert_eq!(restored["offered"]["checkpoint"], ours, "{restored}");
    assert_eq!(
        restored["offered"]["inner_checkpoint"], newest,
        "{restored}"
    );
    assert_eq!(restored["first_new"], ours + 1, "{restored}");
    assert_eq!(
        java.states(&["latest", job, "1"])[0].checkpoint,
        ckpt.list(job)[0].0,
        "after the restore, ckpt and the plugin agree on the newest"
    );

    // 5. Corrupt the engine's newest file (cut it in half): the engine's own restore fails on
    // it; ckpt's latest names it and picks the previous checkpoint.
    let listed = ckpt.list(job);
    assert!(listed.len() >= 2, "{listed:?}");
    let (corrupt_id, corrupt_path) = listed[0].clone();
    let previous = listed[1].0;
    assert!(corrupt_id > ours, "{listed:?}");
    let corrupt = Path::parse(&corrupt_path).unwrap();
    let bytes = block_on(storage.fs.read(&corrupt)).unwrap();
    let cut = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
    let local = storage.value("fs.defaultFS").starts_with("file:");
    if local {
        // In place, as a disk error would (Hadoop's sidecar stays as it was).
        std::fs::OpenOptions::new()
            .write(true)
            .open(corrupt.path())
            .and_then(|f| f.set_len(cut.len() as u64))
            .unwrap();
    } else {
        block_on(storage.fs.write(&corrupt, cut, true)).unwrap();
    }
    let (code, refused) = engine.run(storage, &["restore"]);
    assert_eq!(
        code, 1,
        "the engine restored from a truncated file: {refused}"
    );
    assert_eq!(refused["status"], "SUBMIT_FAILED", "{refused}");
    let error = refused["error"].as_str().unwrap_or_default();
    if local {
        // Hadoop's checksumming local file system refuses the read (the sidecar disagrees) and
        // the plugin's exception names the file.
        assert!(
            error.contains(file_name(&corrupt_path)),
            "the engine's error names the file: {refused}"
        );
    } else {
        // On HDFS the bytes read fine and the engine's deserializer fails on them; its error
        // does not say which file (ckpt's does, below).
        assert!(
            error.contains("Reading from a byte array"),
            "the engine's deserializer refused the file: {refused}"
        );
    }

    let latest = ckpt.must(&["latest", job]);
    assert_eq!(latest[0]["checkpoint_id"], previous, "{latest}");
    let skipped = latest[0]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{latest}");
    assert_eq!(skipped[0]["path"].as_str(), Some(corrupt_path.as_str()));
    let (code, verified) = ckpt.run(&["verify"]);
    assert_eq!(code, 1, "verify finds the truncated file: {verified}");
}

/// A fresh namespace on local disk with the plugin's `fs.defaultFS: file:///`.
fn local_storage(dir: &StdPath) -> Storage {
    let ns = format!("{}/ns/", dir.display());
    let namespace = Path::parse(&format!("file://{ns}")).unwrap();
    let fs = block_on(
        ckpt::fs::FileSystemRegistry::with_builtins()
            .get(&namespace, &ckpt::conf::Configuration::new()),
    )
    .unwrap();
    Storage {
        plugin: vec![
            ("storage.type", "hdfs".into()),
            ("fs.defaultFS", "file:///".into()),
            ("namespace", ns),
        ],
        namespace,
        fs,
    }
}

#[test]
fn engine_on_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    let storage = local_storage(dir.path());
    engine_cycle(&storage, dir.path(), "733912283451392001");
}

static SINGLE: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();

#[test]
fn engine_on_a_minidfscluster() {
    let Some(env) = hdfs_env::shared(&SINGLE, "single") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let namespace = env.fresh_dir("compat-engine");
    let hdfs_site = env.info.conf_dir.join("hdfs-site.xml");
    let storage = Storage {
        plugin: vec![
            ("storage.type", "hdfs".into()),
            ("fs.defaultFS", env.info.default_fs.clone()),
            ("hdfs_site_path", hdfs_site.display().to_string()),
            ("namespace", format!("{}/", namespace.path())),
        ],
        fs: block_on(env.file_system(&[])),
        namespace,
    };
    engine_cycle(&storage, dir.path(), "733912283451392002");
}
