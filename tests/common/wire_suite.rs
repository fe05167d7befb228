//! Faults on the wire, the same on every object store: between ckpt and a real server, through
//! the fault proxy ([`super::fault_proxy`]), transient faults are retried by the `ckpt.retry.*`
//! layer and the data reads back byte for byte; a persistent fault fails within
//! `ckpt.retry.max-elapsed` with an error naming the endpoint; nothing partial is ever visible
//! on the server; a lost reply to a conditional create is neither a failure nor a duplicate.
//! Each backend's test file builds its [`WireTarget`]s and runs the suite with [`wire_suite!`].

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, Path};

use super::conformance::{pattern, unique};
use super::fault_proxy::{Fault, FaultProxy};

/// The budget every test runs under, and the tolerance the bound allows on top of it.
pub const BUDGET: Duration = Duration::from_secs(4);
pub const TOLERANCE: Duration = Duration::from_secs(2);

/// Sets the `ckpt.retry.*` budget the suite's bounds are stated against.
pub fn set_retry_budget(conf: &mut Configuration) {
    conf.set(
        "ckpt.retry.max-elapsed",
        format!("{}ms", BUDGET.as_millis()),
    );
    conf.set("ckpt.retry.initial-backoff", "50ms");
    conf.set("ckpt.retry.max-backoff", "400ms");
}

