//! HA under load, on its own hdfs-testenv `ha` cluster: while several pipelines store
//! checkpoints in a loop, the active NameNode is failed over, then killed (and restarted), then
//! a DataNode is killed in the middle of a large write. Every store that returned `Ok` is read
//! back byte-for-byte afterwards; a store that failed must have failed with a retryable error.

#![cfg(feature = "hdfs")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::checkpoint::{CheckpointError, CheckpointStorage, FileStorage, FileStorageOptions};
use common::checkpoint_suite::state;
use common::conformance::pattern;
use common::hdfs_env::HdfsEnv;

const PIPELINES: i32 = 4;

#[derive(Default)]
struct PipelineLog {
    stored: Vec<i64>,
    failed: Vec<(i64, String)>,
    longest_call: Duration,
    longest_gap: Duration,
}

fn retryable(e: &CheckpointError) -> bool {
    e.is_retryable()
}

async fn pipeline_loop(
    storage: Arc<FileStorage>,
    pipeline: i32,
    stop: Arc<AtomicBool>,
) -> PipelineLog {
    let mut log = PipelineLog::default();
    let mut last_ok = Instant::now();
    let mut id = 0i64;
    while !stop.load(Ordering::SeqCst) {
        id += 1;
        let started = Instant::now();
        let result = storage.store_checkpoint(&state("9000", pipeline, id)).await;
        let took = started.elapsed();
        log.longest_call = log.longest_call.max(took);
        match result {
            Ok(_) => {
                log.longest_gap = log.longest_gap.max(last_ok.elapsed());
                last_ok = Instant::now();
                log.stored.push(id);
            }
            Err(e) => {
                assert!(
                    retryable(&e),
                    "a store during the switch failed with a non-retryable error: {e:?}"
                );
                log.failed.push((id, e.to_string()));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    log
}

async fn command(env: &'static HdfsEnv, cmd: &'static str) -> String {
    tokio::task::spawn_blocking(move || env.must(cmd))
        .await
        .expect("command thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_kill_and_datanode_loss_under_load() {
    let env: &'static HdfsEnv =
        match tokio::task::block_in_place(|| HdfsEnv::start("ha", &["--datanodes", "4"])) {
            Ok(env) => Box::leak(Box::new(env)),
            Err(e) => {
                common::missing::<()>(&format!("HDFS HA test cluster could not start: {e}"));
                return;
            }
        };
    let fs = env.file_system(&[("ckpt.retry.max-elapsed", "60s")]).await;
    // Checkpoints are written whole: they replay from the caller's buffer, whatever the
    // streaming replay buffer is (1 byte here, so a streaming replay could never help).
    let store_fs = env
        .file_system(&[
            ("ckpt.retry.max-elapsed", "60s"),
            ("ckpt.hdfs.write.replay-buffer", "1"),
        ])
        .await;
    let namespace = env.fresh_dir("ha-load");
    let storage = Arc::new(FileStorage::new(
        store_fs,
        namespace.clone(),
        FileStorageOptions {
            max_retained: None,
            ..FileStorageOptions::default()
        },
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = (1..=PIPELINES)
        .map(|p| tokio::spawn(pipeline_loop(storage.clone(), p, stop.clone())))
        .collect();

    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = env.active();
    eprintln!("failover: {}", command(env, "failover").await);
    assert_ne!(env.active(), before, "failover moved the active NameNode");
    tokio::time::sleep(Duration::from_secs(4)).await;

    let active = env.active();
    let kill: &'static str = if active == 0 {
        "kill-nn 0"
    } else {
        "kill-nn 1"
    };
    let restart: &'static str = if active == 0 {
        "restart-nn 0"
    } else {
        "restart-nn 1"
    };
    eprintln!("{kill}: {}", command(env, kill).await);
    tokio::time::sleep(Duration::from_secs(5)).await;
    eprintln!("{restart}: {}", command(env, restart).await);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A DataNode dies in the middle of a large streaming write.
    let big_path = namespace.join("big/during-dn-kill").unwrap();
    let chunks: Vec<Bytes> = (0..48u8).map(|i| pattern(256 * 1024, i)).collect();
    let mut writer = fs.create(&big_path, false).await.unwrap();
    for (i, chunk) in chunks.iter().enumerate() {
        if i == 12 {
            eprintln!("kill-dn 0: {}", command(env, "kill-dn 0").await);
        }
        writer.write(chunk.clone()).await.unwrap();
    }
    writer
        .close()
        .await
        .expect("close after a DataNode was lost");
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    stop.store(true, Ordering::SeqCst);
    let mut logs = Vec::new();
    for l in loops {
        logs.push(l.await.expect("pipeline loop"));
    }

    // Everything acknowledged is there, byte for byte.
    let got = fs.read(&big_path).await.unwrap();
    assert!(
        got.len() == expected.len() && got == expected,
        "large file differs after DataNode loss"
    );
    let mut total = 0;
    let mut longest_call = Duration::ZERO;
    let mut longest_gap = Duration::ZERO;
    for (i, log) in logs.iter().enumerate() {
        let pipeline = i as i32 + 1;
        assert!(
            log.stored.len() > 5,
            "pipeline {pipeline} stored only {} checkpoints",
            log.stored.len()
        );
        for id in &log.stored {
            let back = storage
                .get_checkpoint("9000", pipeline, *id)
                .await
                .unwrap_or_else(|e| {
                    panic!("pipeline {pipeline} checkpoint {id} acknowledged but unreadable: {e}")
                });
            assert_eq!(
                back,
                state("9000", pipeline, *id),
                "pipeline {pipeline} checkpoint {id}"
            );
        }
        total += log.stored.len();
        longest_call = longest_call.max(log.longest_call);
        longest_gap = longest_gap.max(log.longest_gap);
        for (id, e) in &log.failed {
            eprintln!("pipeline {pipeline} checkpoint {id} failed (retryable): {e}");
        }
    }
    eprintln!(
        "HA under load: {total} checkpoints stored and read back over {PIPELINES} pipelines; \
         longest store call {longest_call:?}, longest stall between successful stores {longest_gap:?}; \
         {} stores failed with retryable errors",
        logs.iter().map(|l| l.failed.len()).sum::<usize>()
    );
    eprintln!("restart-dn 0: {}", command(env, "restart-dn 0").await);

    listing_survives_a_nameservice_outage(env, &fs, &namespace).await;
}

/// Both NameNodes go down part-way through a listing of several pages and one comes back a
/// few seconds later: the stream waits, resumes after the last entry it delivered, and yields
/// every entry exactly once.
async fn listing_survives_a_nameservice_outage(
    env: &'static HdfsEnv,
    fs: &Arc<dyn ckpt::fs::FileSystem>,
    namespace: &ckpt::fs::Path,
) {
    use futures::StreamExt;
    const ENTRIES: usize = 2500; // dfs.ls.limit is 1000: three pages
    let dir = namespace.join("many").unwrap();
    let names: Vec<String> = (0..ENTRIES).map(|i| format!("d{i:05}")).collect();
    for chunk in names.chunks(100) {
        let paths: Vec<ckpt::fs::Path> = chunk.iter().map(|n| dir.join(n).unwrap()).collect();
        futures::future::try_join_all(paths.iter().map(|p| fs.mkdirs(p)))
            .await
            .unwrap();
    }
    let mut stream = fs.list_status_stream(&dir);
    let mut seen = Vec::new();
    while seen.len() < 1200 {
        seen.push(
            stream
                .next()
                .await
                .unwrap()
                .unwrap()
                .path
                .name()
                .to_string(),
        );
    }
    let active = env.active();
    let (first, second): (&'static str, &'static str) = if active == 0 {
        ("kill-nn 0", "kill-nn 1")
    } else {
        ("kill-nn 1", "kill-nn 0")
    };
    eprintln!("{first}: {}", command(env, first).await);
    eprintln!("{second}: {}", command(env, second).await);
    let revive = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        command(env, "restart-nn 0").await
    });
    let started = Instant::now();
    while let Some(entry) = stream.next().await {
        let entry = entry.unwrap_or_else(|e| panic!("listing after the outage: {e}"));
        seen.push(entry.path.name().to_string());
    }
    eprintln!(
        "restart-nn 0: {}; listing resumed and finished {:?} after the outage began",
        revive.await.unwrap(),
        started.elapsed()
    );
    assert_eq!(seen, names, "every entry exactly once, in name order");
    eprintln!("restart-nn 1: {}", command(env, "restart-nn 1").await);
}
