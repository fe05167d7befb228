//! Readers and writers of the HDFS backend.
//!
//! A writer keeps what it was given in a replay buffer (up to `ckpt.hdfs.write.replay-buffer`
//! bytes). When a write or the closing `complete` call fails with a retryable error (NameNode
//! failover, DataNode pipeline failure), it deletes its own partial file and writes the whole
//! content again into a fresh file, under the retry policy. Close returns `Ok` only after the
//! NameNode completed the file, i.e. after every block was acknowledged by its DataNode
//! pipeline.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hdfs_native::file::{FileReader as NativeReader, FileWriter as NativeWriter};

use super::Inner;
use super::error::{is_own_lease_conflict, map_namenode_error};
use crate::fs::retry::{retry, retry_with_attempt};
use crate::fs::{FileReader, FileWriter, FsError, FsResult, Path};

/// Creates `hp`, recovering from a lost reply of an earlier attempt of the same call (the
/// NameNode then says our own client holds the lease: the half-created file is ours).
async fn create_file(
    inner: &Inner,
    path: &Path,
    hp: &str,
    overwrite: bool,
    attempt: u32,
) -> FsResult<NativeWriter> {
    let shown = path.to_string();
    let c = inner.current();
    // The lease conflict is recognised on the client's own error, before mapping.
    let first = inner
        .namenode(&c, &shown, async {
            Ok(c.client.create(hp, inner.write_options(overwrite)).await)
        })
        .await?;
    match first {
        Ok(w) => Ok(w),
        Err(e) if attempt > 1 && is_own_lease_conflict(&e) => {
            tracing::warn!(path = %shown, "an earlier create attempt whose reply was lost created the file; recreating it");
            inner
                .namenode(&c, &shown, c.client.delete(hp, false))
                .await?;
            inner
                .namenode(
                    &c,
                    &shown,
                    c.client.create(hp, inner.write_options(overwrite)),
                )
                .await
        }
        Err(e) => Err(map_namenode_error(&shown, e, &inner.target)),
    }
}

/// A file being written to HDFS.
pub(crate) struct HdfsWriter {
    inner: Arc<Inner>,
    path: Path,
    hp: String,
    overwrite: bool,
    writer: Option<NativeWriter>,
    /// Everything written so far, while it fits the replay limit.
    replay: Option<Vec<Bytes>>,
    replay_len: u64,
    /// How much the replay buffer may hold.
    replay_limit: u64,
    /// Set once the file is committed or deliberately removed.
    finished: bool,
}

impl HdfsWriter {
    /// A writer whose replay buffer holds up to `ckpt.hdfs.write.replay-buffer` bytes.
    pub(crate) async fn create(inner: Arc<Inner>, path: Path, overwrite: bool) -> FsResult<Self> {
        let limit = inner.replay_limit;
        Self::create_with_replay_limit(inner, path, overwrite, limit).await
    }

    /// A writer whose replay buffer holds up to `replay_limit` bytes.
    pub(crate) async fn create_with_replay_limit(
        inner: Arc<Inner>,
        path: Path,
        overwrite: bool,
        replay_limit: u64,
    ) -> FsResult<Self> {
        let hp = inner.hdfs_path(&path)?;
        let writer = retry_with_attempt(&format!("create {path}"), &inner.policy, |attempt| {
            create_file(&inner, &path, &hp, overwrite, attempt)
        })
        .await?;
        Ok(HdfsWriter {
            inner,
            path,
            hp,
            overwrite,
            writer: Some(writer),
            replay: Some(Vec::new()),
            replay_len: 0,
            replay_limit,
            finished: false,
        })
    }

    /// Deletes our partial file and writes the replay buffer into a fresh one; with `close`,
    /// also completes it. Retried as a whole.
    async fn rewrite(&mut self, cause: FsError, close: bool) -> FsResult<Option<NativeWriter>> {
        let Some(chunks) = self.replay.clone() else {
            return Err(cause);
        };
        tracing::warn!(path = %self.path, error = %cause, bytes = self.replay_len, "HDFS write failed; rewriting the file from the replay buffer");
        self.writer = None;
        let (inner, path, hp, overwrite) = (&self.inner, &self.path, &self.hp, self.overwrite);
        let shown = path.to_string();
        retry(&format!("rewrite {path}"), &inner.policy, || {
            let chunks = chunks.clone();
            let shown = shown.clone();
            async move {
                // Our own partial (or, after a lost `complete` reply, complete) file.
                let c = inner.current();
                inner
                    .namenode(&c, &shown, c.client.delete(hp, false))
                    .await?;
                let mut w = create_file(inner, path, hp, overwrite, 2).await?;
                for chunk in chunks {
                    inner.transfer(&shown, w.write_bytes(chunk)).await?;
                }
                if close {
                    inner.transfer(&shown, w.close()).await?;
                    Ok(None)
                } else {
                    Ok(Some(w))
                }
            }
        })
        .await
    }

    fn broken(&self) -> FsError {
        FsError::Backend {
            scheme: "hdfs".to_string(),
            message: format!("{}: the writer failed earlier; start a new one", self.path),
            retryable: false,
        }
    }
}

