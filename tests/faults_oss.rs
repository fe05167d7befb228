//! Faults on the wire between ckpt and the OSS test server (`testenv/oss/oss_server.py`, which
//! verifies signatures), through the fault
//! proxy (`tests/common/fault_proxy.rs`): transient faults are retried by the `ckpt.retry.*`
//! layer and the data reads back byte for byte; a persistent fault fails within
//! `ckpt.retry.max-elapsed` with an error naming the endpoint; nothing partial is ever visible
//! on the server; a lost reply to a conditional create is neither a failure nor a duplicate.

#![cfg(feature = "oss")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FileSystemRegistry, Path};

use common::conformance::unique;
use common::fault_proxy::{Fault, FaultProxy};
use common::oss_env::{Auth, BUCKET, OssServer};

/// The budget every test runs under, and the tolerance the bound allows on top of it.
const BUDGET: Duration = Duration::from_secs(4);
const TOLERANCE: Duration = Duration::from_secs(2);

fn servers() -> Vec<OssServer> {
    let server = OssServer::start();
    if let Some(server) = &server {
        server.create_bucket(BUCKET);
    }
    server.into_iter().collect()
}

fn retry_conf(server: &OssServer, endpoint: &str) -> Configuration {
    let mut conf = server.conf(Auth::V4);
    conf.set("fs.oss.endpoint", endpoint);
    conf.set("fs.oss.attempts.maximum", "50");
    conf.set(
        "ckpt.retry.max-elapsed",
        format!("{}ms", BUDGET.as_millis()),
    );
    conf.set("ckpt.retry.initial-backoff", "50ms");
    conf.set("ckpt.retry.max-backoff", "400ms");
    conf
}

async fn fs_with(conf: &Configuration) -> Arc<dyn FileSystem> {
    FileSystemRegistry::with_builtins()
        .get(&Path::parse(&format!("oss://{BUCKET}/")).unwrap(), conf)
        .await
        .expect("OSS file system")
}

/// The file system through the proxy, and the same bucket directly.
async fn through_proxy(
    server: &OssServer,
) -> (FaultProxy, Arc<dyn FileSystem>, Arc<dyn FileSystem>) {
    let upstream: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let proxy = FaultProxy::start(upstream).await;
    let proxied = fs_with(&retry_conf(server, &proxy.endpoint())).await;
    let direct = fs_with(&server.conf(Auth::V4)).await;
    (proxy, proxied, direct)
}

