//! Faults on the wire between ckpt and real S3 servers (LocalStack, MinIO), through the fault
//! proxy (`tests/common/fault_proxy.rs`): transient faults are retried by the `ckpt.retry.*`
//! layer and the data reads back byte for byte; a persistent fault fails within
//! `ckpt.retry.max-elapsed` with an error naming the endpoint; nothing partial is ever visible
//! on the server; a lost reply to a conditional create is neither a failure nor a duplicate.

#![cfg(feature = "s3")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, Path};

use common::conformance::unique;
use common::fault_proxy::{Fault, FaultProxy};
use common::s3_env::{self, BUCKET, S3Server};

/// The budget every test runs under, and the tolerance the bound allows on top of it.
const BUDGET: Duration = Duration::from_secs(4);
const TOLERANCE: Duration = Duration::from_secs(2);

fn servers() -> Vec<S3Server> {
    [s3_env::localstack(), s3_env::minio()]
        .into_iter()
        .flatten()
        .collect()
}

fn upstream(server: &S3Server) -> SocketAddr {
    server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("test servers listen on 127.0.0.1:port")
}

fn retry_conf(server: &S3Server, endpoint: &str) -> Configuration {
    let mut conf = server.conf();
    conf.set("fs.s3a.endpoint", endpoint);
    conf.set(
        "ckpt.retry.max-elapsed",
        format!("{}ms", BUDGET.as_millis()),
    );
    conf.set("ckpt.retry.initial-backoff", "50ms");
    conf.set("ckpt.retry.max-backoff", "400ms");
    conf
}

/// The file system through the proxy, and the same bucket directly.
async fn through_proxy(
    server: &S3Server,
) -> (FaultProxy, Arc<dyn FileSystem>, Arc<dyn FileSystem>) {
    let proxy = FaultProxy::start(upstream(server)).await;
    let proxied = server.fs_with(&retry_conf(server, &proxy.endpoint())).await;
    let direct = server.fs_with(&server.conf()).await;
    (proxy, proxied, direct)
}

fn data(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

fn dir(name: &str) -> Path {
    Path::parse(&format!("s3a://{BUCKET}/faults/{}", unique(name))).unwrap()
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
            .unwrap_or_else(|e| panic!("{}: write through transient faults: {e}", server.name));
        assert_eq!(direct.read(&file).await.unwrap(), body, "{}", server.name);
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
                .unwrap_or_else(|e| panic!("{}: {e}", server.name)),
            body,
            "{}: read through truncated and reset replies",
            server.name
        );
        let listed = fs.list_status(&base).await.unwrap();
        assert_eq!(listed.len(), 1, "{}: {listed:?}", server.name);

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
            .unwrap_or_else(|e| panic!("{}: store through transient faults: {e}", server.name));
        proxy.sever_all();
        proxy.push(Fault::truncate_down(500));
        proxy.push(Fault::reset_down(0));
        let restored = storage
            .get_latest_checkpoint_by_pipeline("1", 1)
            .await
            .unwrap_or_else(|e| panic!("{}: restore: {e}", server.name));
        assert_eq!(restored.as_ref(), Some(&stored), "{}", server.name);
        let check = FileStorage::new(
            direct.clone(),
            base.join("ns").unwrap(),
            FileStorageOptions::default(),
        );
        assert_eq!(
            check.list_checkpoints("1").await.unwrap().len(),
            1,
            "{}",
            server.name
        );
        assert!(
            proxy.faulted() >= 9,
            "{}: faults injected {}",
            server.name,
            proxy.faulted()
        );
    }
}

/// Fails before the change to one retry layer: the SDK retried on its own, each attempt bounded
/// by a 200 s read timeout only, so a black-holed endpoint held a write for many minutes.
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
                server.name
            );
            let text = err.to_string();
            assert!(
                text.contains(&endpoint) && text.contains("attempts"),
                "{} {name}: the error must name the endpoint and the attempts: {text}",
                server.name
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
                server.name
            );
            assert!(err.to_string().contains(&endpoint), "{err}");

            let start = Instant::now();
            let err = storage.list_checkpoints("2").await.unwrap_err();
            assert!(
                start.elapsed() <= BUDGET + TOLERANCE,
                "{} {name}: list",
                server.name
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
        assert_eq!(entries.len(), 1, "{}: {entries:?}", server.name);
        assert_eq!(
            check
                .get_latest_checkpoint_by_pipeline("3", 1)
                .await
                .unwrap(),
            Some(good.clone()),
            "{}",
            server.name
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
                server.name
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
            .unwrap_or_else(|e| panic!("{}: a lost reply made the create fail: {e}", server.name));
        assert!(
            proxy.faulted() >= 1,
            "{}: no fault was injected",
            server.name
        );
        assert_eq!(direct.read(&file).await.unwrap(), body, "{}", server.name);
        assert_eq!(
            direct.list_status(&base).await.unwrap().len(),
            1,
            "{}",
            server.name
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
