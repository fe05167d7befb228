//! A [`FileSystem`] wrapper for tests: runs a one-shot action just before a chosen file is
//! opened, to stage races (a concurrent store and prune between a listing and a read)
//! deterministically, and records the address and length of every buffer written and every
//! create and rename.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use ckpt::fs::{Capabilities, FileReader, FileStatus, FileSystem, FileWriter, FsResult, Path};
use futures::stream::BoxStream;

type Action = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Delegates to `inner`; the first `open` of `target` first runs the action.
pub struct HookFs {
    inner: Arc<dyn FileSystem>,
    target: String,
    action: tokio::sync::Mutex<Option<Action>>,
    written: Arc<Mutex<Vec<(usize, usize)>>>,
    calls: Mutex<Vec<String>>,
}

struct RecordingWriter {
    inner: Box<dyn FileWriter>,
    written: Arc<Mutex<Vec<(usize, usize)>>>,
}

#[async_trait]
impl FileWriter for RecordingWriter {
    async fn write(&mut self, data: Bytes) -> FsResult<()> {
        if let Ok(mut written) = self.written.lock() {
            written.push((data.as_ptr() as usize, data.len()));
        }
        self.inner.write(data).await
    }
    async fn close(self: Box<Self>) -> FsResult<()> {
        self.inner.close().await
    }
    async fn abort(self: Box<Self>) -> FsResult<()> {
        self.inner.abort().await
    }
}

impl std::fmt::Debug for HookFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookFs")
            .field("target", &self.target)
            .finish()
    }
}

impl HookFs {
    /// Runs `action` once, before the first open of `target`.
    pub fn new(
        inner: Arc<dyn FileSystem>,
        target: &Path,
        action: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        HookFs {
            inner,
            target: target.to_string(),
            action: tokio::sync::Mutex::new(Some(Box::pin(action))),
            written: Arc::default(),
            calls: Mutex::default(),
        }
    }

    /// Only records writes (no action).
    pub fn recording(inner: Arc<dyn FileSystem>) -> Self {
        HookFs {
            inner,
            target: String::new(),
            action: tokio::sync::Mutex::new(None),
            written: Arc::default(),
            calls: Mutex::default(),
        }
    }

    /// `(address, length)` of every buffer handed to a writer, in order.
    pub fn written(&self) -> Vec<(usize, usize)> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// `create <path>` and `rename <src> <dst>`, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn record(&self, call: String) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }

    /// True once the action has run.
    pub async fn fired(&self) -> bool {
        self.action.lock().await.is_none()
    }
}

#[async_trait]
impl FileSystem for HookFs {
    fn scheme(&self) -> &str {
        self.inner.scheme()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn operation_budget(&self) -> Option<std::time::Duration> {
        self.inner.operation_budget()
    }
    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        self.inner.get_file_status(path).await
    }
    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        self.inner.list_status_stream(path)
    }
    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        self.record(format!("create {path}"));
        Ok(Box::new(RecordingWriter {
            inner: self.inner.create(path, overwrite).await?,
            written: self.written.clone(),
        }))
    }
    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        if path.to_string() == self.target {
            let action = self.action.lock().await.take();
            if let Some(action) = action {
                action.await;
            }
        }
        self.inner.open(path).await
    }
    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        self.inner.mkdirs(path).await
    }
    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        self.inner.delete(path, recursive).await
    }
    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        self.record(format!("rename {src} {dst}"));
        self.inner.rename(src, dst).await
    }
}
