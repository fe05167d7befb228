//! Faults on the wire between ckpt and the NameNodes of an HA MiniDFSCluster (issue 7 "faults on
//! the wire", issue 8 items 3 and 4): a fault proxy (tests/common/fault_proxy.rs) in front of
//! each NameNode, reached through a nameservice of its own (`faulty`, NameNodes `nn1` and `nn2`
//! at the proxies), so the cluster itself is left alone and shared by the tests of this binary.
//! DataNode traffic goes directly to the DataNodes.
//!
//! - both NameNodes refusing: a store ends within one `ckpt.retry.max-elapsed` budget (not one
//!   per step) and says which checkpoint and which NameNodes failed;
//! - a half-open NameNode (accepts, never answers): `ckpt.hdfs.namenode.call-timeout` ends each
//!   call, the client is rebuilt trying the other NameNode first, and the store goes through;
//! - connections reset mid-call, then healed: stores succeed and read back byte for byte,
//!   nothing torn is listed.

#![cfg(feature = "hdfs")]

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::fs::{FileSystem, FileSystemRegistry, FsError, Path};
use common::checkpoint_suite::state;
use common::conformance::{pattern, unique};
use common::fault_proxy::{Fault, FaultProxy};
use common::hdfs_env::{HdfsEnv, shared_blocking};

static CLUSTER: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();

fn cluster() -> Option<&'static HdfsEnv> {
    shared_blocking(&CLUSTER, "ha")
}

const NAMESERVICE: &str = "faulty";

/// A proxy in front of NameNode `nn1` (of the cluster's NameNode `first`) and one in front of
/// `nn2` (the other one), and a file system on nameservice `faulty` that reaches them.
struct Proxied {
    nn1: FaultProxy,
    nn2: FaultProxy,
    fs: Arc<dyn FileSystem>,
    namespace: Path,
}

async fn proxied(env: &HdfsEnv, first: usize, extra: &[(&str, &str)]) -> Proxied {
    let upstream = |i: usize| env.nn_address(i).parse().expect("NameNode address");
    let nn1 = FaultProxy::start(upstream(first)).await;
    let nn2 = FaultProxy::start(upstream(1 - first)).await;
    let mut conf = env.site_conf();
    let nameservices = match conf.get("dfs.nameservices") {
        Some(existing) => format!("{existing},{NAMESERVICE}"),
        None => NAMESERVICE.to_string(),
    };
    conf.set("dfs.nameservices", nameservices);
    conf.set(format!("dfs.ha.namenodes.{NAMESERVICE}"), "nn1,nn2");
    conf.set(
        format!("dfs.namenode.rpc-address.{NAMESERVICE}.nn1"),
        nn1.addr().to_string(),
    );
    conf.set(
        format!("dfs.namenode.rpc-address.{NAMESERVICE}.nn2"),
        nn2.addr().to_string(),
    );
    conf.set(
        format!("dfs.client.failover.proxy.provider.{NAMESERVICE}"),
        "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
    );
    for (k, v) in extra {
        conf.set(*k, *v);
    }
    let root = Path::parse(&format!("hdfs://{NAMESERVICE}/"))
        .expect("root")
        .root();
    let fs = FileSystemRegistry::with_builtins()
        .get(&root, &conf)
        .await
        .unwrap_or_else(|e| panic!("file system on {root}: {e}"));
    let namespace =
        Path::parse(&format!("hdfs://{NAMESERVICE}/ckpt/{}", unique("faults"))).expect("namespace");
    Proxied {
        nn1,
        nn2,
        fs,
        namespace,
    }
}

fn storage(fs: Arc<dyn FileSystem>, namespace: &Path) -> FileStorage {
    FileStorage::new(
        fs,
        namespace.clone(),
        FileStorageOptions {
            max_retained: Some(3),
            ..FileStorageOptions::default()
        },
    )
}

/// The same namespace straight on the cluster's own nameservice, without proxies.
async fn direct(env: &HdfsEnv, namespace: &Path) -> FileStorage {
    let path = Path::parse(&format!(
        "{}{}",
        env.info.default_fs.trim_end_matches('/'),
        namespace.path()
    ))
    .expect("direct namespace");
    storage(env.file_system(&[]).await, &path)
}

fn with_states(job: &str, pipeline: i32, checkpoint: i64, len: usize) -> PipelineState {
    PipelineState {
        states: pattern(len, checkpoint as u8),
        ..state(job, pipeline, checkpoint)
    }
}

const BUDGET: Duration = Duration::from_secs(6);