/// One server of one backend: a file system reaching it through a fault proxy, and one reaching
/// the same bucket directly (to check what is really on the server).
pub struct WireTarget {
    /// Names the server in assertion messages.
    pub name: String,
    /// The bucket's root, e.g. `s3a://bucket`.
    pub root: String,
    pub proxy: FaultProxy,
    /// Through the proxy, under [`set_retry_budget`].
    pub fs: Arc<dyn FileSystem>,
    pub direct: Arc<dyn FileSystem>,
    /// Keeps the target's resources (e.g. a server process) alive.
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl WireTarget {
    /// A directory no other test uses.
    pub fn dir(&self, name: &str) -> Path {
        Path::parse(&format!("{}/faults/{}", self.root, unique(name))).unwrap()
    }
}

fn state(job: &str, checkpoint: i64, len: usize) -> PipelineState {
    PipelineState {
        job_id: job.to_string(),
        pipeline_id: 1,
        checkpoint_id: checkpoint,
        states: pattern(len, checkpoint as u8),
    }
}

pub async fn transient_faults_are_retried_and_data_reads_back_exactly(target: &WireTarget) {
    let WireTarget {
        name,
        proxy,
        fs,
        direct,
        ..
    } = target;
    let base = target.dir("transient");
    let file = base.join("object").unwrap();
    let body = pattern(300_000, 7);
    // New connections meet, in turn: a reset mid-request, a lost reply, a slow one and a
    // truncated reply; every request of the write is retried through them.
    proxy.sever_all();
    for fault in [
        Fault::reset_up(100),
        Fault::reset_down(0),
        Fault::delay(30),
        Fault::truncate_down(40),
    ] {
        proxy.push(fault);
    }
    fs.write(&file, body.clone(), true)
        .await
        .unwrap_or_else(|e| panic!("{}: write through transient faults: {e}", name));
    assert_eq!(direct.read(&file).await.unwrap(), body, "{}", name);
    proxy.sever_all();
    for fault in [
        Fault::truncate_down(1000),
        Fault::reset_down(200),
        Fault::reset_up(0),
    ] {
        proxy.push(fault);
    }
    assert_eq!(
        fs.read(&file)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", name)),
        body,
        "{}: read through truncated and reset replies",
        name
    );
    let listed = fs.list_status(&base).await.unwrap();
    assert_eq!(listed.len(), 1, "{}: {listed:?}", name);

    // The checkpoint storage on top: store and restore through the same kinds of faults.
    let storage = FileStorage::new(
        fs.clone(),
        base.join("ns").unwrap(),
        FileStorageOptions::default(),
    );
    let stored = state("1", 3, 200_000);
    proxy.sever_all();
    for fault in [
        Fault::reset_down(0),
        Fault::truncate_down(10),
        Fault::reset_up(50),
    ] {
        proxy.push(fault);
    }
    storage
        .store_checkpoint(&stored)
        .await
        .unwrap_or_else(|e| panic!("{}: store through transient faults: {e}", name));
    proxy.sever_all();
    proxy.push(Fault::truncate_down(500));
    proxy.push(Fault::reset_down(0));
    let restored = storage
        .get_latest_checkpoint_by_pipeline("1", 1)
        .await
        .unwrap_or_else(|e| panic!("{}: restore: {e}", name));
    assert_eq!(restored.as_ref(), Some(&stored), "{}", name);
    let check = FileStorage::new(
        direct.clone(),
        base.join("ns").unwrap(),
        FileStorageOptions::default(),
    );
    assert_eq!(
        check.list_checkpoints("1").await.unwrap().len(),
        1,
        "{}",
        name
    );
    assert!(
        proxy.faulted() >= 9,
        "{}: faults injected {}",
        name,
        proxy.faulted()
    );
}

/// Fails before the change to one retry layer: the AWS SDK (S3) and the OSS client's own loop
/// retried on their own, each attempt bounded by a 200 s read timeout only, so a black-holed
/// endpoint held a write for minutes.
pub async fn a_persistent_fault_fails_within_the_budget_naming_the_endpoint(target: &WireTarget) {
    let WireTarget {
        name,
        proxy,
        fs,
        direct,
        ..
    } = target;
    let base = target.dir("persistent");
    let storage = FileStorage::new(fs.clone(), base.clone(), FileStorageOptions::default());
    let endpoint = proxy.addr().to_string();
    for (fault_name, fault) in [
        ("blackhole", Fault::blackhole()),
        ("stall", Fault::stall_down(0)),
        ("reset", Fault::reset_up(0)),
    ] {
        proxy.sever_all();
        proxy.set_default(fault);
        let file = base.join(fault_name).unwrap();
        let start = Instant::now();
        let err = fs.write(&file, pattern(1000, 1), false).await.unwrap_err();
        let spent = start.elapsed();
        assert!(
            spent <= BUDGET + TOLERANCE,
            "{name} {fault_name}: the write took {spent:?}, budget {BUDGET:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&endpoint) && text.contains("attempts"),
            "{name} {fault_name}: the error must name the endpoint and the attempts: {text}"
        );
        assert!(std::error::Error::source(&err).is_some(), "{text}");

        let start = Instant::now();
        let err = storage
            .store_checkpoint(&state("2", 1, 1000))
            .await
            .unwrap_err();
        let spent = start.elapsed();
        assert!(
            spent <= BUDGET + TOLERANCE,
            "{name} {fault_name}: the store took {spent:?}, budget {BUDGET:?}: {err}"
        );
        assert!(err.to_string().contains(&endpoint), "{err}");

        let start = Instant::now();
        let err = storage.list_checkpoints("2").await.unwrap_err();
        assert!(
            start.elapsed() <= BUDGET + TOLERANCE,
            "{name} {fault_name}: list"
        );
        assert!(err.to_string().contains(&endpoint), "{err}");
    }
    proxy.set_default(Fault::pass());
    proxy.sever_all();
    // Nothing of the failed stores is on the server.
    assert!(
        direct
            .list_status(&base)
            .await
            .map(|l| l.is_empty())
            .unwrap_or(true)
    );
}

pub async fn a_failed_store_leaves_nothing_partial_and_ok_means_on_the_server(target: &WireTarget) {
    let WireTarget {
        name,
        proxy,
        fs,
        direct,
        ..
    } = target;
    let base = target.dir("partial");
    let ns = base.join("ns").unwrap();
    let storage = FileStorage::new(fs.clone(), ns.clone(), FileStorageOptions::default());
    let check = FileStorage::new(direct.clone(), ns.clone(), FileStorageOptions::default());
    let good = state("3", 1, 50_000);
    storage.store_checkpoint(&good).await.unwrap();
    // Every connection stalls once 100 kB of a request went through: small requests pass,
    // the PUT of a 1 MB checkpoint never completes, attempt after attempt.
    proxy.sever_all();
    proxy.set_default(Fault::stall_up(100_000));
    let big = state("3", 2, 1_000_000);
    let err = storage.store_checkpoint(&big).await.unwrap_err();
    assert!(err.to_string().contains(&proxy.addr().to_string()), "{err}");
    proxy.set_default(Fault::pass());
    let entries = check.list_checkpoints("3").await.unwrap();
    assert_eq!(entries.len(), 1, "{}: {entries:?}", name);
    assert_eq!(
        check
            .get_latest_checkpoint_by_pipeline("3", 1)
            .await
            .unwrap(),
        Some(good.clone()),
        "{}",
        name
    );
    // Stores that reported Ok through faults are on the server, byte for byte.
    for id in 3..6 {
        proxy.sever_all();
        proxy.push(Fault::reset_down(0));
        proxy.push(Fault::truncate_down(100));
        let s = state("3", id, 20_000);
        storage.store_checkpoint(&s).await.unwrap();
        assert_eq!(
            check.get_checkpoint("3", 1, id).await.unwrap(),
            s,
            "{}",
            name
        );
    }
}

/// Where a reply is cut to lose it after the server acted on the request: past an
/// `HTTP/1.1 100 Continue` (25 bytes; MinIO sends one before it reads a PUT's body, and a cut
/// there loses the request instead, so the retry is a plain first write), inside the status
/// line or headers of the final response.
pub const LOST_REPLY_AFTER: u64 = 30;

pub async fn a_lost_reply_to_a_conditional_create_is_neither_a_failure_nor_a_duplicate(
    target: &WireTarget,
) {
    let WireTarget {
        name,
        proxy,
        fs,
        direct,
        ..
    } = target;
    let base = target.dir("lost-reply");
    let file = base.join("once").unwrap();
    let body = pattern(10_000, 3);
    let mut writer = fs.create(&file, false).await.unwrap();
    writer.write(body.clone()).await.unwrap();
    // The PUT goes out on a new connection; the server stores the object, the reply is
    // lost; the retry meets our own object (412) and must recognise it.
    proxy.sever_all();
    proxy.push(Fault::reset_down(LOST_REPLY_AFTER));
    writer
        .close()
        .await
        .unwrap_or_else(|e| panic!("{}: a lost reply made the create fail: {e}", name));
    assert!(proxy.faulted() >= 1, "{}: no fault was injected", name);
    assert_eq!(direct.read(&file).await.unwrap(), body, "{}", name);
    assert_eq!(
        direct.list_status(&base).await.unwrap().len(),
        1,
        "{}",
        name
    );
    // A real conflict is still one.
    let err = fs.write(&file, pattern(10, 9), false).await.unwrap_err();
    assert!(
        matches!(err, ckpt::fs::FsError::AlreadyExists { .. }),
        "{err:?}"
    );
    assert_eq!(direct.read(&file).await.unwrap(), body);
}

/// Runs every suite function as a test, once per target `$targets` (an async expression giving
/// the targets) yields.
#[macro_export]
macro_rules! wire_suite {
    ($targets:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                for target in $targets {
                    $crate::common::wire_suite::$name(&target).await;
                }
            }
        )*
    };
    ($targets:expr) => {
        $crate::wire_suite!($targets;
            transient_faults_are_retried_and_data_reads_back_exactly,
            a_persistent_fault_fails_within_the_budget_naming_the_endpoint,
            a_failed_store_leaves_nothing_partial_and_ok_means_on_the_server,
            a_lost_reply_to_a_conditional_create_is_neither_a_failure_nor_a_duplicate);
    };
}
