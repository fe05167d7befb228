//! Hadoop's checksum sidecars (`.<name>.crc`) beside checkpoint files, as SeaTunnel's `hdfs`
//! plugin leaves them on `file:///` (issue 9): part of their file for verify, restore,
//! retention, delete and prune.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use ckpt::checkpoint::sidecar;
use ckpt::checkpoint::{
    CheckpointStorage, FileStorage, FileStorageOptions, PipelineState, VerifyStatus,
};
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystemRegistry, Path};

const JOB: &str = "9001";

struct Fixture {
    storage: FileStorage,
    job_dir: PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture(max_retained: Option<usize>) -> Fixture {
    fixture_with_grace(max_retained, Duration::ZERO).await
}

async fn fixture_with_grace(max_retained: Option<usize>, temp_grace: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let namespace = Path::parse(&format!("file://{}/ns", dir.path().display())).unwrap();
    let fs = FileSystemRegistry::with_builtins()
        .get(&namespace, &Configuration::new())
        .await
        .unwrap();
    let options = FileStorageOptions {
        max_retained,
        temp_grace,
        ..FileStorageOptions::default()
    };
    Fixture {
        storage: FileStorage::new(fs, namespace, options),
        job_dir: dir.path().join("ns").join(JOB),
        _dir: dir,
    }
}

fn state(checkpoint_id: i64, len: usize) -> PipelineState {
    PipelineState {
        job_id: JOB.into(),
        pipeline_id: 1,
        checkpoint_id,
        states: Bytes::from(vec![checkpoint_id as u8; len]),
    }
}

impl Fixture {
    /// Stores a checkpoint and writes the sidecar Hadoop's LocalFileSystem would have written.
    async fn store_with_sidecar(&self, checkpoint_id: i64, len: usize) -> (PathBuf, PathBuf) {
        let stored = self
            .storage
            .store_checkpoint(&state(checkpoint_id, len))
            .await
            .unwrap();
        let file = PathBuf::from(Path::parse(&stored.path).unwrap().path());
        let sidecar = self.sidecar_of(&file);
        std::fs::write(
            &sidecar,
            sidecar::encode(&std::fs::read(&file).unwrap(), 512),
        )
        .unwrap();
        (file, sidecar)
    }