fn data(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

fn dir(name: &str) -> Path {
    Path::parse(&format!("oss://{BUCKET}/faults/{}", unique(name))).unwrap()
}

fn state(job: &str, checkpoint: i64, len: usize) -> PipelineState {
    PipelineState {
        job_id: job.to_string(),
        pipeline_id: 1,
        checkpoint_id: checkpoint,
        states: data(len, checkpoint as u8),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_and_data_reads_back_exactly() {
    for server in servers() {
        let (proxy, fs, direct) = through_proxy(&server).await;
        let base = dir("transient");
        let file = base.join("object").unwrap();
        let body = data(300_000, 7);
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
            .unwrap_or_else(|e| panic!("{}: write through transient faults: {e}", "oss"));
        assert_eq!(direct.read(&file).await.unwrap(), body, "{}", "oss");
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
                .unwrap_or_else(|e| panic!("{}: {e}", "oss")),
            body,
            "{}: read through truncated and reset replies",
            "oss"
        );
        let listed = fs.list_status(&base).await.unwrap();
        assert_eq!(listed.len(), 1, "{}: {listed:?}", "oss");

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
            .unwrap_or_else(|e| panic!("{}: store through transient faults: {e}", "oss"));
        proxy.sever_all();
        proxy.push(Fault::truncate_down(500));
        proxy.push(Fault::reset_down(0));
        let restored = storage
            .get_latest_checkpoint_by_pipeline("1", 1)
            .await
            .unwrap_or_else(|e| panic!("{}: restore: {e}", "oss"));
        assert_eq!(restored.as_ref(), Some(&stored), "{}", "oss");
        let check = FileStorage::new(
            direct.clone(),
            base.join("ns").unwrap(),
            FileStorageOptions::default(),
        );
        assert_eq!(
            check.list_checkpoints("1").await.unwrap().len(),
            1,
            "{}",
            "oss"
        );
        assert!(
            proxy.faulted() >= 9,
            "{}: faults injected {}",
            "oss",
            proxy.faulted()
        );
    }
}

/// Fails before the change to one retry layer: the client's own loop made 10 attempts, each
/// bounded by a 200 s read timeout only, so a black-holed endpoint held a write for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_fault_fails_within_the_budget_naming_the_endpoint() {
    for server in servers() {
        let (proxy, fs, direct) = through_proxy(&server).await;
        let base = dir("persistent");
        let storage = FileStorage::new(fs.clone(), base.clone(), FileStorageOptions::default());
        let endpoint = proxy.addr().to_string();
        for (name, fault) in [
            ("blackhole", Fault::blackhole()),
            ("stall", Fault::stall_down(0)),
            ("reset", Fault::reset_up(0)),
        ] {
            proxy.sever_all();
            proxy.set_default(fault);
            let file = base.join(name).unwrap();
            let start = Instant::now();
            let err = fs.write(&file, data(1000, 1), false).await.unwrap_err();
            let spent = start.elapsed();
            assert!(
                spent <= BUDGET + TOLERANCE,
                "{} {name}: the write took {spent:?}, budget {BUDGET:?}",
                "oss"
            );
            let text = err.to_string();
            assert!(
                text.contains(&endpoint) && text.contains("attempts"),
                "{} {name}: the error must name the endpoint and the attempts: {text}",
                "oss"
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
                "{} {name}: the store took {spent:?}, budget {BUDGET:?}: {err}",
                "oss"
            );
            assert!(err.to_string().contains(&endpoint), "{err}");

            let start = Instant::now();
            let err = storage.list_checkpoints("2").await.unwrap_err();
            assert!(
                start.elapsed() <= BUDGET + TOLERANCE,
                "{} {name}: list",
                "oss"
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_store_leaves_nothing_partial_and_ok_means_on_the_server() {
    for server in servers() {
        let (proxy, fs, direct) = through_proxy(&server).await;
        let base = dir("partial");
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
        assert_eq!(entries.len(), 1, "{}: {entries:?}", "oss");
        assert_eq!(
            check
                .get_latest_checkpoint_by_pipeline("3", 1)
                .await
                .unwrap(),
            Some(good.clone()),
            "{}",
            "oss"
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
                "oss"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_to_a_conditional_create_is_neither_a_failure_nor_a_duplicate() {
    for server in servers() {
        let (proxy, fs, direct) = through_proxy(&server).await;
        let base = dir("lost-reply");
        let file = base.join("once").unwrap();
        let body = data(10_000, 3);
        let mut writer = fs.create(&file, false).await.unwrap();
        writer.write(body.clone()).await.unwrap();
        // The PUT goes out on a new connection; the server stores the object, the reply is
        // lost; the retry meets our own object (412) and must recognise it.
        proxy.sever_all();
        proxy.push(Fault::reset_down(0));
        writer
            .close()
            .await
            .unwrap_or_else(|e| panic!("{}: a lost reply made the create fail: {e}", "oss"));
        assert!(proxy.faulted() >= 1, "{}: no fault was injected", "oss");
        assert_eq!(direct.read(&file).await.unwrap(), body, "{}", "oss");
        assert_eq!(
            direct.list_status(&base).await.unwrap().len(),
            1,
            "{}",
            "oss"
        );
        // A real conflict is still one.
        let err = fs.write(&file, data(10, 9), false).await.unwrap_err();
        assert!(
            matches!(err, ckpt::fs::FsError::AlreadyExists { .. }),
            "{err:?}"
        );
        assert_eq!(direct.read(&file).await.unwrap(), body);
    }
}
