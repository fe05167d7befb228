//! The S3 [`FileSystem`]: Hadoop semantics on an object store.
//!
//! Directories are key prefixes plus empty `dir/` marker objects (written by `mkdirs`, and
//! re-created for a parent that a delete or rename would otherwise make vanish). `rename` is
//! copy + delete and not atomic; `create(overwrite = false)` is atomic through a conditional
//! `If-None-Match: *` PUT (or CompleteMultipartUpload) where the store implements it.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier,
};
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use tracing::instrument::WithSubscriber;

use super::client::{S3Context, is_not_implemented};
use super::config::{ChecksumMode, settings_from_conf};
use crate::conf::Configuration;
use crate::fs::path::rebase_keys;
use crate::fs::wire;
use crate::fs::{
    Capabilities, DirectoryKind, FileReader, FileStatus, FileSystem, FileSystemFactory, FileWriter,
    FsError, FsResult, Path,
};

/// Keys per DeleteObjects request (the S3 maximum).
const DELETE_BATCH: usize = 1000;

/// Factory for [`S3FileSystem`] (`s3a://` and `s3://`; the bucket is the authority).
#[derive(Debug, Clone, Copy, Default)]
pub struct S3FileSystemFactory {
    _private: (),
}

#[async_trait]
impl FileSystemFactory for S3FileSystemFactory {
    fn schemes(&self) -> Vec<String> {
        vec!["s3a".to_string(), "s3".to_string()]
    }

    async fn create(&self, root: &Path, conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        Ok(Arc::new(S3FileSystem::new(root, conf)?))
    }

    fn check(
        &self,
        root: &Path,
        conf: &Configuration,
        _: &crate::fs::FileSystemRegistry,
    ) -> FsResult<()> {
        // Building the client sends no request: the same checks as `create`.
        S3FileSystem::new(root, conf).map(|_| ())
    }
}

/// One bucket as a Hadoop-style file system.
#[derive(Debug, Clone)]
pub struct S3FileSystem {
    ctx: Arc<S3Context>,
    root: Path,
}

struct HeadInfo {
    len: u64,
    modified: Option<SystemTime>,
}

struct Page {
    entries: Vec<FileStatus>,
    saw_marker: bool,
    next: Option<String>,
}

fn to_system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