    fn sidecar_of(&self, file: &std::path::Path) -> PathBuf {
        let name = file.file_name().unwrap().to_str().unwrap();
        self.job_dir.join(sidecar::sidecar_name(name))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.job_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

#[tokio::test]
async fn verify_is_clean_on_files_with_matching_sidecars() {
    let f = fixture(None).await;
    f.store_with_sidecar(1, 0).await;
    f.store_with_sidecar(2, 3000).await;
    let report = f.storage.verify().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    let ok = report
        .entries
        .iter()
        .filter(|e| matches!(e.status, VerifyStatus::Ok { .. }))
        .count();
    assert_eq!(
        ok, 2,
        "the two checkpoints, their sidecars are part of them: {report:?}"
    );
    assert_eq!(report.entries.len(), 2, "{report:?}");
}

#[tokio::test]
async fn a_disagreeing_sidecar_makes_its_file_corrupt_and_restore_falls_back() {
    let f = fixture(None).await;
    f.store_with_sidecar(1, 100).await;
    let (newest, sidecar) = f.store_with_sidecar(2, 2000).await;
    // The checkpoint changed after Hadoop wrote its checksums (one chunk's CRC is wrong).
    let mut sums = std::fs::read(&sidecar).unwrap();
    let last = sums.len() - 1;
    sums[last] ^= 0xff;
    std::fs::write(&sidecar, sums).unwrap();

    let restore = f.storage.restore_latest(JOB, 1).await.unwrap();
    assert_eq!(restore.state.unwrap().checkpoint_id, 1);
    assert_eq!(restore.skipped.len(), 1, "{:?}", restore.skipped);
    let reason = &restore.skipped[0].reason;
    assert!(
        reason.contains(sidecar.file_name().unwrap().to_str().unwrap())
            && reason.contains("mismatch"),
        "the reason names the sidecar and the mismatch: {reason}"
    );
    assert!(
        restore.skipped[0]
            .path
            .ends_with(newest.file_name().unwrap().to_str().unwrap())
    );

    let report = f.storage.verify().await.unwrap();
    assert!(!report.is_clean());
    let corrupt: Vec<_> = report
        .entries
        .iter()
        .filter(|e| matches!(e.status, VerifyStatus::Corrupt { .. }))
        .collect();
    assert_eq!(corrupt.len(), 1, "{report:?}");
    assert!(
        corrupt[0]
            .path
            .ends_with(newest.file_name().unwrap().to_str().unwrap())
    );
}

#[tokio::test]
async fn a_sidecar_without_a_header_is_ignored_as_hadoop_does() {
    let f = fixture(None).await;
    let (_, sidecar) = f.store_with_sidecar(1, 100).await;
    std::fs::write(&sidecar, b"not a checksum file").unwrap();
    let restore = f.storage.restore_latest(JOB, 1).await.unwrap();
    assert_eq!(restore.state.unwrap().checkpoint_id, 1);
    assert!(restore.skipped.is_empty());
}

#[tokio::test]
async fn a_truncated_file_disagrees_with_its_sidecar() {
    let f = fixture(None).await;
    f.store_with_sidecar(1, 100).await;
    let (newest, _) = f.store_with_sidecar(2, 5000).await;
    let data = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &data[..data.len() / 2]).unwrap();
    let restore = f.storage.restore_latest(JOB, 1).await.unwrap();
    assert_eq!(restore.state.unwrap().checkpoint_id, 1);
    assert_eq!(restore.skipped.len(), 1);
}

#[tokio::test]
async fn retention_removes_the_sidecars_of_what_it_removes() {
    let f = fixture(Some(2)).await;
    let (first, first_sidecar) = f.store_with_sidecar(1, 10).await;
    f.store_with_sidecar(2, 10).await;
    f.store_with_sidecar(3, 10).await;
    // The next store's retention removes checkpoint 1 and 2 (keeps 3 and 4).
    f.storage.store_checkpoint(&state(4, 10)).await.unwrap();
    assert!(!first.exists());
    assert!(
        !first_sidecar.exists(),
        "sidecar left behind: {:?}",
        f.names()
    );
    let names = f.names();
    assert_eq!(names.len(), 3, "3 and its sidecar, 4: {names:?}");
}

#[tokio::test]
async fn delete_removes_the_sidecar_too() {
    let f = fixture(None).await;
    let (file, sidecar) = f.store_with_sidecar(1, 10).await;
    f.store_with_sidecar(2, 10).await;
    let deleted = f
        .storage
        .delete_checkpoint_files(JOB, 1, &[1])
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert!(!file.exists() && !sidecar.exists(), "{:?}", f.names());
    assert_eq!(f.names().len(), 2);
}

#[tokio::test]
async fn prune_removes_orphaned_sidecars_and_keeps_the_rest() {
    let f = fixture(None).await;
    let (_, kept_sidecar) = f.store_with_sidecar(1, 10).await;
    // Sidecars whose file is gone: a checkpoint removed by a process that knew nothing of
    // sidecars, and a temporary file of the Java engine.
    let orphan = f.job_dir.join(".1700000000000-5-1-9.ser.crc");
    let temp_orphan = f.job_dir.join(".1700000000000-5-1-9.sertmp.crc");
    let foreign = f.job_dir.join(".notes.txt.crc");
    for p in [&orphan, &temp_orphan, &foreign] {
        std::fs::write(p, sidecar::encode(b"", 512)).unwrap();
    }
    let report = f.storage.verify().await.unwrap();
    let leftovers = report
        .entries
        .iter()
        .filter(|e| matches!(e.status, VerifyStatus::Temp))
        .count();
    assert_eq!(leftovers, 2, "orphaned sidecars are leftovers: {report:?}");

    let pruned = f.storage.prune(Some(JOB)).await.unwrap();
    assert_eq!(pruned.temp_files.len(), 2, "{pruned:?}");
    assert!(!orphan.exists() && !temp_orphan.exists());
    assert!(
        kept_sidecar.exists(),
        "the sidecar of a present checkpoint stays"
    );
    assert!(foreign.exists(), "not ours: left alone");
}

#[tokio::test]
async fn a_young_orphaned_sidecar_is_left_for_the_grace_period() {
    let f = fixture_with_grace(None, FileStorageOptions::default().temp_grace).await;
    let storage = &f.storage;
    storage.store_checkpoint(&state(1, 10)).await.unwrap();
    // A Java writer renames the file before its sidecar: right after the first rename the
    // temporary file's sidecar has no file.
    let young = f.job_dir.join(".1700000000000-5-1-9.sertmp.crc");
    std::fs::write(&young, sidecar::encode(b"", 512)).unwrap();
    let pruned = storage.prune(Some(JOB)).await.unwrap();
    assert!(pruned.temp_files.is_empty(), "{pruned:?}");
    assert!(young.exists());
}

/// Golden vectors: files and sidecars written by Hadoop's own LocalFileSystem
/// (scripts/golden/hadoop-crc-sidecars.sh). ckpt's reading of the format agrees with Hadoop's
/// writing of it, byte for byte, without Java at test time.
#[test]
fn hadoops_own_sidecars_check_and_encode_byte_for_byte() {
    let dir = common::golden::fixture_dir("hadoop-crc");
    let seen = common::golden::check_sidecars_in(&dir);
    assert_eq!(seen, 7, "the seven golden sidecars in {}", dir.display());
}