#[async_trait]
impl FileWriter for HdfsWriter {
    async fn write(&mut self, data: Bytes) -> FsResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.broken());
        };
        if let Some(chunks) = self.replay.as_mut() {
            let len = data.len() as u64;
            if self.replay_len.saturating_add(len) <= self.replay_limit {
                chunks.push(data.clone());
                self.replay_len += len;
            } else {
                self.replay = None;
                self.replay_len = 0;
            }
        }
        let shown = self.path.to_string();
        match self.inner.transfer(&shown, writer.write_bytes(data)).await {
            Ok(_) => Ok(()),
            Err(err) => {
                self.writer = None;
                if !err.is_retryable() {
                    return Err(err);
                }
                self.writer = self.rewrite(err, false).await?;
                Ok(())
            }
        }
    }

    async fn close(mut self: Box<Self>) -> FsResult<()> {
        let Some(mut writer) = self.writer.take() else {
            return Err(self.broken());
        };
        let shown = self.path.to_string();
        match self.inner.transfer(&shown, writer.close()).await {
            Ok(()) => {
                self.finished = true;
                Ok(())
            }
            Err(err) => {
                if !err.is_retryable() {
                    return Err(err);
                }
                drop(writer);
                self.rewrite(err, true).await?;
                self.finished = true;
                Ok(())
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> FsResult<()> {
        self.writer = None;
        let (inner, hp, shown) = (&self.inner, &self.hp, self.path.to_string());
        retry(&format!("abort {shown}"), &inner.policy, || async {
            let c = inner.current();
            inner.namenode(&c, &shown, c.client.delete(hp, false)).await
        })
        .await?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for HdfsWriter {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Dropped without close or abort: remove the partial file rather than let lease
        // recovery publish it later.
        self.writer = None;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let inner = self.inner.clone();
            let hp = self.hp.clone();
            let shown = self.path.to_string();
            handle.spawn(async move {
                let c = inner.current();
                if let Err(e) = inner.namenode(&c, &shown, c.client.delete(&hp, false)).await {
                    tracing::warn!(path = %shown, error = %e, "could not remove the partial file of a dropped writer");
                }
            });
        } else {
            tracing::warn!(path = %self.path, "writer dropped outside a runtime; its partial file stays until lease recovery");
        }
    }
}

/// A file being read from HDFS. Reads that fail with a retryable error reopen the file (fresh
/// block locations) and try again.
pub(crate) struct HdfsReader {
    inner: Arc<Inner>,
    path: Path,
    hp: String,
    len: u64,
    reader: tokio::sync::Mutex<Arc<NativeReader>>,
}

impl HdfsReader {
    pub(crate) async fn open(inner: Arc<Inner>, path: Path) -> FsResult<Self> {
        let hp = inner.hdfs_path(&path)?;
        let shown = path.to_string();
        let reader = retry(&format!("open {path}"), &inner.policy, || async {
            let c = inner.current();
            inner.namenode(&c, &shown, c.client.read(&hp)).await
        })
        .await?;
        Ok(HdfsReader {
            len: reader.file_length() as u64,
            inner,
            path,
            hp,
            reader: tokio::sync::Mutex::new(Arc::new(reader)),
        })
    }
}

#[async_trait]
impl FileReader for HdfsReader {
    fn len(&self) -> u64 {
        self.len
    }

    async fn read_range(&self, offset: u64, len: u64) -> FsResult<Bytes> {
        let past_end = || FsError::EndOfFile {
            path: self.path.to_string(),
            offset,
            len,
            file_len: self.len,
        };
        let end = offset.checked_add(len).ok_or_else(past_end)?;
        if end > self.len {
            return Err(past_end());
        }
        if len == 0 {
            return Ok(Bytes::new());
        }
        let shown = self.path.to_string();
        let (start, count) = (
            usize::try_from(offset).map_err(|_| past_end())?,
            usize::try_from(len).map_err(|_| past_end())?,
        );
        retry_with_attempt(&format!("read {shown}"), &self.inner.policy, |attempt| {
            let shown = shown.clone();
            async move {
                let reader = {
                    let mut guard = self.reader.lock().await;
                    if attempt > 1 {
                        let c = self.inner.current();
                        let fresh = self
                            .inner
                            .namenode(&c, &shown, c.client.read(&self.hp))
                            .await?;
                        if (fresh.file_length() as u64) < end {
                            return Err(FsError::Backend {
                                scheme: "hdfs".to_string(),
                                message: format!("{shown}: the file shrank while being read"),
                                retryable: false,
                            });
                        }
                        *guard = Arc::new(fresh);
                    }
                    guard.clone()
                };
                let data = self
                    .inner
                    .transfer(&shown, reader.read_range(start, count))
                    .await?;
                if data.len() != count {
                    return Err(FsError::Backend {
                        scheme: "hdfs".to_string(),
                        message: format!(
                            "{shown}: short read ({} of {count} bytes at offset {offset})",
                            data.len()
                        ),
                        retryable: true,
                    });
                }
                Ok(data)
            }
        })
        .await
    }
}