/// Percent-encodes a key for `x-amz-copy-source` (keeps `/`).
fn encode_copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 1);
    out.push_str(bucket);
    out.push('/');
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn crc32_b64(data: &[u8]) -> String {
    let crc = crc32fast::hash(data);
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

impl S3FileSystem {
    /// Builds the file system for `root` (`s3a://bucket/`) from the Hadoop configuration.
    pub fn new(root: &Path, conf: &Configuration) -> FsResult<S3FileSystem> {
        let scheme = root.scheme().unwrap_or("s3a").to_string();
        let bucket = root.authority().unwrap_or("");
        let settings = settings_from_conf(conf, bucket)?;
        tracing::debug!(?settings, "S3 file system");
        let ctx = S3Context::new(settings, &scheme)?;
        Ok(S3FileSystem {
            ctx: Arc::new(ctx),
            root: root.root(),
        })
    }

    fn bucket(&self) -> &str {
        &self.ctx.settings.bucket
    }

    /// The object key of `path` (`""` for the root).
    fn key(&self, path: &Path) -> FsResult<String> {
        if path.scheme() != self.root.scheme() || path.authority() != self.root.authority() {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: format!("this file system serves {} only", self.root),
            });
        }
        Ok(path.path().trim_start_matches('/').to_string())
    }

    fn dir_prefix(key: &str) -> String {
        if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        }
    }

    async fn head(&self, key: &str, path: &Path) -> FsResult<Option<HeadInfo>> {
        if key.is_empty() {
            return Ok(None);
        }
        if self.ctx.settings.probe_with_list {
            // The key itself sorts first among all keys it prefixes.
            let out = self.list_page(key, false, None, 1, path).await?;
            return Ok(out
                .contents()
                .first()
                .filter(|o| o.key() == Some(key))
                .map(|o| HeadInfo {
                    len: o.size().unwrap_or(0).max(0) as u64,
                    modified: to_system_time(o.last_modified()),
                }));
        }
        Ok(self
            .ctx
            .head(key, &path.to_string())
            .await?
            .map(|out| HeadInfo {
                len: out.content_length().unwrap_or(0).max(0) as u64,
                modified: to_system_time(out.last_modified()),
            }))
    }

    async fn list_page(
        &self,
        prefix: &str,
        delimited: bool,
        token: Option<String>,
        max_keys: i32,
        shown: &Path,
    ) -> FsResult<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output> {
        let mut req = self
            .ctx
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(prefix)
            .max_keys(max_keys);
        if delimited {
            req = req.delimiter("/");
        }
        if let Some(t) = token {
            req = req.continuation_token(t);
        }
        self.ctx
            .send("LIST", &shown.to_string(), || req.clone().send())
            .await
    }

    /// True when `key` is a directory: the root, or a prefix with at least one object.
    async fn dir_exists(&self, key: &str, path: &Path) -> FsResult<bool> {
        if key.is_empty() {
            // Still ask the store, so a missing bucket is reported.
            self.list_page("", true, None, 1, path).await?;
            return Ok(true);
        }
        let out = self
            .list_page(&Self::dir_prefix(key), false, None, 1, path)
            .await?;
        Ok(out.key_count().unwrap_or(0) > 0 || !out.contents().is_empty())
    }

    async fn put_marker(&self, key: &str, path: &Path) -> FsResult<()> {
        let marker = Self::dir_prefix(key);
        self.ctx
            .send("PUT (directory marker)", &path.to_string(), || {
                self.ctx
                    .client
                    .put_object()
                    .bucket(self.bucket())
                    .key(&marker)
                    .body(ByteStream::from(Bytes::new()))
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Fails with [`FsError::NotADirectory`] when an ancestor of `path` is a file.
    async fn check_ancestors(&self, path: &Path) -> FsResult<()> {
        let mut ancestors = Vec::new();
        let mut cursor = path.parent();
        while let Some(p) = cursor {
            if p.is_root() {
                break;
            }
            cursor = p.parent();
            ancestors.push(p);
        }
        let checks = ancestors.iter().map(|p| async move {
            let key = self.key(p)?;
            Ok::<_, FsError>(self.head(&key, p).await?.map(|_| p.clone()))
        });
        for result in futures::future::join_all(checks).await {
            if let Some(file) = result? {
                return Err(FsError::NotADirectory {
                    path: file.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Writes a marker for the parent of `path` when it would otherwise no longer exist.
    async fn keep_parent(&self, path: &Path) -> FsResult<()> {
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        if parent.is_root() {
            return Ok(());
        }
        let key = self.key(&parent)?;
        if !self.dir_exists(&key, &parent).await? {
            self.put_marker(&key, &parent).await?;
        }
        Ok(())
    }

    /// Every key under `prefix` (no delimiter), page by page.
    async fn all_keys(&self, prefix: &str, shown: &Path) -> FsResult<Vec<(String, u64)>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .list_page(prefix, false, token, self.ctx.settings.page_size, shown)
                .await?;
            for obj in out.contents() {
                if let Some(k) = obj.key() {
                    keys.push((k.to_string(), obj.size().unwrap_or(0).max(0) as u64));
                }
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(keys)
    }

    async fn delete_keys(&self, keys: &[String], shown: &Path) -> FsResult<()> {
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| FsError::Backend {
                    scheme: self.ctx.scheme.clone(),
                    message: format!("DELETE {shown}: {e}"),
                    retryable: false,
                })?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| FsError::Backend {
                    scheme: self.ctx.scheme.clone(),
                    message: format!("DELETE {shown}: {e}"),
                    retryable: false,
                })?;
            let out = self
                .ctx
                .send("DELETE (batch)", &shown.to_string(), || {
                    self.ctx
                        .client
                        .delete_objects()
                        .bucket(self.bucket())
                        .delete(delete.clone())
                        .send()
                })
                .await?;
            if let Some(first) = out.errors().first() {
                return Err(FsError::Backend {
                    scheme: self.ctx.scheme.clone(),
                    message: format!(
                        "DELETE {shown}: {} of {} keys not deleted, first {:?}: {} {}",
                        out.errors().len(),
                        batch.len(),
                        first.key().unwrap_or(""),
                        first.code().unwrap_or(""),
                        first.message().unwrap_or("")
                    ),
                    retryable: true,
                });
            }
        }
        Ok(())
    }

    async fn copy_key(&self, src: &str, dst: &str, shown: &Path) -> FsResult<()> {
        let source = encode_copy_source(self.bucket(), src);
        self.ctx
            .send("COPY", &shown.to_string(), || {
                self.ctx
                    .client
                    .copy_object()
                    .bucket(self.bucket())
                    .copy_source(&source)
                    .key(dst)
                    .send()
            })
            .await?;
        Ok(())
    }

    fn child(&self, dir: &Path, name: &str) -> FsResult<Path> {
        dir.join(name)
    }

    async fn page_of(&self, dir: &Path, key: &str, token: Option<String>) -> FsResult<Page> {
        let prefix = Self::dir_prefix(key);
        let out = self
            .list_page(&prefix, true, token, self.ctx.settings.page_size, dir)
            .await?;
        let mut entries = Vec::new();
        let mut saw_marker = false;
        for obj in out.contents() {
            let Some(k) = obj.key() else { continue };
            let Some(name) = k.strip_prefix(&prefix) else {
                continue;
            };
            if name.is_empty() {
                saw_marker = true;
                continue;
            }
            entries.push(FileStatus {
                path: self.child(dir, name)?,
                len: obj.size().unwrap_or(0).max(0) as u64,
                is_dir: false,
                modified: to_system_time(obj.last_modified()),
            });
        }
        for cp in out.common_prefixes() {
            let Some(p) = cp.prefix() else { continue };
            let Some(name) = p.strip_prefix(&prefix) else {
                continue;
            };
            let name = name.trim_end_matches('/');
            if name.is_empty() {
                continue;
            }
            entries.push(FileStatus {
                path: self.child(dir, name)?,
                len: 0,
                is_dir: true,
                modified: None,
            });
        }
        let next = match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => Some(t.to_string()),
            _ => None,
        };
        Ok(Page {
            entries,
            saw_marker,
            next,
        })
    }
}

#[async_trait]
impl FileSystem for S3FileSystem {
    fn scheme(&self) -> &str {
        &self.ctx.scheme
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_rename: false,
            atomic_create_if_absent: self.ctx.conditional_create(),
            atomic_publish: true,
            directories: DirectoryKind::Emulated,
        }
    }

    fn operation_budget(&self) -> Option<std::time::Duration> {
        Some(self.ctx.settings.retry.max_elapsed)
    }

    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        let key = self.key(path)?;
        if let Some(head) = self.head(&key, path).await? {
            return Ok(FileStatus {
                path: path.clone(),
                len: head.len,
                is_dir: false,
                modified: head.modified,
            });
        }
        if self.dir_exists(&key, path).await? {
            return Ok(FileStatus {
                path: path.clone(),
                len: 0,
                is_dir: true,
                modified: None,
            });
        }
        Err(FsError::NotFound {
            path: path.to_string(),
        })
    }

    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        enum State {
            Start,
            Next(String),
            Done,
        }
        stream::unfold(State::Start, move |state| async move {
            let token = match state {
                State::Done => return None,
                State::Start => None,
                State::Next(t) => Some(t),
            };
            let first = token.is_none();
            let key = match self.key(path) {
                Ok(k) => k,
                Err(e) => return Some((vec![Err(e)], State::Done)),
            };
            let page = match self.page_of(path, &key, token).await {
                Ok(p) => p,
                Err(e) => return Some((vec![Err(e)], State::Done)),
            };
            let empty_dir = page.entries.is_empty() && page.next.is_none();
            let mut items: Vec<FsResult<FileStatus>> = page.entries.into_iter().map(Ok).collect();
            if first && empty_dir && !page.saw_marker && !key.is_empty() {
                // Not a directory: the file itself, or nothing.
                match self.head(&key, path).await {
                    Ok(Some(head)) => items.push(Ok(FileStatus {
                        path: path.clone(),
                        len: head.len,
                        is_dir: false,
                        modified: head.modified,
                    })),
                    Ok(None) => items.push(Err(FsError::NotFound {
                        path: path.to_string(),
                    })),
                    Err(e) => items.push(Err(e)),
                }
            }
            let next = match page.next {
                Some(t) => State::Next(t),
                None => State::Done,
            };
            Some((items, next))
        })
        .flat_map(stream::iter)
        .boxed()
    }

    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        let key = self.key(path)?;
        if key.is_empty() {
            return Err(FsError::IsADirectory {
                path: path.to_string(),
            });
        }
        if !self.ctx.settings.create_performance {
            let (is_dir, ancestors) =
                futures::join!(self.dir_exists(&key, path), self.check_ancestors(path));
            if is_dir? {
                return Err(FsError::IsADirectory {
                    path: path.to_string(),
                });
            }
            ancestors?;
        }
        if !overwrite && self.head(&key, path).await?.is_some() {
            return Err(FsError::AlreadyExists {
                path: path.to_string(),
            });
        }
        Ok(Box::new(S3Writer {
            ctx: self.ctx.clone(),
            key,
            path: path.clone(),
            overwrite,
            buf: BytesMut::new(),
            upload: None,
            sent: wire::SentDigest::new(),
            finished: false,
        }))
    }

    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        let key = self.key(path)?;
        match self.head(&key, path).await? {
            Some(head) => Ok(Box::new(S3Reader {
                ctx: self.ctx.clone(),
                key,
                path: path.clone(),
                len: head.len,
            })),
            None if self.dir_exists(&key, path).await? => Err(FsError::IsADirectory {
                path: path.to_string(),
            }),
            None => Err(FsError::NotFound {
                path: path.to_string(),
            }),
        }
    }

    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        let key = self.key(path)?;
        if key.is_empty() {
            self.dir_exists("", path).await?;
            return Ok(());
        }
        if self.head(&key, path).await?.is_some() {
            return Err(FsError::AlreadyExists {
                path: path.to_string(),
            });
        }
        self.check_ancestors(path).await?;
        self.put_marker(&key, path).await
    }

    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        let key = self.key(path)?;
        if key.is_empty() {
            tracing::warn!(%path, "refusing to delete the root of a bucket");
            return Ok(false);
        }
        if self.head(&key, path).await?.is_some() {
            self.ctx.delete_object(&key, &path.to_string()).await?;
            self.keep_parent(path).await?;
            return Ok(true);
        }
        let prefix = Self::dir_prefix(&key);
        let probe = self.list_page(&prefix, false, None, 2, path).await?;
        let found: Vec<&str> = probe.contents().iter().filter_map(|o| o.key()).collect();
        if found.is_empty() {
            return Ok(false);
        }
        if !recursive && found.iter().any(|k| *k != prefix) {
            return Err(FsError::DirectoryNotEmpty {
                path: path.to_string(),
            });
        }
        let mut keys: Vec<String> = self
            .all_keys(&prefix, path)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        // Deepest first, so a store that keeps markers as real directories can remove them.
        keys.reverse();
        self.delete_keys(&keys, path).await?;
        self.keep_parent(path).await?;
        Ok(true)
    }

    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        let src_key = self.key(src)?;
        let dst_key = self.key(dst)?;
        if src_key.is_empty() || dst_key.is_empty() {
            return Ok(false);
        }
        let src_status = self.get_file_status(src).await?;
        if src == dst {
            return Ok(!src_status.is_dir);
        }
        if dst.starts_with(src) {
            return Ok(false);
        }
        if self.exists(dst).await? {
            return Ok(false);
        }
        if let Some(parent) = dst.parent()
            && !parent.is_root()
        {
            let st = self.get_file_status(&parent).await?;
            if !st.is_dir {
                return Err(FsError::NotADirectory {
                    path: parent.to_string(),
                });
            }
        }
        if !src_status.is_dir {
            self.copy_key(&src_key, &dst_key, dst).await?;
            self.ctx.delete_object(&src_key, &src.to_string()).await?;
        } else {
            let src_prefix = Self::dir_prefix(&src_key);
            let dst_prefix = Self::dir_prefix(&dst_key);
            let keys = self.all_keys(&src_prefix, src).await?;
            let mut names: Vec<String> = keys.into_iter().map(|(k, _)| k).collect();
            let pairs = rebase_keys(&self.ctx.scheme, &names, &src_prefix, &dst_prefix)?;
            let fs = self.clone();
            let dst_shown = dst.clone();
            let results: Vec<FsResult<()>> = stream::iter(pairs)
                .map(move |(from, to)| {
                    let fs = fs.clone();
                    let shown = dst_shown.clone();
                    async move { fs.copy_key(&from, &to, &shown).await }
                })
                .buffer_unordered(8)
                .collect()
                .await;
            for r in results {
                r?;
            }
            names.reverse();
            self.delete_keys(&names, src).await?;
        }
        self.keep_parent(src).await?;
        Ok(true)
    }
}

