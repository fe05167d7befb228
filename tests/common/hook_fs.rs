//! A [`FileSystem`] that runs a one-shot action just before a chosen file is opened, to stage
//! races (a concurrent store and prune between a listing and a read) deterministically.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use ckpt::fs::{Capabilities, FileReader, FileStatus, FileSystem, FileWriter, FsResult, Path};
use futures::stream::BoxStream;

type Action = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Delegates to `inner`; the first `open` of `target` first runs the action.
pub struct HookFs {
    inner: Arc<dyn FileSystem>,
    target: String,
    action: tokio::sync::Mutex<Option<Action>>,
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
    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        self.inner.get_file_status(path).await
    }
    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        self.inner.list_status_stream(path)
    }
    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        self.inner.create(path, overwrite).await
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
        self.inner.rename(src, dst).await
    }
}
