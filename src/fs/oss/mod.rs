//! Aliyun OSS backend (`oss://bucket/path`), Hadoop semantics on an object store.
//!
//! - Directories are key prefixes plus empty `dir/` marker objects (as hadoop-aliyun writes them);
//!   deleting the last entry of a directory leaves a marker for its parent so it stays visible.
//! - `create(overwrite = false)` is atomic: the PUT (or the multipart Initiate/Complete) carries
//!   `x-oss-forbid-overwrite: true`, so a concurrent writer gets `AlreadyExists`.
//! - Files above `fs.oss.multipart.upload.threshold` are uploaded in parts of
//!   `fs.oss.multipart.upload.size`; nothing is visible before `close`.
//! - `rename` is copy + delete (not atomic; [`Capabilities::atomic_rename`] is false).
//! - Requests are signed with V1 or V4 by [`sign`] (pure, checked against Alibaba Cloud's
//!   published examples) and sent by a small reqwest client (`client.rs`).

mod client;
pub mod config;
pub mod sign;
mod xml;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use self::client::{ObjectMeta, OssClient};
use self::config::OssSettings;
use super::path::rebase_keys;
use super::{
    Capabilities, DirectoryKind, FileReader, FileStatus, FileSystem, FileSystemFactory, FileWriter,
    FsError, FsResult, Path,
};
use crate::conf::Configuration;

/// Runs one arbitrary response body through every pure parser of OSS responses (the
/// `oss_xml` fuzz target, see [`crate::fuzzing`]): listings, error documents, multipart upload
/// ids and the dates they carry. Panics only on a bug.
pub(crate) fn fuzz_responses(body: &[u8]) {
    if let Ok(doc) = xml::parse(body) {
        let field = |n: &str| doc.text_of(n).unwrap_or("").to_string();
        let ctx = client::ErrorContext {
            method: "GET",
            uri: "oss://bucket/key",
            bucket: "bucket",
            endpoint: "oss-cn-hangzhou.aliyuncs.com",
            provider: "fuzz",
        };
        for status in [403, 404, 409, 412, 416, 500] {
            let _ = client::map_error(&ctx, status, &field("Code"), &field("Message"), "rid")
                .to_string();
        }
        let _ = doc.text_of("UploadId");
        for c in doc.children("Contents") {
            let _ = c.text_of("LastModified").map(client::parse_iso8601);
        }
    }
    if let Ok(page) = client::parse_list(body) {
        if let Some(marker) = &page.next_marker {
            assert!(
                !marker.is_empty(),
                "an empty NextMarker would restart the listing"
            );
        }
        let _ = page.prefixes.len() + page.objects.len();
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = client::parse_iso8601(text);
        let _ = client::parse_http_date(text);
    }
}

/// Factory for [`OssFileSystem`] (`oss://`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OssFileSystemFactory {
    _private: (),
}

#[async_trait]
impl FileSystemFactory for OssFileSystemFactory {
    fn schemes(&self) -> Vec<String> {
        vec!["oss".to_string()]
    }

    async fn create(&self, root: &Path, conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        Ok(Arc::new(Self::build(root, conf)?))
    }

    fn check(
        &self,
        root: &Path,
        conf: &Configuration,
        _: &crate::fs::FileSystemRegistry,
    ) -> FsResult<()> {
        // Building the client sends no request: the same checks as `create`.
        Self::build(root, conf).map(|_| ())
    }
}

impl OssFileSystemFactory {
    fn build(root: &Path, conf: &Configuration) -> FsResult<OssFileSystem> {
        let settings = OssSettings::from_conf(root, conf, &|name| std::env::var(name).ok())?;
        OssFileSystem::new(settings)
    }
}

/// An OSS bucket as a Hadoop-style file system.
#[derive(Debug, Clone)]
pub struct OssFileSystem {
    client: Arc<OssClient>,
}

impl OssFileSystem {
    /// A file system over the bucket and endpoint of `settings`.
    pub fn new(settings: OssSettings) -> FsResult<Self> {
        tracing::debug!(bucket = %settings.bucket, endpoint = %settings.endpoint.display(), signature = ?settings.signature, "OSS file system");
        Ok(OssFileSystem {
            client: Arc::new(OssClient::new(settings)?),
        })
    }

    fn bucket(&self) -> &str {
        &self.client.settings.bucket
    }

