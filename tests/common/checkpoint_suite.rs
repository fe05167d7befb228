//! The checkpoint storage suite, run unchanged on every backend through [`checkpoint_suite!`].

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ckpt::checkpoint::codec::{self, Integrity};
use ckpt::checkpoint::layout::CheckpointFileName;
use ckpt::checkpoint::{
    CheckpointError, CheckpointStorage, FileStorage, FileStorageOptions, PipelineState,
    VerifyStatus,
};
use ckpt::fs::{FileSystem, Path};

/// A file system and a fresh namespace directory on it.
pub struct CheckpointFixture {
    /// The backend.
    pub fs: Arc<dyn FileSystem>,
    /// A namespace no other test uses.
    pub namespace: Path,
    /// Keeps the fixture's resources alive.
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl CheckpointFixture {
    pub fn storage(&self, max_retained: Option<usize>) -> FileStorage {
        FileStorage::new(
            self.fs.clone(),
            self.namespace.clone(),
            FileStorageOptions {
                max_retained,
                checksum: true,
                temp_grace: Duration::ZERO,
            },
        )
    }

    pub fn job_dir(&self, job: &str) -> Path {
        self.namespace.join(job).unwrap()
    }
}

pub fn state(job: &str, pipeline: i32, checkpoint: i64) -> PipelineState {
    PipelineState {
        job_id: job.to_string(),
        pipeline_id: pipeline,
        checkpoint_id: checkpoint,
        states: Bytes::from(format!("state of {job}/{pipeline}/{checkpoint}").repeat(3)),
    }
}

async fn names_in(f: &CheckpointFixture, job: &str) -> Vec<String> {
    match f.fs.list_status(&f.job_dir(job)).await {
        Ok(entries) => entries
            .into_iter()
            .map(|e| e.path.name().to_string())
            .collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => panic!("listing {job}: {e}"),
    }
}

pub async fn store_and_read_back(f: &CheckpointFixture) {
    let s = f.storage(None);
    let stored = s.store_checkpoint(&state("1001", 1, 7)).await.unwrap();
    assert!(
        stored.path.starts_with(&f.job_dir("1001").to_string()),
        "{}",
        stored.path
    );
    let path = Path::parse(&stored.path).unwrap();
    let name = CheckpointFileName::parse(path.name()).expect("Java layout name");
    assert_eq!((name.pipeline_id, name.checkpoint_id), (1, 7));
    assert!(name.random < 1000);
    let bytes = f.fs.read(&path).await.unwrap();
    let java = codec::encode(&state("1001", 1, 7), false).unwrap();
    assert!(
        bytes.starts_with(&java),
        "file starts with Java's exact encoding"
    );
    assert_eq!(
        bytes.len(),
        java.len() + 5,
        "plus the 5-byte checksum field"
    );
    assert_eq!(
        s.get_checkpoint("1001", 1, 7).await.unwrap(),
        state("1001", 1, 7)
    );
    assert_eq!(
        names_in(f, "1001").await,
        vec![path.name().to_string()],
        "no temporary file left"
    );
}

pub async fn latest_per_pipeline(f: &CheckpointFixture) {
    let s = f.storage(None);
    for c in 1..=4 {
        for p in 1..=3 {
            s.store_checkpoint(&state("1002", p, c)).await.unwrap();
        }
    }
    // A later store with a smaller checkpoint id is still the latest (Java orders by time).
    s.store_checkpoint(&state("1002", 2, 1)).await.unwrap();
    let latest = s.get_latest_checkpoint("1002").await.unwrap();
    let mut got: Vec<(i32, i64)> = latest
        .iter()
        .map(|s| (s.pipeline_id, s.checkpoint_id))
        .collect();
    got.sort();
    assert_eq!(got, vec![(1, 4), (2, 1), (3, 4)]);
    assert_eq!(
        s.get_latest_checkpoint_by_pipeline("1002", 3)
            .await
            .unwrap(),
        Some(state("1002", 3, 4))
    );
    assert_eq!(
        s.get_latest_checkpoint_by_pipeline("1002", 9)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.get_checkpoints_by_pipeline("1002", 1)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(s.get_all_checkpoints("1002").await.unwrap().len(), 13);
    assert!(s.get_all_checkpoints("424242").await.unwrap().is_empty());
}

pub async fn retention_from_listing_survives_restart(f: &CheckpointFixture) {
    let first = f.storage(Some(5));
    for c in 1..=7 {
        first.store_checkpoint(&state("1003", 1, c)).await.unwrap();
        first.store_checkpoint(&state("1003", 2, c)).await.unwrap();
    }
    let ids = |list: Vec<PipelineState>| {
        let mut v: Vec<i64> = list.into_iter().map(|s| s.checkpoint_id).collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(first.get_checkpoints_by_pipeline("1003", 1).await.unwrap()),
        vec![3, 4, 5, 6, 7]
    );
    // "Restart" with a smaller limit: retention comes from the listing, not from memory.
    let second = f.storage(Some(2));
    let stored = second.store_checkpoint(&state("1003", 1, 8)).await.unwrap();
    assert_eq!(stored.pruned.len(), 4, "pruned {:?}", stored.pruned);
    assert_eq!(
        ids(second.get_checkpoints_by_pipeline("1003", 1).await.unwrap()),
        vec![7, 8]
    );
    assert_eq!(
        ids(second.get_checkpoints_by_pipeline("1003", 2).await.unwrap()).len(),
        5,
        "other pipeline untouched"
    );
    let report = second.prune(None).await.unwrap();
    assert_eq!(report.checkpoints.len(), 3);
    assert_eq!(
        ids(second.get_checkpoints_by_pipeline("1003", 2).await.unwrap()),
        vec![6, 7]
    );
}

async fn newest_file(f: &CheckpointFixture, s: &FileStorage, job: &str, pipeline: i32) -> Path {
    let entries = s.list_checkpoints(job).await.unwrap();
    let newest = entries
        .iter()
        .find(|e| e.name.pipeline_id == pipeline)
        .unwrap();
    let _ = f;
    Path::parse(&newest.path).unwrap()
}

async fn damaged_latest_falls_back(f: &CheckpointFixture, job: &str, damage: fn(Bytes) -> Bytes) {
    let s = f.storage(None);
    for c in 1..=3 {
        s.store_checkpoint(&state(job, 1, c)).await.unwrap();
    }
    let newest = newest_file(f, &s, job, 1).await;
    let original = f.fs.read(&newest).await.unwrap();
    f.fs.write(&newest, damage(original), true).await.unwrap();
    let restore = s.restore_latest(job, 1).await.unwrap();
    assert_eq!(
        restore.state,
        Some(state(job, 1, 2)),
        "falls back to the previous checkpoint"
    );
    assert_eq!(restore.skipped.len(), 1);
    assert_eq!(restore.skipped[0].path, newest.to_string());
    assert_eq!(restore.integrity, Some(Integrity::Verified));
    assert_eq!(
        s.get_latest_checkpoint_by_pipeline(job, 1).await.unwrap(),
        Some(state(job, 1, 2))
    );
    // Nothing was deleted by the restore.
    assert_eq!(s.list_checkpoints(job).await.unwrap().len(), 3);
    let report = s.verify().await.unwrap();
    assert!(!report.is_clean());
    assert!(
        report
            .entries
            .iter()
            .any(|e| e.path == newest.to_string()
                && matches!(e.status, VerifyStatus::Corrupt { .. }))
    );
}

pub async fn corrupt_latest_falls_back(f: &CheckpointFixture) {
    damaged_latest_falls_back(f, "1004", |b| {
        let mut v = b.to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0x5A;
        Bytes::from(v)
    })
    .await;
}

pub async fn truncated_latest_falls_back(f: &CheckpointFixture) {
    damaged_latest_falls_back(f, "1005", |b| b.slice(..b.len() / 2)).await;
}

pub async fn empty_latest_falls_back(f: &CheckpointFixture) {
    damaged_latest_falls_back(f, "1006", |_| Bytes::new()).await;
}

pub async fn java_written_files_read(f: &CheckpointFixture) {
    let s = f.storage(None);
    let name = CheckpointFileName {
        millis: 1_699_999_999_999,
        random: 42,
        pipeline_id: 1,
        checkpoint_id: 7,
    };
    let path = f.job_dir("1007").join(&name.file_name()).unwrap();
    f.fs.write(
        &path,
        codec::encode(&state("1007", 1, 7), false).unwrap(),
        false,
    )
    .await
    .unwrap();
    let restore = s.restore_latest("1007", 1).await.unwrap();
    assert_eq!(restore.state, Some(state("1007", 1, 7)));
    assert_eq!(restore.integrity, Some(Integrity::Absent));
}

pub async fn foreign_and_temp_files(f: &CheckpointFixture) {
    let s = f.storage(Some(3));
    s.store_checkpoint(&state("1008", 1, 1)).await.unwrap();
    let dir = f.job_dir("1008");
    let foreign = dir.join("notes.txt").unwrap();
    f.fs.write(&foreign, Bytes::from_static(b"hello"), false)
        .await
        .unwrap();
    let odd = dir.join("1-2-x-4.ser").unwrap();
    f.fs.write(&odd, Bytes::from_static(b"junk"), false)
        .await
        .unwrap();
    let temp = dir.join("1700000000000-1-1-9.sertmp").unwrap();
    f.fs.write(&temp, Bytes::from_static(b"partial"), false)
        .await
        .unwrap();
    // A file named like a checkpoint of another pipeline whose content is someone else's.
    let mislabeled = dir
        .join(
            &CheckpointFileName {
                millis: 1,
                random: 0,
                pipeline_id: 1,
                checkpoint_id: 99,
            }
            .file_name(),
        )
        .unwrap();
    f.fs.write(
        &mislabeled,
        codec::encode(&state("1008", 1, 5), true).unwrap(),
        false,
    )
    .await
    .unwrap();

    assert_eq!(
        s.list_checkpoints("1008").await.unwrap().len(),
        2,
        "only .ser names in the layout"
    );
    assert_eq!(
        s.get_all_checkpoints("1008").await.unwrap(),
        vec![state("1008", 1, 1)]
    );
    let report = s.verify().await.unwrap();
    let status_of = |p: &Path| {
        report
            .entries
            .iter()
            .find(|e| e.path == p.to_string())
            .map(|e| e.status.clone())
    };
    assert_eq!(status_of(&foreign), Some(VerifyStatus::Foreign));
    assert_eq!(status_of(&odd), Some(VerifyStatus::Foreign));
    assert_eq!(status_of(&temp), Some(VerifyStatus::Temp));
    // A content/name mismatch says so (it was "truncated or malformed at byte 0").
    match status_of(&mislabeled) {
        Some(VerifyStatus::Corrupt { reason }) => {
            assert!(
                reason.contains("content is job 1008 pipeline 1 checkpoint 5")
                    && reason.contains("named for job 1008 pipeline 1 checkpoint 99")
                    && !reason.contains("malformed"),
                "{reason}"
            );
        }
        other => panic!("mislabeled file: {other:?}"),
    }
    assert!(!report.is_clean());

    let pruned = s.prune(Some("1008")).await.unwrap();
    assert_eq!(pruned.temp_files, vec![temp.to_string()]);
    assert!(!f.fs.exists(&temp).await.unwrap());
    assert!(
        f.fs.exists(&foreign).await.unwrap(),
        "prune never touches foreign files"
    );
    assert_eq!(
        s.get_checkpoint("1008", 1, 1).await.unwrap(),
        state("1008", 1, 1)
    );
}

pub async fn invalid_ids_are_refused(f: &CheckpointFixture) {
    let s = f.storage(None);
    for job in ["../escape", "1/2", "", "-3", "12a"] {
        let err = s.store_checkpoint(&state(job, 1, 1)).await.unwrap_err();
        assert!(
            matches!(err, CheckpointError::InvalidId { what: "job id", .. }),
            "{job}: {err}"
        );
        assert!(s.get_all_checkpoints(job).await.is_err());
        assert!(s.delete_job(job).await.is_err());
    }
    assert!(matches!(
        s.store_checkpoint(&state("1", -1, 1)).await.unwrap_err(),
        CheckpointError::InvalidId {
            what: "pipeline id",
            ..
        }
    ));
    assert!(matches!(
        s.store_checkpoint(&state("1", 1, -1)).await.unwrap_err(),
        CheckpointError::InvalidId {
            what: "checkpoint id",
            ..
        }
    ));
    assert!(!f.fs.exists(&f.namespace).await.unwrap() || s.list_jobs().await.unwrap().is_empty());
}

pub async fn deletes(f: &CheckpointFixture) {
    let s = f.storage(None);
    for c in 1..=5 {
        s.store_checkpoint(&state("1009", 1, c)).await.unwrap();
    }
    s.store_checkpoint(&state("1009", 2, 1)).await.unwrap();
    s.delete_checkpoint("1009", 1, 3).await.unwrap();
    s.delete_checkpoints("1009", 1, &[1, 5, 77]).await.unwrap();
    let mut left: Vec<i64> = s
        .get_checkpoints_by_pipeline("1009", 1)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.checkpoint_id)
        .collect();
    left.sort();
    assert_eq!(left, vec![2, 4]);
    let err = s.get_checkpoint("1009", 1, 3).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "No checkpoint found, job(1009), pipeline(1), checkpoint(3)"
    );
    s.delete_job("1009").await.unwrap();
    assert!(!f.fs.exists(&f.job_dir("1009")).await.unwrap());
    assert!(matches!(
        s.delete_checkpoint("1009", 1, 2).await.unwrap_err(),
        CheckpointError::NoCheckpoints { .. }
    ));
    s.delete_job("1009").await.unwrap();
}

