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
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use bytes::Bytes;
    use ckpt::checkpoint::{CheckpointError, CheckpointStorage, FileStorage, PipelineState};
    use ckpt::conf::Configuration;
    use ckpt::fs::{
        Capabilities, FileReader, FileStatus, FileSystem, FileSystemRegistry, FileWriter, FsResult,
        Path,
    };
    use futures::stream::BoxStream;

    /// Records the address of every buffer handed to a writer.
    #[derive(Debug)]
    struct Recording {
        inner: Arc<dyn FileSystem>,
        buffers: Arc<Mutex<Vec<(usize, usize)>>>,
    }

    struct RecordingWriter {
        inner: Box<dyn FileWriter>,
        buffers: Arc<Mutex<Vec<(usize, usize)>>>,
    }

    #[async_trait]
    impl FileWriter for RecordingWriter {
        async fn write(&mut self, data: Bytes) -> FsResult<()> {
            self.buffers
                .lock()
                .unwrap()
                .push((data.as_ptr() as usize, data.len()));
            self.inner.write(data).await
        }
        async fn close(self: Box<Self>) -> FsResult<()> {
            self.inner.close().await
        }
        async fn abort(self: Box<Self>) -> FsResult<()> {
            self.inner.abort().await
        }
    }

    #[async_trait]
    impl FileSystem for Recording {
        fn scheme(&self) -> &str {
            self.inner.scheme()
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
        async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
            self.inner.get_file_status(path).await
        }
        fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
            self.inner.list_status_stream(path)
        }
        async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
            Ok(Box::new(RecordingWriter {
                inner: self.inner.create(path, overwrite).await?,
                buffers: self.buffers.clone(),
            }))
        }
        async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
            self.inner.open(path).await
        }
        async fn mkdirs(&self, path: &Path) -> FsResult<()> {
            self.inner.mkdirs(path).await
        }
        async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
            self.inner.delete(path, recursive).await
        }
        async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
            self.inner.rename(src, dst).await
        }
    }

    async fn storage() -> (
        FileStorage,
        Arc<Mutex<Vec<(usize, usize)>>>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let namespace = Path::parse(&format!("file://{}/ns", dir.path().display())).unwrap();
        let inner = FileSystemRegistry::with_builtins()
            .get(&namespace, &Configuration::new())
            .await
            .unwrap();
        let buffers = Arc::new(Mutex::new(Vec::new()));
        let fs = Arc::new(Recording {
            inner,
            buffers: buffers.clone(),
        });
        (
            FileStorage::new(fs, namespace, Default::default()),
            buffers,
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
        let written = buffers.lock().unwrap().clone();
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
        assert!(buffers.lock().unwrap().is_empty());
        assert!(
            !dir.path().join("ns/43").exists()
                || std::fs::read_dir(dir.path().join("ns/43"))
                    .unwrap()
                    .next()
                    .is_none()
        );
    }
}