/// The state of a multipart upload in progress.
struct Multipart {
    upload_id: String,
    parts: Vec<CompletedPart>,
}

/// Buffers in memory; a single PUT at close, or a multipart upload once the data reaches
/// `fs.s3a.multipart.threshold` (parts of `fs.s3a.multipart.size`).
struct S3Writer {
    ctx: Arc<S3Context>,
    key: String,
    path: Path,
    overwrite: bool,
    buf: BytesMut,
    upload: Option<Multipart>,
    /// The bytes of the parts uploaded so far, for a read back after a lost reply.
    sent: wire::SentDigest,
    finished: bool,
}

impl S3Writer {
    fn checksums(&self) -> bool {
        self.ctx.settings.checksum == ChecksumMode::WhenSupported
    }

    fn shown(&self) -> String {
        self.path.to_string()
    }

    async fn start_multipart(&mut self) -> FsResult<()> {
        let mut req = self
            .ctx
            .client
            .create_multipart_upload()
            .bucket(&self.ctx.settings.bucket)
            .key(&self.key);
        if self.checksums() {
            req = req.checksum_algorithm(ChecksumAlgorithm::Crc32);
        }
        // A retry after a lost reply leaves an unused upload behind, which costs nothing
        // but storage until the bucket's lifecycle rule for incomplete uploads removes it.
        let out = self
            .ctx
            .send("CreateMultipartUpload", &self.shown(), || {
                req.clone().send()
            })
            .await?;
        let upload_id = out.upload_id().ok_or_else(|| FsError::Backend {
            scheme: self.ctx.scheme.clone(),
            message: format!(
                "CreateMultipartUpload {}: no upload id in the answer",
                self.shown()
            ),
            retryable: true,
        })?;
        tracing::debug!(path = %self.path, "multipart upload started");
        self.upload = Some(Multipart {
            upload_id: upload_id.to_string(),
            parts: Vec::new(),
        });
        Ok(())
    }

