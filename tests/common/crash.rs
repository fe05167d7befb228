//! Crash-consistency harness (`tests/crash_local.rs`, `tests/crash_hdfs.rs`): runs the `ckpt`
//! binary as a child process, SIGKILLs it at a random moment, then checks from fresh processes
//! (`ckpt verify`, `latest`, `show --states-out`, `prune`) and from the library what survived,
//! against a model of every state the test handed to `ckpt store`.
//!
//! The rules checked after every kill:
//! - every listed checkpoint decodes and its states are byte for byte one the test stored under
//!   that checkpoint id (states carry their own SHA-256 as well); nothing torn is listed, and
//!   `latest` restores the newest complete one;
//! - an acknowledged checkpoint (a `ckpt store` that exited 0 and printed its path) is present,
//!   unless at least `max-retained` readable checkpoints of its pipeline are newer;
//! - retention only removes files beyond the newest readable `max-retained` of their pipeline,
//!   and a completed store or prune leaves exactly the newest readable `max-retained`;
//! - a later `prune`, after `ckpt.temp-grace`, leaves no temporary file behind.
//!
//! Kill moments are uniform over 0..1.5x the measured duration of the same command.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path as StdPath, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::checkpoint::layout::CheckpointFileName;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, HdfsStorageFactory, PipelineState, codec};
use ckpt::fs::Path;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Environment variable for the long mode: the number of `ckpt store` kills on local disk
/// (default 300); every other count of the crash tests scales with it (see [`scaled`]).
pub const ROUNDS_VAR: &str = "CKPT_CRASH_ROUNDS";
/// Environment variable fixing the random seed (printed by every run) to replay a failure.
pub const SEED_VAR: &str = "CKPT_CRASH_SEED";