/// The bound the issue asks for: the budget, plus half of it and 2 s of slack for the last
/// attempt and a busy machine (before the fix a store took about twice the budget).
fn bound(budget: Duration) -> Duration {
    budget + budget / 2 + Duration::from_secs(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_namenodes_refusing_fail_a_store_within_one_budget_naming_them() {
    let Some(env) = cluster() else { return };
    let Proxied {
        nn1,
        nn2,
        fs,
        namespace,
    } = proxied(
        env,
        0,
        &[
            ("ckpt.retry.max-elapsed", "6s"),
            ("ckpt.retry.max-backoff", "500ms"),
        ],
    )
    .await;
    assert_eq!(fs.operation_budget(), Some(BUDGET));
    let job = "4001";
    let s = storage(fs.clone(), &namespace);
    s.store_checkpoint(&state(job, 1, 1))
        .await
        .expect("store through healthy proxies");
    let (a1, a2) = (nn1.addr(), nn2.addr());
    // Both NameNodes gone: their addresses refuse connections.
    drop(nn1);
    drop(nn2);
    let start = Instant::now();
    let err = s.store_checkpoint(&state(job, 1, 2)).await.unwrap_err();
    let spent = start.elapsed();
    let text = err.to_string();
    assert!(
        spent < bound(BUDGET),
        "took {spent:?} for a budget of {BUDGET:?}: {text}"
    );
    assert!(
        text.starts_with(&format!(
            "storing checkpoint 2 of pipeline 1 of job {job} failed: "
        )),
        "{text}"
    );
    for (id, addr) in [("nn1", a1), ("nn2", a2)] {
        assert!(
            text.contains(&format!("NameNode {id} at {addr}")),
            "{id}: {text}"
        );
    }
    assert!(
        text.contains(&format!("of nameservice {NAMESERVICE}")),
        "{text}"
    );
    assert!(
        matches!(err.fs_error(), Some(FsError::RetriesExhausted { .. })),
        "{err:?}"
    );
    assert!(err.is_retryable(), "{err:?}");
    // A storage that has not listed the job yet spends at most a part of the budget on the
    // listing, then goes on with its clock: the same bound.
    let fresh = storage(fs, &namespace);
    let start = Instant::now();
    let err = fresh.store_checkpoint(&state(job, 2, 3)).await.unwrap_err();
    let spent = start.elapsed();
    assert!(spent < bound(BUDGET), "took {spent:?}: {err}");
    assert!(
        err.to_string()
            .starts_with(&format!("storing checkpoint 3 of pipeline 2 of job {job}")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_namenode_does_not_hang_a_store() {
    let Some(env) = cluster() else { return };
    // nn1, tried first, is the standby's proxy and accepts without ever answering; nn2 leads
    // to the active NameNode.
    let standby = 1 - env.active();
    let p = proxied(
        env,
        standby,
        &[
            ("ckpt.retry.max-elapsed", "10s"),
            ("ckpt.hdfs.namenode.call-timeout", "1s"),
        ],
    )
    .await;
    p.nn1.set_default(Fault::blackhole());
    let s = storage(p.fs.clone(), &p.namespace);
    let job = "4002";
    let budget = Duration::from_secs(10);
    let mut stored = Vec::new();
    for checkpoint in 1..=3 {
        let wanted = with_states(job, 1, checkpoint, 20_000);
        let start = Instant::now();
        // An outer limit only so that a hang (the defect) fails the test instead of blocking it.
        let outcome = tokio::time::timeout(3 * budget, s.store_checkpoint(&wanted)).await;
        let spent = start.elapsed();
        let result = outcome.unwrap_or_else(|_| panic!("store {checkpoint} hung for {spent:?}"));
        assert!(
            spent < bound(budget),
            "store {checkpoint} took {spent:?}: {result:?}"
        );
        match result {
            Ok(_) => stored.push(wanted),
            Err(e) => panic!("store {checkpoint} failed although nn2 answers ({spent:?}): {e}"),
        }
    }
    assert!(
        p.nn1.faulted() >= 1,
        "the half-open NameNode was never tried"
    );
    let check = direct(env, &p.namespace).await;
    for wanted in &stored {
        assert_eq!(
            &check
                .get_checkpoint(job, 1, wanted.checkpoint_id)
                .await
                .unwrap(),
            wanted
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_mid_call_then_healed_lose_nothing() {
    let Some(env) = cluster() else { return };
    let p = proxied(
        env,
        env.active(),
        &[
            ("ckpt.retry.max-elapsed", "30s"),
            ("ckpt.hdfs.namenode.call-timeout", "5s"),
        ],
    )
    .await;
    let s = storage(p.fs.clone(), &p.namespace);
    let job = "4003";
    let mut acknowledged = Vec::new();
    for checkpoint in 1..=5i64 {
        // Every connection open now is cut; the next ones are reset part-way through a call
        // (a request cut while being sent, a reply cut while being received), then it heals.
        for proxy in [&p.nn1, &p.nn2] {
            proxy.sever_all();
            let n = checkpoint as u64;
            proxy.push(Fault::reset_up(150 + 90 * n));
            proxy.push(Fault::reset_down(20 + 15 * n));
            proxy.push(Fault::reset_up(400 + 50 * n));
        }
        let wanted = with_states(job, 1, checkpoint, 30_000 + checkpoint as usize);
        let stored = s
            .store_checkpoint(&wanted)
            .await
            .unwrap_or_else(|e| panic!("store {checkpoint} through resets: {e}"));
        acknowledged.push((stored.path, wanted));
    }
    assert!(
        p.nn1.faulted() + p.nn2.faulted() >= 5,
        "the resets never fired ({} and {})",
        p.nn1.faulted(),
        p.nn2.faulted()
    );
    let check = direct(env, &p.namespace).await;
    let listed = check.list_checkpoints(job).await.unwrap();
    // Retention keeps 3; every listed file is one this test stored and reads back whole.
    assert_eq!(listed.len(), 3, "{listed:?}");
    for entry in &listed {
        let name = entry.path.rsplit('/').next().unwrap_or_default();
        let (_, wanted) = acknowledged
            .iter()
            .find(|(path, _)| path.ends_with(name))
            .unwrap_or_else(|| panic!("listed {} was never acknowledged", entry.path));
        assert_eq!(
            &check
                .get_checkpoint(job, 1, wanted.checkpoint_id)
                .await
                .unwrap(),
            wanted
        );
    }
    let newest: Vec<i64> = acknowledged[2..]
        .iter()
        .map(|(_, w)| w.checkpoint_id)
        .collect();
    let mut kept: Vec<i64> = listed.iter().map(|e| e.name.checkpoint_id).collect();
    kept.sort();
    assert_eq!(kept, newest);
}