    async fn upload_part(&mut self, data: Bytes) -> FsResult<()> {
        let checksums = self.checksums();
        let Some(upload) = self.upload.as_mut() else {
            return Ok(());
        };
        let number = upload.parts.len() as i32 + 1;
        let crc = checksums.then(|| crc32_b64(&data));
        // Uploading a part again replaces it: parts are retried one by one.
        let out = self
            .ctx
            .send("UploadPart", &self.path.to_string(), || {
                let mut req = self
                    .ctx
                    .client
                    .upload_part()
                    .bucket(&self.ctx.settings.bucket)
                    .key(&self.key)
                    .upload_id(&upload.upload_id)
                    .part_number(number);
                if let Some(crc) = &crc {
                    req = req
                        .checksum_algorithm(ChecksumAlgorithm::Crc32)
                        .checksum_crc32(crc);
                }
                req.body(ByteStream::from(data.clone())).send()
            })
            .await?;
        let mut part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_string));
        if let Some(crc) = crc {
            part = part.checksum_crc32(crc);
        }
        upload.parts.push(part.build());
        self.sent.update(&data);
        Ok(())
    }

    async fn abort_upload(&mut self) -> FsResult<()> {
        if let Some(upload) = self.upload.take() {
            let aborted = self
                .ctx
                .send("AbortMultipartUpload", &self.shown(), || {
                    self.ctx
                        .client
                        .abort_multipart_upload()
                        .bucket(&self.ctx.settings.bucket)
                        .key(&self.key)
                        .upload_id(&upload.upload_id)
                        .send()
                })
                .await;
            match aborted {
                // NoSuchUpload: already gone (an earlier attempt's reply was lost).
                Ok(_) | Err(FsError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn put_single(&self, data: Bytes) -> FsResult<()> {
        let conditional = !self.overwrite && self.ctx.conditional_create();
        if !self.overwrite && !conditional {
            self.check_absent().await?;
        }
        let mut attempts = 0;
        let put = self
            .ctx
            .send("PUT", &self.shown(), || {
                attempts += 1;
                let mut req = self
                    .ctx
                    .client
                    .put_object()
                    .bucket(&self.ctx.settings.bucket)
                    .key(&self.key)
                    .body(ByteStream::from(data.clone()));
                if conditional {
                    req = req.if_none_match("*");
                }
                req.send()
            })
            .await;
        match put {
            Ok(_) => Ok(()),
            // An earlier attempt may have landed and only its reply been lost: then the
            // object there is ours, byte for byte, and the create succeeded.
            Err(FsError::AlreadyExists { .. })
                if conditional && attempts > 1 && self.holds_single(&data).await? =>
            {
                tracing::info!(path = %self.path, "a retried conditional PUT found its own earlier attempt's object");
                Ok(())
            }
            Err(err) if conditional && is_not_implemented(&err) => {
                self.ctx.disable_conditional_create();
                Box::pin(self.put_single(data)).await
            }
            Err(err) => Err(err),
        }
    }

    /// True when the object at the key is `data` as one PUT of ours wrote it.
    async fn holds_single(&self, data: &[u8]) -> FsResult<bool> {
        let mut sent = wire::SentDigest::new();
        sent.update(data);
        self.holds(Some(&wire::md5_hex(data)), &sent).await
    }

    /// True when the object at the key is what one of our attempts wrote: its ETag is
    /// `etag` when the ETag is the data's MD5 ([`wire::landed_check`]), else (KMS or customer
    /// keys, configured or reported) its bytes read back are the bytes `sent`.
    async fn holds(&self, etag: Option<&str>, sent: &wire::SentDigest) -> FsResult<bool> {
        let Some(head) = self.ctx.head(&self.key, &self.shown()).await? else {
            return Ok(false);
        };
        let reported = wire::Encryption::from_s3_response(
            head.server_side_encryption().map(|e| e.as_str()),
            head.sse_customer_algorithm().is_some(),
        );
        match wire::landed_check(self.ctx.settings.encryption, reported) {
            wire::LandedCheck::Etag => Ok(etag
                .zip(head.e_tag())
                .is_some_and(|(ours, theirs)| wire::etag_matches(theirs, ours))),
            wire::LandedCheck::ReadBack => {
                let len = head.content_length().unwrap_or(-1);
                if u64::try_from(len).ok() != Some(sent.len()) {
                    return Ok(false);
                }
                let stored = self.read_back_digest().await?;
                tracing::debug!(path = %self.path, same = stored.same_as(sent), "read the object back: its ETag is not its MD5 (KMS or customer key)");
                Ok(stored.same_as(sent))
            }
        }
    }

    /// The digest of the object at the key, read in full (streamed, not buffered).
    async fn read_back_digest(&self) -> FsResult<wire::SentDigest> {
        let shown = self.shown();
        let ctx = &self.ctx;
        ctx.retrying("GET", &shown, |_| {
            let sent = ctx
                .client
                .get_object()
                .bucket(&ctx.settings.bucket)
                .key(&self.key)
                .send();
            let shown = &shown;
            async move {
                let mut out = sent.await.map_err(|e| ctx.map_err("GET", shown, e))?;
                let mut digest = wire::SentDigest::new();
                while let Some(chunk) = out.body.next().await {
                    let chunk = chunk.map_err(|e| FsError::Backend {
                        scheme: ctx.scheme.clone(),
                        message: format!("GET {shown}: reading the body failed: {e}"),
                        retryable: true,
                    })?;
                    digest.update(&chunk);
                }
                Ok(digest)
            }
        })
        .await
    }

    async fn check_absent(&self) -> FsResult<()> {
        match self.ctx.head(&self.key, &self.shown()).await? {
            Some(_) => Err(FsError::AlreadyExists { path: self.shown() }),
            None => Ok(()),
        }
    }

    async fn complete(&mut self) -> FsResult<()> {
        let Some(upload) = self.upload.as_ref() else {
            return Ok(());
        };
        let conditional = !self.overwrite && self.ctx.conditional_create();
        if !self.overwrite && !conditional {
            self.check_absent().await?;
        }
        let parts = CompletedMultipartUpload::builder()
            .set_parts(Some(upload.parts.clone()))
            .build();
        let mut req = self
            .ctx
            .client
            .complete_multipart_upload()
            .bucket(&self.ctx.settings.bucket)
            .key(&self.key)
            .upload_id(&upload.upload_id)
            .multipart_upload(parts);
        if conditional {
            req = req.if_none_match("*");
        }
        let mut attempts = 0;
        let completed = self
            .ctx
            .send("CompleteMultipartUpload", &self.shown(), || {
                attempts += 1;
                req.clone().send()
            })
            .await;
        let ours = wire::multipart_etag(upload.parts.iter().filter_map(|p| p.e_tag()));
        match completed {
            Ok(_) => {
                self.upload = None;
                Ok(())
            }
            // Complete is not idempotent: when an earlier attempt's reply was lost, the retry
            // finds the upload gone (NoSuchUpload) or, conditional, the object there (412).
            // The outcome is checked, not assumed: the object must carry our parts' ETag.
            Err(FsError::NotFound { .. } | FsError::AlreadyExists { .. })
                if attempts > 1 && self.holds(ours.as_deref(), &self.sent).await? =>
            {
                tracing::info!(path = %self.path, "a retried CompleteMultipartUpload found the object its earlier attempt completed");
                self.upload = None;
                Ok(())
            }
            Err(err) if conditional && is_not_implemented(&err) => {
                self.ctx.disable_conditional_create();
                Box::pin(self.complete()).await
            }
            Err(err) => Err(err),
        }
    }

    async fn close_inner(&mut self) -> FsResult<()> {
        let rest = self.buf.split().freeze();
        if self.upload.is_none() {
            return self.put_single(rest).await;
        }
        let has_parts = self.upload.as_ref().is_some_and(|u| !u.parts.is_empty());
        if !rest.is_empty() || !has_parts {
            self.upload_part(rest).await?;
        }
        self.complete().await
    }
}

#[async_trait]
impl FileWriter for S3Writer {
    async fn write(&mut self, data: Bytes) -> FsResult<()> {
        if self.finished {
            return Err(FsError::Backend {
                scheme: self.ctx.scheme.clone(),
                message: format!("write to {} after close or abort", self.path),
                retryable: false,
            });
        }
        self.buf.extend_from_slice(&data);
        let threshold = self.ctx.settings.multipart_threshold as usize;
        let part = self.ctx.settings.multipart_size as usize;
        if self.upload.is_none() && self.buf.len() >= threshold {
            self.start_multipart().await?;
        }
        if self.upload.is_some() {
            while self.buf.len() >= part {
                let chunk = self.buf.split_to(part).freeze();
                if let Err(e) = self.upload_part(chunk).await {
                    let _ = self.abort_upload().await;
                    self.finished = true;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn close(mut self: Box<Self>) -> FsResult<()> {
        if self.finished {
            return Err(FsError::Backend {
                scheme: self.ctx.scheme.clone(),
                message: format!("{} was already closed or aborted", self.path),
                retryable: false,
            });
        }
        self.finished = true;
        let result = self.close_inner().await;
        if result.is_err()
            && let Err(e) = self.abort_upload().await
        {
            tracing::warn!(path = %self.path, error = %e, "could not abort a multipart upload");
        }
        result
    }

    async fn abort(mut self: Box<Self>) -> FsResult<()> {
        self.finished = true;
        self.buf.clear();
        self.abort_upload().await
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        // A writer dropped without close/abort: abort its multipart upload in the background.
        if let Some(upload) = self.upload.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let client = self.ctx.client.clone();
            let log = self.ctx.log_dispatch();
            let bucket = self.ctx.settings.bucket.clone();
            let key = self.key.clone();
            handle.spawn(async move {
                let _ = client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload.upload_id)
                    .send()
                    .with_subscriber(log)
                    .await;
            });
        }
    }
}

/// Reads with ranged GETs.
struct S3Reader {
    ctx: Arc<S3Context>,
    key: String,
    path: Path,
    len: u64,
}

#[async_trait]
impl FileReader for S3Reader {
    fn len(&self) -> u64 {
        self.len
    }

    async fn read_range(&self, offset: u64, len: u64) -> FsResult<Bytes> {
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > self.len) {
            return Err(FsError::EndOfFile {
                path: self.path.to_string(),
                offset,
                len,
                file_len: self.len,
            });
        }
        if len == 0 {
            return Ok(Bytes::new());
        }
        let last = offset + len - 1;
        let req = self
            .ctx
            .client
            .get_object()
            .bucket(&self.ctx.settings.bucket)
            .key(&self.key)
            .range(format!("bytes={offset}-{last}"));
        let shown = self.path.to_string();
        let ctx = &self.ctx;
        // The body is read inside the attempt: a truncated body is retried like a reset.
        ctx.retrying("GET", &shown, |_| {
            let sent = req.clone().send();
            let shown = &shown;
            async move {
                let out = sent.await.map_err(|e| ctx.map_err("GET", shown, e))?;
                let data = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| FsError::Backend {
                        scheme: ctx.scheme.clone(),
                        message: format!("GET {shown}: reading the body failed: {e}"),
                        retryable: true,
                    })?
                    .into_bytes();
                if data.len() as u64 != len {
                    return Err(FsError::Backend {
                        scheme: ctx.scheme.clone(),
                        message: format!(
                            "GET {shown}: asked for {len} bytes at {offset}, got {} (truncated, or the object changed)",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_is_encoded() {
        assert_eq!(encode_copy_source("b", "a/b c/ü+"), "b/a/b%20c/%C3%BC%2B");
    }

    #[test]
    fn crc32_matches_the_s3_example() {
        // CRC32 of "hello world" is 0x0d4a1185.
        assert_eq!(crc32_b64(b"hello world"), "DUoRhQ==");
    }
}
