//! Golden vectors written by SeaTunnel 2.3.8's own checkpoint storage plugins (issue 9):
//! `tests/fixtures/real-plugin/`, made by scripts/golden/real-plugin.sh. The `hdfs` plugin
//! (Hadoop 3.1.4 on `fs.defaultFS: file:///`, with its `.crc` sidecars) and the `localfile`
//! plugin each stored empty states, ids 0 and Long.MAX (pipeline Integer.MAX) and a 1 MiB state;
//! the manifest holds what they stored and what their `getCheckpoint` and
//! `getLatestCheckpointByJobIdAndPipelineId` returned. ckpt's library and CLI must agree value by
//! value and byte by byte, without Java at test time.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path as StdPath, PathBuf};

use assert_cmd::Command;
use ckpt::checkpoint::VerifyStatus;
use ckpt::checkpoint::codec;
use ckpt::checkpoint::sidecar;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystemRegistry, Path};
use common::golden::{check_sidecars_in, fixture_dir};
use common::java_peer::sha256 as sha256_hex;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Manifest {
    seatunnel: String,
    plugins: Vec<Plugin>,
}

#[derive(Debug, Deserialize)]
struct Plugin {
    plugin: String,
    dir: String,
    plugin_config: BTreeMap<String, String>,
    jobs: Vec<String>,
    stored: Vec<Stored>,
    #[serde(rename = "getLatestCheckpointByJobIdAndPipelineId")]
    latest: Vec<Latest>,
}

#[derive(Debug, Deserialize)]
struct Stored {
    /// `JOB/NAME.ser` under the plugin's namespace.
    file: String,
    stored: JavaState,
    #[serde(rename = "getCheckpoint")]
    get_checkpoint: JavaState,
}

#[derive(Debug, Deserialize)]
struct Latest {
    job: String,
    pipeline: i32,
    returns: Option<JavaState>,
}

/// A state as Java saw it.
#[derive(Debug, Deserialize, PartialEq, Eq)]
struct JavaState {
    job: String,
    pipeline: i32,
    checkpoint: i64,
    states_len: usize,
    states_sha256: String,
    /// The states themselves when short.
    states_hex: Option<String>,
}

impl JavaState {
    /// Asserts that ckpt's state is Java's, value by value and byte by byte.
    fn assert_is(&self, ours: &PipelineState, what: &str) {
        assert_eq!(
            (ours.job_id.as_str(), ours.pipeline_id, ours.checkpoint_id),
            (self.job.as_str(), self.pipeline, self.checkpoint),
            "{what}: ids"
        );
        self.assert_states(&ours.states, what);
    }

    fn assert_states(&self, states: &[u8], what: &str) {
        assert_eq!(states.len(), self.states_len, "{what}: states length");
        assert_eq!(sha256_hex(states), self.states_sha256, "{what}: states");
        if let Some(hex) = &self.states_hex {
            let ours: String = states.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&ours, hex, "{what}: states bytes");
        }
    }
}

impl Stored {
    fn name(&self) -> &str {
        self.file.rsplit('/').next().unwrap()
    }
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(fixture_dir("real-plugin/manifest.json")).unwrap();
    let manifest: Manifest = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest.seatunnel, "2.3.8");
    let plugins: Vec<&str> = manifest.plugins.iter().map(|p| p.plugin.as_str()).collect();
    assert_eq!(plugins, ["hdfs", "localfile"]);
    manifest
}

/// A copy of one plugin's namespace (so that nothing a test does touches the fixtures).
fn copy_namespace(plugin: &Plugin, to: &StdPath) -> PathBuf {
    let from = fixture_dir("real-plugin").join(&plugin.dir);
    let ns = to.join("ns");
    for job in std::fs::read_dir(&from).unwrap() {
        let job = job.unwrap();
        std::fs::create_dir_all(ns.join(job.file_name())).unwrap();
        for file in std::fs::read_dir(job.path()).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), ns.join(job.file_name()).join(file.file_name())).unwrap();
        }
    }
    ns
}

async fn storage(ns: &StdPath) -> FileStorage {
    let namespace = Path::parse(&format!("file://{}/", ns.display())).unwrap();
    let fs = FileSystemRegistry::with_builtins()
        .get(&namespace, &Configuration::new())
        .await
        .unwrap();
    FileStorage::new(
        fs,
        namespace,
        FileStorageOptions {
            max_retained: None,
            ..FileStorageOptions::default()
        },
    )
}

/// The `.ser` files of a namespace by job, as the plugin wrote them.
fn files_by_job(plugin: &Plugin) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut by_job: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in &plugin.stored {
        by_job
            .entry(s.stored.job.as_str())
            .or_default()
            .insert(s.name());
    }
    by_job
}