    fn key_of(&self, path: &Path) -> FsResult<String> {
        if path.scheme() != Some("oss") || path.authority() != Some(self.bucket()) {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: format!("this file system serves oss://{}/ only", self.bucket()),
            });
        }
        Ok(path.path().trim_start_matches('/').to_string())
    }

    fn path_of(&self, key: &str) -> FsResult<Path> {
        Path::parse(&format!(
            "oss://{}/{}",
            self.bucket(),
            key.trim_end_matches('/')
        ))
    }

    fn dir_status(&self, key: &str) -> FsResult<FileStatus> {
        Ok(FileStatus {
            path: self.path_of(key)?,
            len: 0,
            is_dir: true,
            modified: None,
        })
    }

    fn file_status(&self, key: &str, meta: &ObjectMeta) -> FsResult<FileStatus> {
        Ok(FileStatus {
            path: self.path_of(key)?,
            len: meta.len,
            is_dir: false,
            modified: meta.modified,
        })
    }

    /// True when anything (a marker or a child) exists under `key/`.
    async fn dir_exists(&self, key: &str) -> FsResult<bool> {
        let page = self
            .client
            .list_page(&format!("{key}/"), None, None, 1)
            .await?;
        Ok(!page.objects.is_empty() || !page.prefixes.is_empty())
    }

    /// Every key under `prefix` (no delimiter), all pages.
    async fn all_keys(&self, prefix: &str) -> FsResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_page(prefix, None, marker.as_deref(), 1000)
                .await?;
            keys.extend(page.objects.into_iter().map(|(k, _)| k));
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(keys),
            }
        }
    }

    /// Keeps the parent of `key` visible after its last entry went away.
    async fn keep_parent(&self, key: &str) -> FsResult<()> {
        if let Some((parent, _)) = key.rsplit_once('/')
            && !parent.is_empty()
            && !self.dir_exists(parent).await?
        {
            self.client
                .put(&format!("{parent}/"), Bytes::new(), false)
                .await?;
        }
        Ok(())
    }

    /// Fails when an ancestor of `key` is a file.
    async fn check_ancestors(&self, key: &str) -> FsResult<()> {
        let mut ancestors = Vec::new();
        let mut cur = key;
        while let Some((parent, _)) = cur.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            ancestors.push(parent.to_string());
            cur = parent;
        }
        let heads =
            futures::future::try_join_all(ancestors.iter().map(|a| self.client.head(a))).await?;
        for (a, meta) in ancestors.iter().zip(heads) {
            if meta.is_some() {
                return Err(FsError::NotADirectory {
                    path: self.client.uri(a),
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl FileSystem for OssFileSystem {
    fn scheme(&self) -> &str {
        "oss"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_rename: false,
            atomic_create_if_absent: true,
            atomic_publish: true,
            directories: DirectoryKind::Emulated,
        }
    }

    fn operation_budget(&self) -> Option<std::time::Duration> {
        Some(self.client.settings.retry.max_elapsed)
    }

    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        let key = self.key_of(path)?;
        if key.is_empty() {
            return self.dir_status("");
        }
        if let Some(meta) = self.client.head(&key).await? {
            return self.file_status(&key, &meta);
        }
        if self.dir_exists(&key).await? {
            return self.dir_status(&key);
        }
        Err(FsError::NotFound {
            path: path.to_string(),
        })
    }

    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        struct State {
            marker: Option<String>,
            first: bool,
            done: bool,
        }
        let start = State {
            marker: None,
            first: true,
            done: false,
        };
        stream::try_unfold(start, move |mut st| async move {
            if st.done {
                return Ok(None);
            }
            let key = self.key_of(path)?;
            let prefix = if key.is_empty() {
                String::new()
            } else {
                format!("{key}/")
            };
            let page = self
                .client
                .list_page(
                    &prefix,
                    Some("/"),
                    st.marker.as_deref(),
                    self.client.settings.page_size,
                )
                .await?;
            let saw_anything = !page.objects.is_empty() || !page.prefixes.is_empty();
            let mut out = Vec::new();
            for (k, meta) in &page.objects {
                if k != &prefix && !k.ends_with('/') {
                    out.push(self.file_status(k, meta)?);
                }
            }
            for p in &page.prefixes {
                out.push(self.dir_status(p)?);
            }
            if st.first && !saw_anything && !key.is_empty() {
                match self.client.head(&key).await? {
                    Some(meta) => out.push(self.file_status(&key, &meta)?),
                    None => {
                        return Err(FsError::NotFound {
                            path: path.to_string(),
                        });
                    }
                }
            }
            st.first = false;
            st.marker = page.next_marker;
            st.done = st.marker.is_none();
            Ok(Some((out, st)))
        })
        .map_ok(|entries| stream::iter(entries.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        let key = self.key_of(path)?;
        if key.is_empty() {
            return Err(FsError::IsADirectory {
                path: path.to_string(),
            });
        }
        match self.client.head(&key).await? {
            Some(_) if !overwrite => {
                return Err(FsError::AlreadyExists {
                    path: path.to_string(),
                });
            }
            Some(_) => {}
            None => {
                if self.dir_exists(&key).await? {
                    return Err(FsError::IsADirectory {
                        path: path.to_string(),
                    });
                }
            }
        }
        self.check_ancestors(&key).await?;
        Ok(Box::new(OssWriter {
            client: self.client.clone(),
            key,
            overwrite,
            buf: Vec::new(),
            upload: None,
        }))
    }

    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        let key = self.key_of(path)?;
        let meta = if key.is_empty() {
            None
        } else {
            self.client.head(&key).await?
        };
        match meta {
            Some(meta) => Ok(Box::new(OssReader {
                client: self.client.clone(),
                key,
                len: meta.len,
            })),
            None if key.is_empty() || self.dir_exists(&key).await? => Err(FsError::IsADirectory {
                path: path.to_string(),
            }),
            None => Err(FsError::NotFound {
                path: path.to_string(),
            }),
        }
    }

    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        let key = self.key_of(path)?;
        if key.is_empty() {
            return Ok(());
        }
        if self.client.head(&key).await?.is_some() {
            return Err(FsError::AlreadyExists {
                path: path.to_string(),
            });
        }
        self.check_ancestors(&key).await?;
        if !self.dir_exists(&key).await? {
            self.client
                .put(&format!("{key}/"), Bytes::new(), false)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        let key = self.key_of(path)?;
        if key.is_empty() {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: "refusing to delete the root of the bucket".to_string(),
            });
        }
        if self.client.head(&key).await?.is_some() {
            self.client.delete(&key).await?;
            self.keep_parent(&key).await?;
            return Ok(true);
        }
        let prefix = format!("{key}/");
        let page = self.client.list_page(&prefix, None, None, 2).await?;
        if page.objects.is_empty() {
            return Ok(false);
        }
        if !recursive && page.objects.iter().any(|(k, _)| k != &prefix) {
            return Err(FsError::DirectoryNotEmpty {
                path: path.to_string(),
            });
        }
        let keys = self.all_keys(&prefix).await?;
        self.client.delete_many(&keys).await?;
        self.keep_parent(&key).await?;
        Ok(true)
    }

    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        let (src_key, dst_key) = (self.key_of(src)?, self.key_of(dst)?);
        if src_key.is_empty() || dst_key.is_empty() {
            return Err(FsError::InvalidPath {
                path: if src_key.is_empty() { src } else { dst }.to_string(),
                reason: "the bucket root cannot be renamed or replaced".to_string(),
            });
        }
        let status = self.get_file_status(src).await?;
        if self.exists(dst).await? {
            return Ok(false);
        }
        if let Some(parent) = dst.parent().filter(|p| !p.is_root()) {
            match self.get_file_status(&parent).await {
                Ok(st) if st.is_dir => {}
                Ok(_) => {
                    return Err(FsError::NotADirectory {
                        path: parent.to_string(),
                    });
                }
                Err(e) if e.is_not_found() => {
                    return Err(FsError::NotFound {
                        path: parent.to_string(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        if !status.is_dir {
            if !self.client.copy(&src_key, &dst_key, true).await? {
                return Ok(false);
            }
            self.client.delete(&src_key).await?;
            self.keep_parent(&src_key).await?;
            return Ok(true);
        }
        if dst_key.starts_with(&format!("{src_key}/")) {
            return Err(FsError::InvalidPath {
                path: dst.to_string(),
                reason: format!("cannot move {src} into itself"),
            });
        }
        let src_prefix = format!("{src_key}/");
        let keys = self.all_keys(&src_prefix).await?;
        let dst_prefix = format!("{dst_key}/");
        let copies: Vec<_> = rebase_keys("oss", &keys, &src_prefix, &dst_prefix)?
            .into_iter()
            .map(|(k, target)| {
                let client = self.client.clone();
                async move { client.copy(&k, &target, false).await }
            })
            .collect();
        stream::iter(copies)
            .buffer_unordered(8)
            .try_collect::<Vec<bool>>()
            .await?;
        self.client.delete_many(&keys).await?;
        self.keep_parent(&src_key).await?;
        Ok(true)
    }
}

struct OssWriter {
    client: Arc<OssClient>,
    key: String,
    overwrite: bool,
    buf: Vec<u8>,
    /// Upload id and the parts uploaded so far.
    upload: Option<(String, Vec<(u32, String)>)>,
}

impl OssWriter {
    async fn flush_parts(&mut self, all: bool) -> FsResult<()> {
        let part_size = self.client.settings.part_size as usize;
        while let Some((id, parts)) = self.upload.as_mut() {
            if self.buf.len() < part_size && !(all && (!self.buf.is_empty() || parts.is_empty())) {
                break;
            }
            let take = self.buf.len().min(part_size);
            let chunk: Vec<u8> = self.buf.drain(..take).collect();
            let number = parts.len() as u32 + 1;
            let etag = self
                .client
                .upload_part(&self.key, id, number, Bytes::from(chunk))
                .await?;
            parts.push((number, etag));
            if all && self.buf.is_empty() {
                break;
            }
        }
        Ok(())
    }

    async fn abort_upload(&mut self) -> FsResult<()> {
        if let Some((id, _)) = self.upload.take() {
            self.client.abort(&self.key, &id).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl FileWriter for OssWriter {
    async fn write(&mut self, data: Bytes) -> FsResult<()> {
        self.buf.extend_from_slice(&data);
        if self.upload.is_none() && self.buf.len() as u64 > self.client.settings.multipart_threshold
        {
            let id = self.client.initiate(&self.key, !self.overwrite).await?;
            self.upload = Some((id, Vec::new()));
        }
        if let Err(e) = self.flush_parts(false).await {
            let _ = self.abort_upload().await;
            return Err(e);
        }
        Ok(())
    }

    async fn close(mut self: Box<Self>) -> FsResult<()> {
        if self.upload.is_none() {
            let body = Bytes::from(std::mem::take(&mut self.buf));
            return self.client.put(&self.key, body, !self.overwrite).await;
        }
        let result = async {
            self.flush_parts(true).await?;
            let (id, parts) = self.upload.as_ref().ok_or_else(|| FsError::Backend {
                scheme: "oss".to_string(),
                message: "multipart upload state lost".to_string(),
                retryable: false,
            })?;
            self.client
                .complete(&self.key, id, parts, !self.overwrite)
                .await
        }
        .await;
        match result {
            Ok(()) => {
                self.upload = None;
                Ok(())
            }
            Err(e) => {
                let _ = self.abort_upload().await;
                Err(e)
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> FsResult<()> {
        self.buf.clear();
        self.abort_upload().await
    }
}

impl Drop for OssWriter {
    fn drop(&mut self) {
        // Dropped without close or abort: do not leave a dangling multipart upload.
        if let Some((id, _)) = self.upload.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let (client, key) = (self.client.clone(), self.key.clone());
            handle.spawn(async move {
                let _ = client.abort(&key, &id).await;
            });
        }
    }
}

struct OssReader {
    client: Arc<OssClient>,
    key: String,
    len: u64,
}

#[async_trait]
impl FileReader for OssReader {
    fn len(&self) -> u64 {
        self.len
    }

    async fn read_range(&self, offset: u64, len: u64) -> FsResult<Bytes> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(FsError::EndOfFile {
                path: self.client.uri(&self.key),
                offset,
                len,
                file_len: self.len,
            });
        }
        if len == 0 {
            return Ok(Bytes::new());
        }
        let chunk = self.client.settings.download_size;
        if len <= chunk {
            return self.client.get_range(&self.key, offset, len).await;
        }
        let ranges: Vec<(u64, u64)> = (0..len.div_ceil(chunk))
            .map(|i| (offset + i * chunk, chunk.min(len - i * chunk)))
            .collect();
        let parts: Vec<Bytes> = stream::iter(
            ranges
                .into_iter()
                .map(|(o, l)| self.client.get_range(&self.key, o, l)),
        )
        .buffered(4)
        .try_collect()
        .await?;
        let mut out = Vec::with_capacity(len as usize);
        for p in parts {
            out.extend_from_slice(&p);
        }
        Ok(Bytes::from(out))
    }
}
