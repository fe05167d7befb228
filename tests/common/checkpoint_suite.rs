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
            all_unreadable_is_an_error, concurrent_pipelines);
    };
}