#[tokio::test]
async fn the_library_reads_what_the_real_plugins_wrote() {
    for plugin in &manifest().plugins {
        let p = plugin.plugin.as_str();
        let dir = tempfile::tempdir().unwrap();
        let ns = copy_namespace(plugin, dir.path());
        let storage = storage(&ns).await;

        let mut jobs = storage.list_jobs().await.unwrap();
        jobs.sort();
        assert_eq!(jobs, plugin.jobs, "{p}: jobs");
        for (job, files) in files_by_job(plugin) {
            let entries = storage.list_checkpoints(job).await.unwrap();
            let names: BTreeSet<String> = entries.iter().map(|e| e.name.file_name()).collect();
            let expected: BTreeSet<String> = files.iter().map(|f| f.to_string()).collect();
            assert_eq!(names, expected, "{p}: files of job {job}");
            for e in &entries {
                // Hadoop's local file system leaves a sidecar beside each; java.io none.
                let sidecar = e.sidecar.as_deref().map(|s| s.rsplit('/').next().unwrap());
                let expected = (p == "hdfs").then(|| sidecar::sidecar_name(&e.name.file_name()));
                assert_eq!(sidecar, expected.as_deref(), "{p}: sidecar of {}", e.path);
            }
        }

        for s in &plugin.stored {
            let what = format!("{p}: {}", s.file);
            assert_eq!(
                s.get_checkpoint, s.stored,
                "{what}: Java reads back what it stored"
            );
            let j = &s.stored;
            let ours = storage
                .get_checkpoint(&j.job, j.pipeline, j.checkpoint)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            s.get_checkpoint.assert_is(&ours, &what);
            // ckpt encodes Java's state into Java's bytes (without its own CRC field).
            let file = std::fs::read(ns.join(&s.file)).unwrap();
            assert_eq!(
                codec::encode(&ours, false).unwrap().as_ref(),
                file.as_slice(),
                "{what}: ckpt's encoding of the state is not the plugin's file"
            );
        }

        for l in &plugin.latest {
            let what = format!("{p}: latest of {}/{}", l.job, l.pipeline);
            let ours = storage
                .get_latest_checkpoint_by_pipeline(&l.job, l.pipeline)
                .await
                .unwrap();
            match (&l.returns, &ours) {
                (Some(java), Some(ours)) => java.assert_is(ours, &what),
                (None, None) => {}
                _ => panic!("{what}: Java returned {:?}, ckpt {ours:?}", l.returns),
            }
            let restore = storage.restore_latest(&l.job, l.pipeline).await.unwrap();
            assert!(restore.skipped.is_empty(), "{what}: {:?}", restore.skipped);
            assert_eq!(restore.state, ours, "{what}: restore and latest agree");
        }

        let report = storage.verify().await.unwrap();
        assert!(
            report.is_clean(),
            "{p}: verify on what Java wrote: {report:?}"
        );
        let ok = report
            .entries
            .iter()
            .filter(|e| matches!(e.status, VerifyStatus::Ok { .. }))
            .count();
        assert_eq!(
            ok,
            plugin.stored.len(),
            "{p}: every file verified: {report:?}"
        );
        assert_eq!(report.entries.len(), ok, "{p}: nothing else: {report:?}");
    }
}

/// The `hdfs` plugin's sidecars are Hadoop's: ckpt checks them, writes the same, and refuses a
/// changed file; `verify` and a restore notice a changed byte the protobuf decoding cannot.
#[tokio::test]
async fn the_hdfs_plugins_sidecars_are_checked() {
    let manifest = manifest();
    let plugin = &manifest.plugins[0];
    let by_job = files_by_job(plugin);
    let source = fixture_dir("real-plugin").join(&plugin.dir);
    for (job, files) in &by_job {
        assert_eq!(
            check_sidecars_in(&source.join(job)),
            files.len(),
            "one sidecar per file of job {job}"
        );
    }

    // One byte of the 1 MiB states changes: the file still decodes, its sidecar disagrees.
    let big = plugin
        .stored
        .iter()
        .find(|s| s.stored.states_len == 1 << 20)
        .expect("the 1 MiB state");
    let dir = tempfile::tempdir().unwrap();
    let ns = copy_namespace(plugin, dir.path());
    let file = ns.join(&big.file);
    let mut data = std::fs::read(&file).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x40;
    std::fs::write(&file, &data).unwrap();
    assert!(
        codec::decode(&data.into()).is_ok(),
        "the states are opaque to the decoder"
    );

    let storage = storage(&ns).await;
    let report = storage.verify().await.unwrap();
    let corrupt: Vec<&str> = report
        .entries
        .iter()
        .filter(|e| matches!(e.status, VerifyStatus::Corrupt { .. }))
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(corrupt.len(), 1, "{report:?}");
    assert!(corrupt[0].ends_with(big.name()), "{report:?}");

    let j = &big.stored;
    let restore = storage.restore_latest(&j.job, j.pipeline).await.unwrap();
    assert_eq!(restore.skipped.len(), 1, "{:?}", restore.skipped);
    assert!(
        restore.skipped[0]
            .reason
            .contains(&sidecar::sidecar_name(big.name())),
        "{}",
        restore.skipped[0].reason
    );
    let fell_back_to = restore.state.expect("the pipeline's previous checkpoint");
    assert_eq!(fell_back_to.checkpoint_id, j.checkpoint - 1);
}