/// Local store kills: `CKPT_CRASH_ROUNDS`, default 300.
pub fn local_store_rounds() -> usize {
    std::env::var(ROUNDS_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// A count of the short mode (`min`) that grows with `CKPT_CRASH_ROUNDS` (`rounds / 6`).
pub fn scaled(min: usize) -> usize {
    min.max(local_store_rounds() / 6)
}

/// The random seed of this run (from `CKPT_CRASH_SEED`, else random), printed for replay.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{test}: {SEED_VAR}={seed}");
    seed
}

// ---------------------------------------------------------------------------------------------
// States that carry their own hash.

const MAGIC: &[u8; 8] = b"CKPTCRSH";
const HEADER: usize = 8 + 4 + 8 + 8 + 4;

/// The states the test stores as checkpoint `checkpoint` of `pipeline`: a header (magic,
/// pipeline, checkpoint, body length, CRC32C of the body) and `len` pseudo-random bytes
/// derived from the ids (splitmix64), so the expected bytes can be regenerated for a byte for
/// byte comparison and a torn or misplaced body is detected even without the model.
pub fn states(pipeline: i32, checkpoint: i64, len: usize) -> Vec<u8> {
    let mut x = ((checkpoint as u64) << 8) ^ pipeline as u64;
    let mut body = Vec::with_capacity(len + 8);
    while body.len() < len {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        body.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    body.truncate(len);
    let mut out = Vec::with_capacity(HEADER + len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&pipeline.to_be_bytes());
    out.extend_from_slice(&checkpoint.to_be_bytes());
    out.extend_from_slice(&(len as u64).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Checks states made by [`states`] against their own header; `Err` says what is wrong.
pub fn check_self_hash(data: &[u8], pipeline: i32, checkpoint: i64) -> Result<(), String> {
    let header = data
        .get(..HEADER)
        .ok_or_else(|| format!("{} bytes: shorter than the header", data.len()))?;
    if &header[..8] != MAGIC {
        return Err("no magic".into());
    }
    let p = i32::from_be_bytes(header[8..12].try_into().unwrap());
    let c = i64::from_be_bytes(header[12..20].try_into().unwrap());
    let len = u64::from_be_bytes(header[20..28].try_into().unwrap()) as usize;
    let crc = u32::from_be_bytes(header[28..32].try_into().unwrap());
    if (p, c) != (pipeline, checkpoint) {
        return Err(format!(
            "states of pipeline {p} checkpoint {c}, expected {pipeline}/{checkpoint}"
        ));
    }
    let body = &data[HEADER..];
    if body.len() != len {
        return Err(format!("body of {} bytes, header says {len}", body.len()));
    }
    if crc32c::crc32c(body) != crc {
        return Err("body does not match its CRC32C".into());
    }
    Ok(())
}

/// A length between 1 KiB and 4 MiB, log-uniform, so kills land in small and large writes.
pub fn random_len(rng: &mut StdRng, max_log2: f64) -> usize {
    2f64.powf(rng.random_range(10.0..max_log2)) as usize
}

// ---------------------------------------------------------------------------------------------
// Model.

#[derive(Debug, Clone)]
struct Attempt {
    pipeline: i32,
    len: usize,
    /// The path a store printed when it exited 0.
    acked: Option<String>,
    /// Named in a `delete` that may have run (partly): may be present or gone.
    doomed: bool,
    /// Deleted by a `delete` that completed: must be gone.
    deleted: bool,
}

/// Everything the test handed to storage for one job.
#[derive(Debug, Default)]
pub struct JobModel {
    /// The job id.
    pub job: String,
    attempts: BTreeMap<i64, Attempt>,
    /// Files planted unreadable on purpose (as a writer that crashed while writing in place
    /// leaves them): may be present or removed, never restored.
    planted: BTreeSet<String>,
    next_id: i64,
}

impl JobModel {
    /// A model of the (empty) job `job`.
    pub fn new(job: impl Into<String>) -> Self {
        JobModel {
            job: job.into(),
            next_id: 1,
            ..Default::default()
        }
    }

    fn fresh_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn record(&mut self, pipeline: i32, checkpoint: i64, data: &[u8]) {
        self.attempts.insert(
            checkpoint,
            Attempt {
                pipeline,
                len: data.len() - HEADER,
                acked: None,
                doomed: false,
                deleted: false,
            },
        );
    }

    /// Acknowledged checkpoints (ids).
    pub fn acked(&self) -> usize {
        self.attempts.values().filter(|a| a.acked.is_some()).count()
    }
}

/// A checkpoint file present in the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    /// Its full path (as the library and the CLI print it).
    pub path: String,
    /// Its parsed name.
    pub name: CheckpointFileName,
}

fn newer(a: &CheckpointFileName, b: &CheckpointFileName) -> bool {
    CheckpointFileName::newest_first(a, b) == std::cmp::Ordering::Less
}

/// The paths of `files`.
fn paths(files: &[Present]) -> BTreeSet<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

/// The newest `n` of `files` (one pipeline, readable only), by Java's ordering.
fn newest_n(files: &[&Present], n: usize) -> BTreeSet<String> {
    let mut sorted: Vec<&Present> = files.to_vec();
    sorted.sort_by(|a, b| CheckpointFileName::newest_first(&a.name, &b.name));
    sorted.into_iter().take(n).map(|p| p.path.clone()).collect()
}

/// How a killed-or-not command ended.
#[derive(Debug)]
pub enum Outcome {
    /// Exited by itself (0 or not) before the kill.
    Exited(Output),
    /// Killed by SIGKILL.
    Killed,
}

/// Counters printed at the end of a test.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Commands started under a kill timer.
    pub rounds: usize,
    /// Of those, killed by SIGKILL.
    pub killed: usize,
    /// Of those, exited 0 before the kill.
    pub completed: usize,
    /// Killed stores whose checkpoint was committed anyway (present, not acknowledged).
    pub committed_unacked: usize,
    /// Kills after which temporary files were left behind.
    pub left_temp_files: usize,
    /// Killed prunes or deletes that had removed some but not all of their victims.
    pub partial: usize,
    /// Leftover temporary files removed by later prunes.
    pub temp_files_pruned: usize,
    /// Failovers done between or during rounds.
    pub failovers: usize,
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// Runs `ckpt` commands against one namespace and checks the model after each.
pub struct Harness {
    /// Runtime for the library checks.
    pub rt: tokio::runtime::Runtime,
    bin: PathBuf,
    work: PathBuf,
    config: PathBuf,
    /// Storage with `max-retained` = N, as the CLI sees it.
    storage: FileStorage,
    /// The same namespace with a large `max-retained`, to set up rounds quickly.
    wide: FileStorage,
    /// N.
    pub max_retained: usize,
    /// `ckpt.temp-grace`.
    pub temp_grace: Duration,
    /// The job directories' parent on local disk (for a direct look at hidden files).
    local_namespace: Option<PathBuf>,
    /// The random source of the run.
    pub rng: StdRng,
    /// Counters.
    pub stats: Stats,
    out_seq: u64,
    /// Temporary files seen by the last check.
    last_temps: usize,
}

fn yaml(max_retained: usize, plugin_config: &[(String, String)]) -> String {
    let mut y = format!(
        "seatunnel:\n  engine:\n    checkpoint:\n      interval: 10000\n      timeout: 60000\n      storage:\n        type: hdfs\n        max-retained: {max_retained}\n        plugin-config:\n"
    );
    for (k, v) in plugin_config {
        y.push_str(&format!(
            "          {k}: {}\n",
            serde_json::to_string(v).unwrap()
        ));
    }
    y
}

impl Harness {
    /// A harness in `work` (a fresh local directory for configs and states files) for the
    /// storage that `plugin_config` describes (`ckpt.temp-grace` is added), keeping
    /// `max_retained` checkpoints per pipeline.
    pub fn new(
        work: &StdPath,
        plugin_config: &[(&str, &str)],
        max_retained: usize,
        temp_grace: Duration,
        seed: u64,
        local_namespace: Option<PathBuf>,
    ) -> Harness {
        std::fs::create_dir_all(work).unwrap();
        let mut pc: Vec<(String, String)> = plugin_config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pc.push((
            "ckpt.temp-grace".into(),
            format!("{}ms", temp_grace.as_millis()),
        ));
        let config = work.join("crash.yaml");
        std::fs::write(&config, yaml(max_retained, &pc)).unwrap();
        let wide_config = work.join("wide.yaml");
        std::fs::write(&wide_config, yaml(100_000, &pc)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let open = |file: &StdPath| {
            let loaded = ckpt::config::load_file(file).unwrap_or_else(|e| panic!("{e}"));
            rt.block_on(
                HdfsStorageFactory.create_file_storage(&loaded.checkpoint.storage.settings()),
            )
            .unwrap_or_else(|e| panic!("storage of {}: {e}", file.display()))
        };
        let storage = open(&config);
        let wide = open(&wide_config);
        Harness {
            rt,
            bin: PathBuf::from(env!("CARGO_BIN_EXE_ckpt")),
            work: work.to_path_buf(),
            config,
            storage,
            wide,
            max_retained,
            temp_grace,
            local_namespace,
            rng: StdRng::seed_from_u64(seed),
            stats: Stats::default(),
            out_seq: 0,
            last_temps: 0,
        }
    }

    /// The `ckpt` command with the harness's configuration and `--json`.
    pub fn ckpt(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("CKPT_HOME", self.work.join("home"))
            .env_remove("HADOOP_CONF_DIR")
            .env_remove("HADOOP_USER_NAME")
            .env_remove("RUST_LOG")
            .arg("--config")
            .arg(&self.config)
            .arg("--json")
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.ckpt(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()))
    }

    /// Runs `ckpt --json ARGS` to completion, expecting exit 0; returns its JSON and duration.
    pub fn run_ok(&self, args: &[&str]) -> (Value, Duration) {
        let started = Instant::now();
        let out = self.run(args);
        let took = started.elapsed();
        assert!(
            out.status.success(),
            "ckpt {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (json_of(&out, args), took)
    }

    /// Spawns `ckpt --json ARGS`, sleeps `delay`, SIGKILLs it (`Child::kill`), reaps it.
    pub fn run_killed(&mut self, args: &[&str], delay: Duration) -> Outcome {
        let mut child = self
            .ckpt(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        std::thread::sleep(delay);
        // SIGKILL; a child that already exited is a zombie until reaped, so this is harmless.
        let _ = child.kill();
        let out = child.wait_with_output().expect("reap the child");
        self.stats.rounds += 1;
        if out.status.signal() == Some(SIGKILL) {
            self.stats.killed += 1;
            Outcome::Killed
        } else {
            if out.status.success() {
                self.stats.completed += 1;
            }
            Outcome::Exited(out)
        }
    }

    /// True while fewer than `target` commands were really terminated by SIGKILL (a kill
    /// that comes after the command exited does not count). Panics when kills keep missing.
    pub fn more_kills_needed(&self, target: usize) -> bool {
        assert!(
            self.stats.rounds <= 20 * target + 50,
            "only {} of {} kills landed before the command exited: {:?}",
            self.stats.killed,
            self.stats.rounds,
            self.stats
        );
        self.stats.killed < target
    }

    /// Runs `ckpt --json ARGS`, killed after `kill_after` or left to finish; returns its JSON
    /// when it exited 0 (a failure of its own fails the test) and how long it ran.
    fn run_maybe_killed(
        &mut self,
        what: &str,
        args: &[&str],
        kill_after: Option<Duration>,
    ) -> (Option<Value>, Duration) {
        let started = Instant::now();
        let outcome = match kill_after {
            Some(delay) => self.run_killed(args, delay),
            None => Outcome::Exited(self.run(args)),
        };
        let took = started.elapsed();
        (exited_ok(what, &outcome, args), took)
    }

    /// A random kill moment for a command that takes about `typical`.
    pub fn kill_delay(&mut self, typical: Duration) -> Duration {
        typical.mul_f64(self.rng.random_range(0.0..1.5))
    }

    fn list(&self, job: &str) -> Vec<Present> {
        let entries = self
            .rt
            .block_on(self.storage.list_checkpoints(job))
            .unwrap_or_else(|e| panic!("list job {job}: {e}"));
        entries
            .into_iter()
            .map(|e| Present {
                path: e.path,
                name: e.name,
            })
            .collect()
    }

    fn readable<'a>(m: &JobModel, files: &'a [Present], pipeline: i32) -> Vec<&'a Present> {
        files
            .iter()
            .filter(|f| f.name.pipeline_id == pipeline && !m.planted.contains(&f.path))
            .collect()
    }

    fn pipelines(files: &[Present]) -> BTreeSet<i32> {
        files.iter().map(|f| f.name.pipeline_id).collect()
    }

    fn states_file(&mut self, data: &[u8]) -> PathBuf {
        self.out_seq += 1;
        let p = self.work.join(format!("in-{}.bin", self.out_seq % 4));
        std::fs::write(&p, data).unwrap();
        p
    }

    // -----------------------------------------------------------------------------------------
    // Stores.

    /// Stores, without killing, a checkpoint of `len` bytes; returns how long `ckpt store` took.
    pub fn store_unkilled(
        &mut self,
        m: &mut JobModel,
        pipeline: i32,
        len: usize,
    ) -> Option<Duration> {
        self.store_round(m, pipeline, len, None)
    }

    /// One `ckpt store` of a fresh checkpoint of `pipeline`, killed after `kill_after` (or
    /// left to finish), then the transition and the whole job are checked. Returns the
    /// duration when the store completed.
    pub fn store_round(
        &mut self,
        m: &mut JobModel,
        pipeline: i32,
        len: usize,
        kill_after: Option<Duration>,
    ) -> Option<Duration> {
        let id = m.fresh_id();
        let data = states(pipeline, id, len);
        m.record(pipeline, id, &data);
        let file = self.states_file(&data);
        let before = self.list(&m.job);
        let (p, c, f) = (
            pipeline.to_string(),
            id.to_string(),
            file.display().to_string(),
        );
        let args = ["store", m.job.as_str(), &p, &c, "--from", &f];
        let what = format!("store of {}/{pipeline}/{id} ({len} bytes)", m.job);
        let (report, took) = self.run_maybe_killed(&what, &args, kill_after);
        let after = self.list(&m.job);
        self.check_store_transition(m, &what, pipeline, id, &before, &after, report.as_ref());
        if let Some(report) = &report {
            m.attempts.get_mut(&id).unwrap().acked =
                Some(report["path"].as_str().unwrap().to_string());
        }
        let temps_before = self.last_temps;
        let temps = self.check(m, &what);
        if report.is_none() {
            if after.iter().any(|f| f.name.checkpoint_id == id) {
                self.stats.committed_unacked += 1;
            }
            if temps > temps_before {
                self.stats.left_temp_files += 1;
            }
        }
        report.map(|_| took)
    }

    #[allow(clippy::too_many_arguments)]
    fn check_store_transition(
        &self,
        m: &JobModel,
        what: &str,
        pipeline: i32,
        id: i64,
        before: &[Present],
        after: &[Present],
        report: Option<&Value>,
    ) {
        let n = self.max_retained;
        let (before_paths, after_paths) = (paths(before), paths(after));
        let new: Vec<&Present> = after
            .iter()
            .filter(|f| !before_paths.contains(f.path.as_str()))
            .collect();
        assert!(
            new.len() <= 1 && new.iter().all(|f| f.name.checkpoint_id == id),
            "{what}: unexpected new files {new:?}"
        );
        for f in before.iter().filter(|f| f.name.pipeline_id != pipeline) {
            assert!(
                after_paths.contains(f.path.as_str()),
                "{what}: removed {} of another pipeline",
                f.path
            );
        }
        let mut candidates = Self::readable(m, before, pipeline);
        candidates.extend(new.iter().copied());
        let keep = newest_n(&candidates, n);
        for f in Self::readable(m, before, pipeline) {
            if !after_paths.contains(f.path.as_str()) {
                assert!(
                    !keep.contains(&f.path),
                    "{what}: retention removed {}, one of the newest {n} readable of pipeline \
                     {pipeline} ({keep:?})",
                    f.path
                );
            }
        }
        let Some(report) = report else { return };
        let path = report["path"].as_str().unwrap_or_default();
        assert!(
            new.len() == 1 && new[0].path == path,
            "{what}: exited 0 with path {path:?}, but the listing has {new:?}\n{report}"
        );
        let readable_after: BTreeSet<String> = Self::readable(m, after, pipeline)
            .into_iter()
            .map(|f| f.path.clone())
            .collect();
        assert_eq!(
            readable_after, keep,
            "{what}: after the store, the readable files of pipeline {pipeline} are not the \
             newest {n}"
        );
        let pruned: BTreeSet<String> = report["pruned"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            !pruned.contains(path),
            "{what}: the store pruned its own checkpoint {path}"
        );
        for p in &pruned {
            assert!(
                !after_paths.contains(p.as_str()),
                "{what}: reports {p} pruned, but it is still listed"
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // The check after every round.

    /// Checks the whole job from the library and from fresh `ckpt` processes; returns the
    /// number of temporary files left in the job directory.
    pub fn check(&mut self, m: &JobModel, what: &str) -> usize {
        let n = self.max_retained;
        let files = self.list(&m.job);
        let mut ids = BTreeSet::new();
        for f in &files {
            let c = f.name.checkpoint_id;
            assert!(
                ids.insert(c),
                "{what}: two files of checkpoint {c}: {files:?}"
            );
            if m.planted.contains(&f.path) {
                continue;
            }
            let a = m
                .attempts
                .get(&c)
                .unwrap_or_else(|| panic!("{what}: {} was never stored", f.path));
            assert_eq!(a.pipeline, f.name.pipeline_id, "{what}: {}", f.path);
            assert!(
                !a.deleted,
                "{what}: {} was deleted, yet it is listed",
                f.path
            );
            if let Some(acked) = &a.acked {
                assert_eq!(acked, &f.path, "{what}: checkpoint {c} moved");
            }
            let state = self
                .rt
                .block_on(self.storage.get_checkpoint(&m.job, f.name.pipeline_id, c))
                .unwrap_or_else(|e| panic!("{what}: {} is listed but cannot be read: {e}", f.path));
            self.assert_states(what, &f.path, a, f.name.pipeline_id, c, &state.states);
        }
        // Acknowledged checkpoints are present, or `n` readable ones of their pipeline are newer.
        for (c, a) in &m.attempts {
            let Some(acked) = &a.acked else { continue };
            if a.doomed || a.deleted || files.iter().any(|f| &f.path == acked) {
                continue;
            }
            let name = CheckpointFileName::parse(acked.rsplit('/').next().unwrap()).unwrap();
            let newer_readable = Self::readable(m, &files, a.pipeline)
                .into_iter()
                .filter(|f| newer(&f.name, &name))
                .count();
            assert!(
                newer_readable >= n,
                "{what}: acknowledged checkpoint {c} ({acked}) is gone with only {newer_readable} \
                 newer readable checkpoints of pipeline {} (max-retained {n}); listing: {files:#?}",
                a.pipeline
            );
        }
        let temps = self.check_verify(m, what);
        self.check_latest(m, what, &files);
        self.last_temps = temps;
        temps
    }

    fn assert_states(&self, what: &str, path: &str, a: &Attempt, p: i32, c: i64, data: &[u8]) {
        check_self_hash(data, p, c).unwrap_or_else(|e| panic!("{what}: {path}: {e}"));
        let expected = states(p, c, a.len);
        if data != expected.as_slice() {
            let at = data.iter().zip(&expected).position(|(x, y)| x != y);
            panic!(
                "{what}: {path}: states differ from what was stored ({} bytes, stored {}, first \
                 difference at {at:?})",
                data.len(),
                expected.len()
            );
        }
    }

    /// `ckpt verify` in a fresh process: every file of the job decodes, except planted ones;
    /// returns the number of leftover temporary files it reports in the job directory.
    fn check_verify(&self, m: &JobModel, what: &str) -> usize {
        let out = self.run(&["verify"]);
        let report = json_of(&out, &["verify"]);
        let entries = report["entries"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: verify printed {report}"));
        let mut temps = 0;
        let mut corrupt = 0;
        for e in entries {
            let path = e["path"].as_str().unwrap_or_default();
            match e["status"].as_str() {
                Some("ok") => {}
                Some("temp") => temps += 1,
                Some("corrupt") if m.planted.contains(path) => corrupt += 1,
                _ => panic!("{what}: verify reports {e}"),
            }
        }
        let expected_code = if corrupt > 0 { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected_code),
            "{what}: verify exit code: {report}"
        );
        if let Some(ns) = &self.local_namespace {
            let job_dir = ns.join(&m.job);
            let on_disk = std::fs::read_dir(&job_dir)
                .map(|rd| rd.filter_map(|e| e.ok()).count())
                .unwrap_or(0);
            let listed = entries
                .iter()
                .filter(|e| {
                    e["path"]
                        .as_str()
                        .is_some_and(|p| p.contains(&format!("/{}/", m.job)))
                })
                .count();
            assert_eq!(
                on_disk,
                listed,
                "{what}: verify saw {listed} entries in {}, the directory has {on_disk}",
                job_dir.display()
            );
        }
        temps
    }

    /// `ckpt latest JOB` and `ckpt show` of each restored checkpoint, in fresh processes.
    fn check_latest(&mut self, m: &JobModel, what: &str, files: &[Present]) {
        let out = self.run(&["latest", &m.job]);
        if files.is_empty() {
            // Nothing to restore: either an empty list or an error, never a checkpoint.
            if out.status.success() {
                let v = json_of(&out, &["latest"]);
                assert_eq!(v, serde_json::json!([]), "{what}: latest of an empty job");
            }
            return;
        }
        let v = json_of(&out, &["latest"]);
        let restores = v
            .as_array()
            .unwrap_or_else(|| panic!("{what}: latest printed {v}"));
        let pipelines: BTreeSet<i32> = restores
            .iter()
            .map(|r| r["pipeline_id"].as_i64().unwrap() as i32)
            .collect();
        assert_eq!(pipelines, Self::pipelines(files), "{what}: latest: {v}");
        let mut all_restored = true;
        for r in restores {
            let p = r["pipeline_id"].as_i64().unwrap() as i32;
            let readable = Self::readable(m, files, p);
            let newest = newest_n(&readable, 1).into_iter().next();
            let skipped: BTreeSet<String> = r["skipped"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s["path"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for s in &skipped {
                assert!(m.planted.contains(s), "{what}: latest skipped {s}: {v}");
            }
            match newest {
                None => {
                    all_restored = false;
                    assert!(
                        r["path"].is_null(),
                        "{what}: latest restored a torn file: {v}"
                    );
                }
                Some(newest) => {
                    assert_eq!(
                        r["path"].as_str(),
                        Some(newest.as_str()),
                        "{what}: latest of pipeline {p} is not the newest readable: {v}"
                    );
                    let c = r["checkpoint_id"].as_i64().unwrap();
                    self.check_show(m, what, p, c);
                }
            }
        }
        assert_eq!(
            out.status.code(),
            Some(if all_restored { 0 } else { 1 }),
            "{what}: latest exit code: {v}"
        );
    }

    fn check_show(&mut self, m: &JobModel, what: &str, p: i32, c: i64) {
        let file = self.work.join("show.out");
        let _ = std::fs::remove_file(&file);
        let f = file.display().to_string();
        let (p_arg, c_arg) = (p.to_string(), c.to_string());
        let (v, _) = self.run_ok(&["show", &m.job, &p_arg, &c_arg, "--states-out", &f]);
        assert_eq!(v["checkpoint_id"].as_i64(), Some(c), "{what}: show: {v}");
        let data = std::fs::read(&file).unwrap();
        let a = &m.attempts[&c];
        self.assert_states(what, &format!("show {p} {c}"), a, p, c, &data);
    }

    // -----------------------------------------------------------------------------------------
    // Prune.

    /// Waits out the temp grace, runs `ckpt prune JOB` to completion and checks that exactly
    /// the newest readable N of each pipeline remain and no temporary file is left.
    pub fn prune_completely(&mut self, m: &JobModel, what: &str) {
        std::thread::sleep(self.temp_grace + Duration::from_millis(50));
        let before = self.list(&m.job);
        let (report, _) = self.run_ok(&["prune", &m.job]);
        let after = self.list(&m.job);
        let what = format!("{what}, then a complete prune");
        self.check_prune_transition(m, &what, &before, &after, Some(&report));
        self.stats.temp_files_pruned += report["temp_files"].as_array().map_or(0, Vec::len);
        let temps = self.check(m, &what);
        assert_eq!(temps, 0, "{what}: temporary files left: {report}");
    }

    fn check_prune_transition(
        &self,
        m: &JobModel,
        what: &str,
        before: &[Present],
        after: &[Present],
        report: Option<&Value>,
    ) {
        let n = self.max_retained;
        let (before_paths, after_paths) = (paths(before), paths(after));
        assert!(
            after_paths.is_subset(&before_paths),
            "{what}: new files appeared: {after:?}"
        );
        for p in Self::pipelines(before) {
            let readable = Self::readable(m, before, p);
            let keep = newest_n(&readable, n);
            for k in &keep {
                assert!(
                    after_paths.contains(k.as_str()),
                    "{what}: prune removed {k}, one of the newest {n} readable of pipeline {p} \
                     ({keep:?}); before: {before:#?}"
                );
            }
            if report.is_some() {
                let left: BTreeSet<String> = Self::readable(m, after, p)
                    .into_iter()
                    .map(|f| f.path.clone())
                    .collect();
                assert_eq!(
                    left, keep,
                    "{what}: after a complete prune pipeline {p} keeps other readable files"
                );
            }
        }
        if let Some(report) = report {
            for p in report["checkpoints"].as_array().into_iter().flatten() {
                let p = p.as_str().unwrap_or_default();
                assert!(
                    before_paths.contains(p) && !after_paths.contains(p),
                    "{what}: prune reports {p} removed: {report}"
                );
            }
        }
    }

    /// Stores `per_pipeline` small checkpoints of each of `pipelines` through the library
    /// (a wide `max-retained`), all acknowledged.
    pub fn populate(&mut self, m: &mut JobModel, pipelines: i32, per_pipeline: usize) {
        for _ in 0..per_pipeline {
            for p in 1..=pipelines {
                let id = m.fresh_id();
                let len = random_len(&mut self.rng, 16.0);
                let data = states(p, id, len);
                m.record(p, id, &data);
                let state = PipelineState {
                    job_id: m.job.clone(),
                    pipeline_id: p,
                    checkpoint_id: id,
                    states: Bytes::from(data),
                };
                let stored = self
                    .rt
                    .block_on(self.wide.store_checkpoint(&state))
                    .unwrap_or_else(|e| panic!("set up {}/{p}/{id}: {e}", m.job));
                m.attempts.get_mut(&id).unwrap().acked = Some(stored.path);
            }
        }
    }

    /// Plants `count` unreadable checkpoint files of `pipeline`, newer than every stored one:
    /// what a writer that crashed while writing in place (SeaTunnel's `localfile`) leaves.
    pub fn plant_torn(&mut self, m: &mut JobModel, pipeline: i32, count: usize) {
        let newest = self
            .list(&m.job)
            .iter()
            .map(|f| f.name.millis)
            .max()
            .unwrap_or(0);
        for i in 0..count {
            let id = m.fresh_id();
            let name = CheckpointFileName {
                millis: newest + 1 + i as u64,
                random: self.rng.random_range(0..1000),
                pipeline_id: pipeline,
                checkpoint_id: id,
            };
            let full = codec::encode(
                &PipelineState {
                    job_id: m.job.clone(),
                    pipeline_id: pipeline,
                    checkpoint_id: id,
                    states: Bytes::from(states(pipeline, id, 4096)),
                },
                true,
            )
            .unwrap();
            let torn = if i.is_multiple_of(2) {
                Bytes::new()
            } else {
                full.slice(..full.len() / 2)
            };
            let path = self
                .storage
                .namespace()
                .join(&m.job)
                .and_then(|d| d.join(&name.file_name()))
                .unwrap();
            self.rt
                .block_on(self.storage.file_system().write(&path, torn, false))
                .unwrap_or_else(|e| panic!("plant {path}: {e}"));
            m.planted.insert(path.to_string());
        }
    }

    /// One `ckpt prune JOB` killed after `kill_after` (or left to finish), then checked; then
    /// a complete prune. Returns the duration when the first prune completed.
    pub fn prune_round(&mut self, m: &JobModel, kill_after: Option<Duration>) -> Option<Duration> {
        let what = format!("prune of {}", m.job);
        let before = self.list(&m.job);
        let args = ["prune", m.job.as_str()];
        let (report, took) = self.run_maybe_killed(&what, &args, kill_after);
        let after = self.list(&m.job);
        self.check_prune_transition(m, &what, &before, &after, report.as_ref());
        if report.is_none() && after.len() < before.len() {
            let victims = before.len() - self.expected_after_prune(m, &before);
            if before.len() - after.len() < victims {
                self.stats.partial += 1;
            }
        }
        self.check(m, &what);
        self.prune_completely(m, &what);
        report.map(|_| took)
    }

    fn expected_after_prune(&self, m: &JobModel, files: &[Present]) -> usize {
        Self::pipelines(files)
            .into_iter()
            .map(|p| Self::readable(m, files, p).len().min(self.max_retained))
            .sum::<usize>()
            + files.iter().filter(|f| m.planted.contains(&f.path)).count()
    }

    // -----------------------------------------------------------------------------------------
    // Delete.

    /// One `ckpt delete JOB [P C...]` killed after `kill_after` (or left to finish), checked,
    /// then run again to completion and checked. `targets` `None` deletes the whole job.
    /// Returns the duration when the first delete completed.
    pub fn delete_round(
        &mut self,
        m: &mut JobModel,
        targets: Option<(i32, Vec<i64>)>,
        kill_after: Option<Duration>,
    ) -> Option<Duration> {
        let what = format!("delete of {} {targets:?}", m.job);
        let mut args: Vec<String> = vec!["delete".into(), m.job.clone()];
        let doomed: BTreeSet<i64> = match &targets {
            Some((p, ids)) => {
                args.push(p.to_string());
                args.extend(ids.iter().map(i64::to_string));
                ids.iter().copied().collect()
            }
            None => m.attempts.keys().copied().collect(),
        };
        for c in &doomed {
            if let Some(a) = m.attempts.get_mut(c) {
                a.doomed = true;
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = self.list(&m.job);
        let (report, took) = self.run_maybe_killed(&what, &args, kill_after);
        let after = self.list(&m.job);
        let check_subset = |after: &[Present], stage: &str| {
            let after_paths = paths(after);
            for f in &before {
                let targeted = doomed.contains(&f.name.checkpoint_id);
                assert!(
                    targeted || after_paths.contains(f.path.as_str()),
                    "{what} ({stage}): removed {}, which it was not asked to delete",
                    f.path
                );
            }
            assert!(
                after.iter().all(|f| before.contains(f)),
                "{what} ({stage}): new files {after:?}"
            );
        };
        check_subset(&after, "first run");
        let targeted_before = before
            .iter()
            .filter(|f| doomed.contains(&f.name.checkpoint_id))
            .count();
        let targeted_after = after
            .iter()
            .filter(|f| doomed.contains(&f.name.checkpoint_id))
            .count();
        if report.is_some() {
            assert_eq!(targeted_after, 0, "{what}: exited 0 but left {after:?}");
        } else if targeted_after > 0 && targeted_after < targeted_before {
            self.stats.partial += 1;
        }
        self.check(m, &what);
        // Again, to completion: 0, or 1 when the killed run had already deleted everything.
        let out = self.run(&args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{what}: second run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = self.list(&m.job);
        check_subset(&after, "second run");
        assert!(
            after
                .iter()
                .all(|f| !doomed.contains(&f.name.checkpoint_id)),
            "{what}: a completed delete left {after:?}"
        );
        for c in &doomed {
            if let Some(a) = m.attempts.get_mut(c) {
                a.deleted = true;
            }
        }
        if targets.is_none() {
            let jobs = self.rt.block_on(self.storage.list_jobs()).unwrap();
            assert!(!jobs.contains(&m.job), "{what}: the job is still listed");
            if let Some(ns) = &self.local_namespace {
                assert!(
                    !ns.join(&m.job).exists(),
                    "{what}: the job directory is left"
                );
            }
        }
        self.check(m, &format!("{what}, run again"));
        report.map(|_| took)
    }

    /// Removes a finished round's job through the library (keeps `verify` cheap).
    pub fn drop_job(&self, m: &JobModel) {
        self.rt
            .block_on(self.storage.delete_job(&m.job))
            .unwrap_or_else(|e| panic!("delete job {}: {e}", m.job));
    }

    /// The ids of the readable checkpoints of a pipeline that are present now.
    pub fn present_ids(&self, m: &JobModel, pipeline: i32) -> Vec<i64> {
        let files = self.list(&m.job);
        Self::readable(m, &files, pipeline)
            .into_iter()
            .map(|f| f.name.checkpoint_id)
            .collect()
    }

    /// Prints the counters.
    pub fn report(&self, test: &str) {
        eprintln!("{test}: {:?}", self.stats);
    }

    /// The namespace (for messages).
    pub fn namespace(&self) -> &Path {
        self.storage.namespace()
    }
}

/// The signal `Child::kill` sends on unix.
const SIGKILL: i32 = 9;

fn json_of(out: &Output, args: &[&str]) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ckpt {args:?} ({}) printed no JSON ({e}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn exited_ok(what: &str, outcome: &Outcome, args: &[&str]) -> Option<Value> {
    match outcome {
        Outcome::Killed => None,
        Outcome::Exited(out) if out.status.success() => Some(json_of(out, args)),
        Outcome::Exited(out) => panic!(
            "{what} failed by itself ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// How long `ckpt store` takes for each of a few sizes, so kill moments can be sampled over
/// 0..1.5x that. Measured first (one warm-up store, then three), then kept current with the
/// durations of stores that completed before their kill ([`Timing::observe`]): on a loaded
/// machine stores slow down, and a fixed estimate would let more and more kills land after
/// the store has exited.
pub struct Timing {
    /// Per size, its most recent durations (at most [`Timing::WINDOW`]).
    sizes: Vec<(usize, Vec<Duration>)>,
}

impl Timing {
    /// Durations kept per size.
    const WINDOW: usize = 5;

    /// Measures on `m` (the stores are real, acknowledged and checked).
    pub fn measure(h: &mut Harness, m: &mut JobModel, pipeline: i32, sizes: &[usize]) -> Timing {
        let mut out = Vec::new();
        for &len in sizes {
            h.store_unkilled(m, pipeline, len);
            let runs: Vec<Duration> = (0..3)
                .filter_map(|_| h.store_unkilled(m, pipeline, len))
                .collect();
            out.push((len, runs));
        }
        let timing = Timing { sizes: out };
        eprintln!("store durations by size: {:?}", timing.estimates());
        timing
    }

    fn nearest(&self, len: usize) -> Option<usize> {
        let ln = (len as f64).ln();
        (0..self.sizes.len()).min_by(|&a, &b| {
            ((self.sizes[a].0 as f64).ln() - ln)
                .abs()
                .total_cmp(&((self.sizes[b].0 as f64).ln() - ln).abs())
        })
    }

    /// The median recent duration of the size nearest to `len` (on a log scale).
    pub fn of(&self, len: usize) -> Duration {
        self.nearest(len)
            .and_then(|i| median(&self.sizes[i].1))
            .unwrap_or(Duration::from_millis(50))
    }

    /// Records the duration of a store of `len` bytes that completed (before its kill).
    pub fn observe(&mut self, len: usize, took: Duration) {
        if let Some(i) = self.nearest(len) {
            let recent = &mut self.sizes[i].1;
            recent.push(took);
            if recent.len() > Self::WINDOW {
                recent.remove(0);
            }
        }
    }

    /// The current estimate per size.
    pub fn estimates(&self) -> Vec<(usize, Option<Duration>)> {
        self.sizes
            .iter()
            .map(|(len, d)| (*len, median(d)))
            .collect()
    }
}

fn median(durations: &[Duration]) -> Option<Duration> {
    let mut v = durations.to_vec();
    v.sort();
    v.get(v.len() / 2).copied()
}

/// The typical duration of a command: the median of its last five unkilled runs. The first
/// three runs and every tenth after them are left unkilled to measure it, so it follows the
/// load of the machine.
#[derive(Debug, Default, Clone)]
pub struct Typical {
    recent: Vec<Duration>,
    calls: usize,
}

impl Typical {
    /// When to kill the next run: `None` to let it finish and measure it.
    pub fn next_kill(&mut self, h: &mut Harness) -> Option<Duration> {
        self.calls += 1;
        if self.recent.len() < 3 || self.calls.is_multiple_of(10) {
            return None;
        }
        median(&self.recent).map(|typical| h.kill_delay(typical))
    }

    /// Adds the duration of an unkilled run.
    pub fn add(&mut self, unkilled: bool, took: Option<Duration>) {
        if let (true, Some(t)) = (unkilled, took) {
            self.recent.push(t);
            if self.recent.len() > 5 {
                self.recent.remove(0);
            }
        }
    }
}
