//! The checkpoint suite on the local backend.

mod common;

use ckpt::conf::Configuration;
use ckpt::fs::{FileSystemRegistry, Path};
use common::checkpoint_suite::CheckpointFixture;

async fn local_fixture() -> Option<CheckpointFixture> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let namespace = Path::parse(&format!(
        "file://{}/seatunnel/checkpoint",
        dir.path().display()
    ))
    .expect("valid path");
    let fs = FileSystemRegistry::with_builtins()
        .get(&namespace, &Configuration::new())
        .await
        .expect("local file system");
    Some(CheckpointFixture {
        fs,
        namespace,
        guard: Some(Box::new(dir)),
    })
}

checkpoint_suite!(local_fixture().await);

mod large_states {
    use std::sync::Arc;

    use bytes::Bytes;
    use ckpt::checkpoint::{
        CheckpointError, CheckpointStorage, CommitProtocol, FileStorage, PipelineState,
    };
    use ckpt::conf::Configuration;
    use ckpt::fs::{FileSystemRegistry, Path};

    use crate::common::hook_fs::HookFs;

    async fn storage() -> (FileStorage, Arc<HookFs>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let namespace = Path::parse(&format!("file://{}/ns", dir.path().display())).unwrap();
        let inner = FileSystemRegistry::with_builtins()
            .get(&namespace, &Configuration::new())
            .await
            .unwrap();
        let fs = Arc::new(HookFs::recording(inner));
        (
            FileStorage::new(fs.clone(), namespace, Default::default()),
            fs,
            dir,
        )
    }
    /// Issue 7, defect 9: a store wrote a copy of its states (encode joined header, states and
    /// trailer into one buffer, so a large state needed twice its size); now the caller's own
    /// buffer is what reaches the file system.
    #[tokio::test]
    async fn a_store_writes_the_callers_states_without_copying_them() {
        let (storage, buffers, _dir) = storage().await;
        let states = Bytes::from(vec![7u8; 4 << 20]);
        let state = PipelineState {
            job_id: "42".into(),
            pipeline_id: 1,
            checkpoint_id: 1,
            states: states.clone(),
        };
        storage.store_checkpoint(&state).await.unwrap();
        let written = buffers.written();
        assert!(
            written.contains(&(states.as_ptr() as usize, states.len())),
            "the states buffer itself was not written: {written:?}"
        );
        assert_eq!(
            storage.get_checkpoint("42", 1, 1).await.unwrap(),
            state,
            "and the file reads back"
        );
    }

    /// Issue 12: a local store committed twice, a `.sertmp` published by the writer (fsync, link,
    /// directory fsync) and then a rename (link, directory fsync again). The local writer
    /// already publishes atomically and refuses to clobber: one create of the final name, no
    /// temporary name, no rename.
    #[tokio::test]
    async fn a_local_store_commits_once() {
        let (storage, fs, _dir) = storage().await;
        assert_eq!(storage.commit_protocol(), CommitProtocol::ConditionalWrite);
        let state = PipelineState {
            job_id: "44".into(),
            pipeline_id: 1,
            checkpoint_id: 1,
            states: Bytes::from_static(b"once"),
        };
        let stored = storage.store_checkpoint(&state).await.unwrap();
        let calls = fs.calls();
        assert_eq!(calls, vec![format!("create {}", stored.path)], "{calls:?}");
        assert_eq!(storage.get_checkpoint("44", 1, 1).await.unwrap(), state);
    }

    /// Issue 7, defect 9: a state above the format's limit aborted inside the encoder; it is a
    /// clean error naming the size and the limit, and nothing is written.
    #[tokio::test]
    async fn a_state_above_the_limit_is_refused_cleanly() {
        let (storage, buffers, dir) = storage().await;
        // Zeroed and never touched: the pages are not really allocated.
        let states = Bytes::from(vec![0u8; (i32::MAX as usize) + 16]);
        let err = storage
            .store_checkpoint(&PipelineState {
                job_id: "43".into(),
                pipeline_id: 1,
                checkpoint_id: 1,
                states,
            })
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, CheckpointError::Encode(_)), "{err:?}");
        assert!(message.contains("limit"), "{message}");
        assert!(buffers.written().is_empty());
        assert!(
            !dir.path().join("ns/43").exists()
                || std::fs::read_dir(dir.path().join("ns/43"))
                    .unwrap()
                    .next()
                    .is_none()
        );
    }
}