/// `ckpt --json ARGS` on `config`; the exit code and the JSON printed.
fn ckpt_json(home: &StdPath, config: &StdPath, args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("ckpt")
        .unwrap()
        .env("CKPT_HOME", home)
        .arg("--config")
        .arg(config)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ckpt {args:?}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// A seatunnel.yaml with the plugin's own type and plugin-config, on the copied namespace.
fn config_for(plugin: &Plugin, ns: &StdPath, to: &StdPath) -> PathBuf {
    let mut yaml = format!(
        "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        type: {}\n        plugin-config:\n          namespace: \"{}/\"\n",
        plugin.plugin,
        ns.display()
    );
    for (k, v) in &plugin.plugin_config {
        yaml.push_str(&format!("          {k}: \"{v}\"\n"));
    }
    let path = to.join("seatunnel.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn the_cli_reads_what_the_real_plugins_wrote() {
    for plugin in &manifest().plugins {
        let p = plugin.plugin.as_str();
        let dir = tempfile::tempdir().unwrap();
        let ns = copy_namespace(plugin, dir.path());
        let config = config_for(plugin, &ns, dir.path());
        let home = dir.path().join("home");
        let run = |args: &[&str]| {
            let (code, json) = ckpt_json(&home, &config, args);
            assert_eq!(code, 0, "{p}: ckpt {args:?}: {json}");
            json
        };
        let by_job = files_by_job(plugin);

        let jobs = run(&["jobs"]);
        let listed: Vec<&str> = jobs
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["job_id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, plugin.jobs, "{p}: jobs");
        for j in jobs.as_array().unwrap() {
            let job = j["job_id"].as_str().unwrap();
            let mut pipelines: Vec<i64> = plugin
                .stored
                .iter()
                .filter(|s| s.stored.job == job)
                .map(|s| s.stored.pipeline.into())
                .collect();
            pipelines.sort();
            pipelines.dedup();
            assert_eq!(j["pipelines"], serde_json::json!(pipelines), "{p}: {j}");
            assert_eq!(j["checkpoints"], by_job[job].len(), "{p}: {j}");
        }

        for (job, files) in &by_job {
            let list = run(&["list", job]);
            let names: BTreeSet<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["path"].as_str().unwrap().rsplit('/').next().unwrap())
                .collect();
            assert_eq!(&names, files, "{p}: list {job}");
            for e in list.as_array().unwrap() {
                assert_eq!(e["sidecar"].is_string(), p == "hdfs", "{p}: {e}");
            }
        }

        for l in &plugin.latest {
            let pipeline = l.pipeline.to_string();
            let latest = run(&["latest", &l.job, "--pipeline", &pipeline]);
            let java = l.returns.as_ref().expect("Java found a latest checkpoint");
            let what = format!("{p}: latest {} --pipeline {pipeline}: {latest}", l.job);
            assert_eq!(latest[0]["pipeline_id"], java.pipeline, "{what}");
            assert_eq!(latest[0]["checkpoint_id"], java.checkpoint, "{what}");
            assert_eq!(latest[0]["states_len"], java.states_len, "{what}");
            assert_eq!(latest[0]["skipped"], serde_json::json!([]), "{what}");
        }

        for s in &plugin.stored {
            let j = &s.get_checkpoint;
            let out = dir.path().join("states.bin");
            let (pipeline, checkpoint) = (j.pipeline.to_string(), j.checkpoint.to_string());
            let shown = run(&[
                "show",
                &j.job,
                &pipeline,
                &checkpoint,
                "--states-out",
                out.to_str().unwrap(),
            ]);
            let what = format!("{p}: show {}: {shown}", s.file);
            assert_eq!(shown["job_id"], j.job, "{what}");
            assert_eq!(shown["pipeline_id"], j.pipeline, "{what}");
            assert_eq!(shown["checkpoint_id"], j.checkpoint, "{what}");
            assert_eq!(shown["states_len"], j.states_len, "{what}");
            j.assert_states(&std::fs::read(&out).unwrap(), &what);
        }

        let verify = run(&["verify"]);
        assert_eq!(verify["clean"], true, "{p}: {verify}");
        assert_eq!(
            verify["entries"].as_array().unwrap().len(),
            plugin.stored.len(),
            "{p}: {verify}"
        );
    }
}