pub async fn all_unreadable_is_an_error(f: &CheckpointFixture) {
    let s = f.storage(None);
    s.store_checkpoint(&state("1010", 1, 1)).await.unwrap();
    let only = newest_file(f, &s, "1010", 1).await;
    f.fs.write(&only, Bytes::from_static(b"\x0a\xff"), true)
        .await
        .unwrap();
    let err = s.get_all_checkpoints("1010").await.unwrap_err();
    assert!(
        matches!(err, CheckpointError::AllUnreadable { count: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&only.to_string()));
    let restore = s.restore_latest("1010", 1).await.unwrap();
    assert!(restore.state.is_none());
    assert_eq!(restore.skipped.len(), 1);
}

pub async fn concurrent_pipelines(f: &CheckpointFixture) {
    let s = Arc::new(f.storage(Some(3)));
    let mut handles = Vec::new();
    for p in 1..=4 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            for c in 1..=6 {
                s.store_checkpoint(&state("1011", p, c)).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let background = s.clone().store_checkpoint_async(state("1011", 5, 1));
    background.await.unwrap().unwrap();
    for p in 1..=4 {
        let mut ids: Vec<i64> = s
            .get_checkpoints_by_pipeline("1011", p)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.checkpoint_id)
            .collect();
        ids.sort();
        assert_eq!(ids, vec![4, 5, 6], "pipeline {p}");
    }
    assert_eq!(
        s.get_latest_checkpoint_by_pipeline("1011", 5)
            .await
            .unwrap(),
        Some(state("1011", 5, 1))
    );
    assert!(s.verify().await.unwrap().is_clean());
    assert_eq!(s.list_jobs().await.unwrap(), vec!["1011".to_string()]);
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn put(f: &CheckpointFixture, job: &str, name: CheckpointFileName, data: Bytes) -> Path {
    let path = f.job_dir(job).join(&name.file_name()).unwrap();
    f.fs.write(&path, data, true).await.unwrap();
    path
}

/// Issue 7, defect 1: with the newest files of a pipeline torn, retention (after a store and
/// in `prune`) keeps the newest readable checkpoints and does not count the torn ones.
pub async fn retention_keeps_newest_readable(f: &CheckpointFixture) {
    let s = f.storage(Some(2));
    for c in 1..=3 {
        s.store_checkpoint(&state("1012", 1, c)).await.unwrap();
    }
    // Two torn files, newer than everything (a writer that crashed writing in place).
    let base = now_millis() + 50;
    for (i, c) in [(0u64, 4i64), (1, 5)] {
        let name = CheckpointFileName {
            millis: base + i,
            random: 1,
            pipeline_id: 1,
            checkpoint_id: c,
        };
        put(f, "1012", name, Bytes::from_static(b"\x0a\x04torn")).await;
    }
    let fresh = f.storage(Some(2));
    let report = fresh.prune(Some("1012")).await.unwrap();
    assert!(
        report.checkpoints.is_empty(),
        "pruned {:?}",
        report.checkpoints
    );
    assert_eq!(
        fresh.restore_latest("1012", 1).await.unwrap().state,
        Some(state("1012", 1, 3))
    );
    let readable: Vec<i64> = fresh
        .get_checkpoints_by_pipeline("1012", 1)
        .await
        .unwrap()
        .iter()
        .map(|s| s.checkpoint_id)
        .collect();
    assert_eq!(
        readable.len(),
        2,
        "the two newest readable are kept: {readable:?}"
    );
    // Two readable stores later, the torn files are older than the kept ones and go.
    fresh.store_checkpoint(&state("1012", 1, 6)).await.unwrap();
    fresh.store_checkpoint(&state("1012", 1, 7)).await.unwrap();
    let mut left: Vec<i64> = fresh
        .list_checkpoints("1012")
        .await
        .unwrap()
        .iter()
        .map(|e| e.name.checkpoint_id)
        .collect();
    left.sort();
    assert_eq!(left, vec![6, 7]);
}

/// Issue 7, defect 2: files of other writers dated after this writer's clock never make
/// retention delete the checkpoint just stored; the next store is named after them.
pub async fn a_store_survives_newer_files_of_other_writers(f: &CheckpointFixture) {
    let s = f.storage(Some(1));
    s.store_checkpoint(&state("1013", 1, 1)).await.unwrap();
    // Another writer, its clock an hour ahead, stores a readable checkpoint and a torn one
    // after this storage last listed the job.
    let ahead = now_millis() + 3_600_000;
    let other = CheckpointFileName {
        millis: ahead,
        random: 2,
        pipeline_id: 1,
        checkpoint_id: 2,
    };
    put(
        f,
        "1013",
        other,
        codec::encode(&state("1013", 1, 2), true).unwrap(),
    )
    .await;
    let torn = CheckpointFileName {
        millis: ahead + 1,
        random: 3,
        pipeline_id: 1,
        checkpoint_id: 3,
    };
    put(f, "1013", torn, Bytes::new()).await;
    let stored = s.store_checkpoint(&state("1013", 1, 4)).await.unwrap();
    assert!(
        !stored.pruned.contains(&stored.path),
        "pruned itself: {stored:?}"
    );
    assert!(
        f.fs.exists(&Path::parse(&stored.path).unwrap())
            .await
            .unwrap()
    );
    // The next store has seen the newer files and sorts after them: restores choose it.
    let next = s.store_checkpoint(&state("1013", 1, 5)).await.unwrap();
    let name = CheckpointFileName::parse(Path::parse(&next.path).unwrap().name()).unwrap();
    assert!(
        name.millis > ahead + 1,
        "{} sorts before the other writer's files",
        next.path
    );
    assert_eq!(
        s.get_latest_checkpoint_by_pipeline("1013", 1)
            .await
            .unwrap(),
        Some(state("1013", 1, 5))
    );
}

/// Issue 7, defect 3: a listed file that vanishes before it is read (a concurrent store and
/// prune) leads to a fresh listing and the newer checkpoint, never to "nothing to restore".
pub async fn restore_lists_again_when_a_file_vanishes(f: &CheckpointFixture) {
    let writer = Arc::new(f.storage(Some(1)));
    writer.store_checkpoint(&state("1014", 1, 1)).await.unwrap();
    let newest = newest_file(f, &writer, "1014", 1).await;
    let action_writer = writer.clone();
    let hooked = Arc::new(super::hook_fs::HookFs::new(
        f.fs.clone(),
        &newest,
        async move {
            // Between the reader's listing and its read: a store whose retention prunes the file.
            let stored = action_writer
                .store_checkpoint(&state("1014", 1, 2))
                .await
                .unwrap();
            assert_eq!(stored.pruned.len(), 1, "{stored:?}");
        },
    ));
    let reader = FileStorage::new(
        hooked.clone(),
        f.namespace.clone(),
        FileStorageOptions::default(),
    );
    let restore = reader.restore_latest("1014", 1).await.unwrap();
    assert!(hooked.fired().await);
    assert_eq!(restore.state, Some(state("1014", 1, 2)));
    // `get_checkpoint` of one that was pruned meanwhile says so.
    let hooked = Arc::new(super::hook_fs::HookFs::new(
        f.fs.clone(),
        &newest_file(f, &writer, "1014", 1).await,
        {
            let w = writer.clone();
            async move {
                w.store_checkpoint(&state("1014", 1, 3)).await.unwrap();
            }
        },
    ));
    let reader = FileStorage::new(hooked, f.namespace.clone(), FileStorageOptions::default());
    match reader.get_checkpoint("1014", 1, 2).await {
        Err(e @ CheckpointError::Pruned { .. }) => {
            assert!(e.to_string().contains("was pruned"), "{e}")
        }
        other => panic!("expected a 'was pruned' error, got {other:?}"),
    }
}

/// Two writers storing the same checkpoint id of one pipeline at once: both succeed under
/// distinct names, and the newer by name is what restores and `get_checkpoint` return.
pub async fn two_writers_same_checkpoint_id(f: &CheckpointFixture) {
    let a = Arc::new(f.storage(Some(3)));
    let b = Arc::new(f.storage(Some(3)));
    let mut sa = state("1015", 1, 9);
    sa.states = Bytes::from_static(b"writer a");
    let mut sb = state("1015", 1, 9);
    sb.states = Bytes::from_static(b"writer b");
    let (ra, rb) = tokio::join!(a.store_checkpoint(&sa), b.store_checkpoint(&sb));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_ne!(ra.path, rb.path);
    let entries = a.list_checkpoints("1015").await.unwrap();
    assert_eq!(entries.len(), 2);
    let newest = if entries[0].path == ra.path { &sa } else { &sb };
    assert_eq!(&a.get_checkpoint("1015", 1, 9).await.unwrap(), newest);
    assert_eq!(
        a.get_latest_checkpoint_by_pipeline("1015", 1)
            .await
            .unwrap()
            .as_ref(),
        Some(newest)
    );
}

/// Issue 7, concurrency: 16 jobs x 4 pipelines store with retention on while readers restore
/// in a loop. No reader ever sees "no checkpoint" once one was acknowledged, nor an older one
/// than the last acknowledged before its read began; each pipeline ends with exactly its newest
/// `max-retained` acknowledged checkpoints. `CKPT_CONCURRENCY_CHECKPOINTS` sets the number of
/// checkpoints per pipeline (default 6).
pub async fn concurrent_writers_and_readers(f: &CheckpointFixture) {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    const JOBS: usize = 16;
    const PIPELINES: i32 = 4;
    const KEEP: usize = 2;
    let checkpoints: i64 = std::env::var("CKPT_CONCURRENCY_CHECKPOINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let storage = Arc::new(f.storage(Some(KEEP)));
    let acked: Arc<Vec<AtomicI64>> = Arc::new(
        (0..JOBS * PIPELINES as usize)
            .map(|_| AtomicI64::new(0))
            .collect(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let job_id = |j: usize| format!("{}", 2000 + j);
    let slot = |j: usize, p: i32| j * PIPELINES as usize + (p - 1) as usize;
    let mut writers = Vec::new();
    for j in 0..JOBS {
        let (storage, acked) = (storage.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for c in 1..=checkpoints {
                for p in 1..=PIPELINES {
                    storage
                        .store_checkpoint(&state(&job_id(j), p, c))
                        .await
                        .unwrap();
                    acked[slot(j, p)].store(c, Ordering::SeqCst);
                }
            }
        }));
    }
    let mut readers = Vec::new();
    for r in 0..4usize {
        // Each reader is its own storage, as a restarted engine or the CLI would be.
        let reader = Arc::new(f.storage(Some(KEEP)));
        let (acked, done) = (acked.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut restores = 0u64;
            let mut round = r;
            while !done.load(Ordering::SeqCst) {
                let j = round % JOBS;
                let p = (round % PIPELINES as usize) as i32 + 1;
                round += 1;
                let before = acked[slot(j, p)].load(Ordering::SeqCst);
                let restore = reader.restore_latest(&job_id(j), p).await.unwrap();
                restores += 1;
                if before > 0 {
                    let got = restore.state.as_ref().map(|s| s.checkpoint_id);
                    assert!(
                        got.is_some_and(|c| c >= before),
                        "job {} pipeline {p}: restored {got:?} after checkpoint {before} was acknowledged (skipped {:?})",
                        job_id(j),
                        restore.skipped
                    );
                    assert_eq!(restore.state.unwrap(), state(&job_id(j), p, got.unwrap()));
                }
            }
            restores
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut restores = 0;
    for r in readers {
        restores += r.await.unwrap();
    }
    assert!(restores > 0);
    let keep = (checkpoints as usize).min(KEEP) as i64;
    for j in 0..JOBS {
        let entries = storage.list_checkpoints(&job_id(j)).await.unwrap();
        for p in 1..=PIPELINES {
            let mut ids: Vec<i64> = entries
                .iter()
                .filter(|e| e.name.pipeline_id == p)
                .map(|e| e.name.checkpoint_id)
                .collect();
            ids.sort();
            let want: Vec<i64> = (checkpoints - keep + 1..=checkpoints).collect();
            assert_eq!(ids, want, "job {} pipeline {p}", job_id(j));
        }
    }
    assert!(storage.verify().await.unwrap().is_clean());
}

/// Generates one `#[tokio::test]` per suite function. `$fixture` is an async expression
/// returning `Option<CheckpointFixture>` (`None` only when a server is missing and skipping
/// is allowed, see `common::missing`).
#[macro_export]
macro_rules! checkpoint_suite {
    ($fixture:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(fixture) = $fixture else { return };
                $crate::common::checkpoint_suite::$name(&fixture).await;
            }
        )*
    };
    ($fixture:expr) => {
        $crate::checkpoint_suite!($fixture;
            store_and_read_back, latest_per_pipeline, retention_from_listing_survives_restart,
            corrupt_latest_falls_back, truncated_latest_falls_back, empty_latest_falls_back,
            java_written_files_read, foreign_and_temp_files, invalid_ids_are_refused, deletes,
            all_unreadable_is_an_error, concurrent_pipelines, retention_keeps_newest_readable,
            a_store_survives_newer_files_of_other_writers, restore_lists_again_when_a_file_vanishes,
            two_writers_same_checkpoint_id, concurrent_writers_and_readers);
    };
}
