//! The Hadoop-style file system abstraction every backend implements.
//!
//! Semantics follow Hadoop's FileSystem specification, with the differences between real
//! file systems and object stores made explicit by [`Capabilities`]:
//! - `create(path, overwrite)` returns a [`FileWriter`]; nothing is visible until
//!   [`FileWriter::close`] returns `Ok`, and then the whole file is (no partial files).
//! - `rename` returns `Ok(false)` instead of replacing an existing destination.
//! - `delete` returns `Ok(false)` when the path does not exist and refuses a non-empty
//!   directory unless `recursive`.
//! - Missing parents are created by `create` and `mkdirs`.

mod error;
#[cfg(feature = "hdfs")]
pub mod hdfs;
#[cfg(feature = "kerberos")]
pub mod kerberos;
pub mod local;
#[cfg(feature = "oss")]
pub mod oss;
mod path;
mod registry;
pub mod retry;
#[cfg(feature = "s3")]
pub mod s3;
pub mod viewfs;
#[cfg(any(feature = "s3", feature = "oss"))]
pub mod wire;

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::BoxStream;

pub use error::{FsError, FsResult};
pub use path::Path;
pub use registry::{FileSystemFactory, FileSystemRegistry};

/// Metadata of one file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// The fully qualified path.
    pub path: Path,
    /// Length in bytes (0 for directories).
    pub len: u64,
    /// True for a directory (or, on object stores, a common prefix or `dir/` marker).
    pub is_dir: bool,
    /// Last modification time, when the backend knows it.
    pub modified: Option<SystemTime>,
}

/// How directories exist on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    /// Real directories (local disk, HDFS).
    Real,
    /// Directories emulated by key prefixes and `dir/` markers (object stores).
    Emulated,
}

/// What a backend guarantees; [`crate::checkpoint::FileStorage`] picks its commit protocol from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// `rename` of a file is atomic and never clobbers (HDFS, local).
    pub atomic_rename: bool,
    /// `create(path, overwrite = false)` fails atomically when the path already exists,
    /// even against a concurrent writer (HDFS lease, local hard link, S3 `If-None-Match`).
    pub atomic_create_if_absent: bool,
    /// Nothing of a file being written is visible before `close`, which publishes it whole and
    /// durable in one step (local: a hidden temporary file, fsync, hard link; object stores: one
    /// PUT or multipart Complete). Not HDFS, where an open file is listed while it grows. With
    /// `atomic_create_if_absent` too, a checkpoint needs no temporary name and rename.
    pub atomic_publish: bool,
    /// Whether directories are real or emulated.
    pub directories: DirectoryKind,
}

/// An open file being written. Nothing is visible at the target path before `close` returns `Ok`.
#[async_trait]
pub trait FileWriter: Send {
    /// Appends bytes to the file.
    async fn write(&mut self, data: Bytes) -> FsResult<()>;
    /// Commits the file: after `Ok`, the whole content is durable and visible at the path.
    async fn close(self: Box<Self>) -> FsResult<()>;
    /// Abandons the file; the target path is left as it was before `create`.
    async fn abort(self: Box<Self>) -> FsResult<()>;
}

/// An open file being read.
#[async_trait]
pub trait FileReader: Send + Sync {
    /// Length of the file in bytes.
    fn len(&self) -> u64;
    /// True when the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads `len` bytes starting at `offset`; a range past the end is [`FsError::EndOfFile`].
    async fn read_range(&self, offset: u64, len: u64) -> FsResult<Bytes>;
    /// Reads the whole file.
    async fn read_all(&self) -> FsResult<Bytes> {
        self.read_range(0, self.len()).await
    }
}

/// A Hadoop-style file system. All paths given to it are fully qualified for its scheme and
/// authority (see [`Path::qualify`]).
#[async_trait]
pub trait FileSystem: Send + Sync + Debug {
    /// The URI scheme this instance serves (`file`, `hdfs`, `s3a`, `oss`...).
    fn scheme(&self) -> &str;

    /// What this backend guarantees.
    fn capabilities(&self) -> Capabilities;

    /// The time budget of one operation made of several calls (a checkpoint store: listing,
    /// write, rename), `ckpt.retry.max-elapsed` of backends that retry; callers run the whole
    /// operation under [`retry::with_budget`] with it. `None` (the default): the backend does
    /// not retry and bounds nothing (local disk).
    fn operation_budget(&self) -> Option<Duration> {
        None
    }

    /// Status of one path; [`FsError::NotFound`] when it does not exist.
    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus>;

    /// True when the path exists.
    async fn exists(&self, path: &Path) -> FsResult<bool> {
        match self.get_file_status(path).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Streams the entries of a directory (in no particular order), or the file itself when
    /// `path` is a file. [`FsError::NotFound`] when the path does not exist.
    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>>;

    /// Collects [`FileSystem::list_status_stream`], sorted by path.
    async fn list_status(&self, path: &Path) -> FsResult<Vec<FileStatus>> {
        let mut entries: Vec<FileStatus> = self.list_status_stream(path).try_collect().await?;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// Starts writing a file. With `overwrite = false` an existing file is
    /// [`FsError::AlreadyExists`] (reported by `create` or, on some backends, by `close`).
    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>>;

    /// Opens a file for reading.
    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>>;

    /// Creates a directory and its missing parents. Fails when the path or a parent is a file.
    async fn mkdirs(&self, path: &Path) -> FsResult<()>;

    /// Deletes a path. `Ok(false)` when it did not exist.
    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool>;

    /// Renames `src` to `dst`. `Ok(false)` (and nothing changed) when `dst` already exists.
    /// [`FsError::NotFound`] when `src` or the parent of `dst` does not exist.
    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool>;

    /// Reads a whole file.
    async fn read(&self, path: &Path) -> FsResult<Bytes> {
        self.open(path).await?.read_all().await
    }

    /// Writes a whole file in one call: `create`, one `write`, `close`.
    async fn write(&self, path: &Path, data: Bytes, overwrite: bool) -> FsResult<()> {
        self.write_parts(path, vec![data], overwrite).await
    }

    /// Writes a whole file given as pieces, in order, without joining them into one buffer
    /// (a checkpoint's header, states and trailer): `create`, one `write` per piece, `close`.
    async fn write_parts(&self, path: &Path, parts: Vec<Bytes>, overwrite: bool) -> FsResult<()> {
        write_and_close(self.create(path, overwrite).await?, parts).await
    }
}

/// Writes `parts` through `writer` in order and commits it; on a failed write the file is
/// abandoned.
pub(crate) async fn write_and_close(
    mut writer: Box<dyn FileWriter>,
    parts: Vec<Bytes>,
) -> FsResult<()> {
    for part in parts {
        if let Err(e) = writer.write(part).await {
            // Best effort; the write error is the one worth reporting.
            let _ = writer.abort().await;
            return Err(e);
        }
    }
    writer.close().await
}
