//! Local disk backend (`file://`), durable and atomic.
//!
//! `create` writes to a hidden temporary sibling, fsyncs it, then publishes it with a rename
//! (overwrite) or a hard link (create-if-absent, which fails atomically when the target exists),
//! and fsyncs the directory. A crash leaves either the old file or the complete new one.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path as StdPath, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use super::{
    Capabilities, DirectoryKind, FileReader, FileStatus, FileSystem, FileSystemFactory, FileWriter,
    FsError, FsResult, Path,
};
use crate::conf::Configuration;

/// Suffix of the temporary siblings `create` writes before publishing.
pub const LOCAL_TEMP_SUFFIX: &str = ".ckpt-tmp";

/// The local file system.
#[derive(Debug, Clone, Default)]
pub struct LocalFileSystem;

/// Factory for [`LocalFileSystem`] (`file://`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFileSystemFactory;

#[async_trait]
impl FileSystemFactory for LocalFileSystemFactory {
    fn schemes(&self) -> Vec<String> {
        vec!["file".to_string()]
    }

    async fn create(&self, root: &Path, _conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        if let Some(authority) = root.authority() {
            return Err(FsError::InvalidPath {
                path: root.to_string(),
                reason: format!(
                    "file:// URIs take no host (found {authority:?}); write file:///absolute/path"
                ),
            });
        }
        Ok(Arc::new(LocalFileSystem))
    }
}

fn local_path(path: &Path) -> FsResult<PathBuf> {
    match (path.scheme(), path.authority()) {
        (Some("file") | None, None) if path.is_absolute() => Ok(PathBuf::from(path.path())),
        _ => Err(FsError::InvalidPath {
            path: path.to_string(),
            reason: "the local file system takes absolute file:/// paths".to_string(),
        }),
    }
}

async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> FsResult<T> + Send + 'static,
) -> FsResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FsError::Io {
            path: path.to_string(),
            source: std::io::Error::other(e),
        })?
}

fn status_of(path: &Path, meta: &fs::Metadata) -> FileStatus {
    FileStatus {
        path: path.clone(),
        len: if meta.is_dir() { 0 } else { meta.len() },
        is_dir: meta.is_dir(),
        modified: meta.modified().ok(),
    }
}

fn sync_dir(dir: &StdPath) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its parents; a file in the way is a Hadoop-style error naming it.
fn make_dirs(path: &Path, dir: &StdPath) -> FsResult<()> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(current) = cursor {
        match fs::metadata(current) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                let shown = Path::parse(&current.to_string_lossy())
                    .map(|p| p.qualify(&path.root()).to_string())
                    .unwrap_or_else(|_| current.display().to_string());
                return Err(if current == dir {
                    FsError::AlreadyExists { path: shown }
                } else {
                    FsError::NotADirectory { path: shown }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing.push(current);
                cursor = current.parent();
            }
            Err(e) => return Err(FsError::from_io(path.to_string(), e)),
        }
    }
    for created in missing.into_iter().rev() {
        match fs::create_dir(created) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && created.is_dir() => {}
            Err(e) => return Err(FsError::from_io(path.to_string(), e)),
        }
        if let Some(parent) = created.parent() {
            sync_dir(parent).map_err(|e| FsError::from_io(path.to_string(), e))?;
        }
    }
    Ok(())
}

#[async_trait]
impl FileSystem for LocalFileSystem {
    fn scheme(&self) -> &str {
        "file"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_rename: true,
            atomic_create_if_absent: true,
            atomic_publish: true,
            directories: DirectoryKind::Real,
        }
    }

    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        let local = local_path(path)?;
        let p = path.clone();
        blocking(path, move || {
            let meta = fs::metadata(&local).map_err(|e| FsError::from_io(p.to_string(), e))?;
            Ok(status_of(&p, &meta))
        })
        .await
    }

    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        let listing = async move {
            let local = local_path(path)?;
            let p = path.clone();
            blocking(path, move || {
                let meta = fs::metadata(&local).map_err(|e| FsError::from_io(p.to_string(), e))?;
                if !meta.is_dir() {
                    return Ok(vec![Ok(status_of(&p, &meta))]);
                }
                let entries =
                    fs::read_dir(&local).map_err(|e| FsError::from_io(p.to_string(), e))?;
                let mut out = Vec::new();
                for entry in entries {
                    let item = entry
                        .and_then(|e| {
                            let name = e.file_name().to_string_lossy().into_owned();
                            e.metadata().map(|m| (name, m))
                        })
                        .map_err(|e| FsError::from_io(p.to_string(), e))
                        .and_then(|(name, meta)| Ok(status_of(&p.join(&name)?, &meta)));
                    // An entry removed between readdir and stat is simply gone.
                    if matches!(&item, Err(e) if e.is_not_found()) {
                        continue;
                    }
                    out.push(item);
                }
                Ok(out)
            })
            .await
        };
        stream::once(listing)
            .flat_map(|result| match result {
                Ok(items) => stream::iter(items).boxed(),
                Err(e) => stream::iter(vec![Err(e)]).boxed(),
            })
            .boxed()
    }

    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        let target = local_path(path)?;
        let parent =
            target
                .parent()
                .map(StdPath::to_path_buf)
                .ok_or_else(|| FsError::IsADirectory {
                    path: path.to_string(),
                })?;
        let p = path.clone();
        let (file, temp) = blocking(path, move || {
            match fs::metadata(&target) {
                Ok(meta) if meta.is_dir() => {
                    return Err(FsError::IsADirectory {
                        path: p.to_string(),
                    });
                }
                Ok(_) if !overwrite => {
                    return Err(FsError::AlreadyExists {
                        path: p.to_string(),
                    });
                }
                _ => {}
            }
            if let Some(parent_path) = p.parent() {
                make_dirs(&parent_path, &parent)?;
            }
            let temp = parent.join(format!(
                ".{}.{:016x}{LOCAL_TEMP_SUFFIX}",
                p.name(),
                rand::random::<u64>()
            ));
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(|e| FsError::from_io(p.to_string(), e))?;
            Ok((file, temp))
        })
        .await?;
        Ok(Box::new(LocalWriter {
            path: path.clone(),
            target: local_path(path)?,
            temp,
            file: Some(file),
            overwrite,
        }))
    }

    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        let local = local_path(path)?;
        let p = path.clone();
        let (file, len) = blocking(path, move || {
            // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever;
            // it has no effect on reads of regular files.
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&local)
                .map_err(|e| FsError::from_io(p.to_string(), e))?;
            let meta = file
                .metadata()
                .map_err(|e| FsError::from_io(p.to_string(), e))?;
            if meta.is_dir() {
                return Err(FsError::IsADirectory {
                    path: p.to_string(),
                });
            }
            if !meta.is_file() {
                return Err(FsError::NotARegularFile {
                    path: p.to_string(),
                });
            }
            Ok((file, meta.len()))
        })
        .await?;
        Ok(Box::new(LocalReader {
            path: path.clone(),
            file: Arc::new(file),
            len,
        }))
    }

    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        let local = local_path(path)?;
        let p = path.clone();
        blocking(path, move || make_dirs(&p, &local)).await
    }

    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        let local = local_path(path)?;
        if path.is_root() {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: "refusing to delete the root directory".to_string(),
            });
        }
        let p = path.clone();
        blocking(path, move || {
            let meta = match fs::symlink_metadata(&local) {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(FsError::from_io(p.to_string(), e)),
            };
            let result = if !meta.is_dir() {
                fs::remove_file(&local)
            } else if recursive {
                fs::remove_dir_all(&local)
            } else {
                fs::remove_dir(&local)
            };
            match result {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e)
                    if meta.is_dir()
                        && !recursive
                        && e.kind() == std::io::ErrorKind::DirectoryNotEmpty =>
                {
                    return Err(FsError::DirectoryNotEmpty {
                        path: p.to_string(),
                    });
                }
                Err(e) => return Err(FsError::from_io(p.to_string(), e)),
            }
            if let Some(parent) = local.parent() {
                sync_dir(parent).map_err(|e| FsError::from_io(p.to_string(), e))?;
            }
            Ok(true)
        })
        .await
    }

    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        let (from, to) = (local_path(src)?, local_path(dst)?);
        let (s, d) = (src.clone(), dst.clone());
        blocking(src, move || {
            let meta = fs::metadata(&from).map_err(|e| FsError::from_io(s.to_string(), e))?;
            if dst_exists(&to) {
                return Ok(false);
            }
            if meta.is_dir() && d.starts_with(&s) {
                return Err(FsError::InvalidPath {
                    path: d.to_string(),
                    reason: format!("cannot move {s} into itself"),
                });
            }
            let parent = to.parent().ok_or_else(|| FsError::InvalidPath {
                path: d.to_string(),
                reason: "the root cannot be a rename target".to_string(),
            })?;
            match fs::metadata(parent) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(FsError::NotADirectory {
                        path: parent_uri(&d),
                    });
                }
                Err(_) => {
                    return Err(FsError::NotFound {
                        path: parent_uri(&d),
                    });
                }
            }
            if meta.is_dir() {
                fs::rename(&from, &to).map_err(|e| FsError::from_io(d.to_string(), e))?;
            } else {
                // A hard link fails atomically when the target exists: never clobbers.
                match fs::hard_link(&from, &to) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
                    Err(e) => return Err(FsError::from_io(d.to_string(), e)),
                }
                fs::remove_file(&from).map_err(|e| FsError::from_io(s.to_string(), e))?;
            }
            sync_dir(parent).map_err(|e| FsError::from_io(d.to_string(), e))?;
            if let Some(src_parent) = from.parent().filter(|p| *p != parent) {
                sync_dir(src_parent).map_err(|e| FsError::from_io(s.to_string(), e))?;
            }
            Ok(true)
        })
        .await
    }
}

fn dst_exists(to: &StdPath) -> bool {
    fs::symlink_metadata(to).is_ok()
}

fn parent_uri(path: &Path) -> String {
    path.parent()
        .map(|p| p.to_string())
        .unwrap_or_else(|| path.to_string())
}

struct LocalWriter {
    path: Path,
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    overwrite: bool,
}

impl LocalWriter {
    fn take_file(&mut self) -> FsResult<File> {
        self.file.take().ok_or_else(|| FsError::Io {
            path: self.path.to_string(),
            source: std::io::Error::other("the writer was already closed"),
        })
    }
}

#[async_trait]
impl FileWriter for LocalWriter {
    async fn write(&mut self, data: Bytes) -> FsResult<()> {
        let mut file = self.take_file()?;
        let p = self.path.clone();
        let file = blocking(&self.path, move || {
            file.write_all(&data)
                .map_err(|e| FsError::from_io(p.to_string(), e))?;
            Ok(file)
        })
        .await?;
        self.file = Some(file);
        Ok(())
    }

    async fn close(mut self: Box<Self>) -> FsResult<()> {
        let file = self.take_file()?;
        let (p, temp, target, overwrite) = (
            self.path.clone(),
            self.temp.clone(),
            self.target.clone(),
            self.overwrite,
        );
        blocking(&self.path, move || {
            let publish = || -> FsResult<()> {
                file.sync_all()
                    .map_err(|e| FsError::from_io(p.to_string(), e))?;
                drop(file);
                if overwrite {
                    if fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
                        return Err(FsError::IsADirectory {
                            path: p.to_string(),
                        });
                    }
                    fs::rename(&temp, &target).map_err(|e| FsError::from_io(p.to_string(), e))?;
                } else {
                    fs::hard_link(&temp, &target)
                        .map_err(|e| FsError::from_io(p.to_string(), e))?;
                    fs::remove_file(&temp).map_err(|e| FsError::from_io(p.to_string(), e))?;
                }
                if let Some(parent) = target.parent() {
                    sync_dir(parent).map_err(|e| FsError::from_io(p.to_string(), e))?;
                }
                Ok(())
            };
            let result = publish();
            if result.is_err() {
                let _ = fs::remove_file(&temp);
            }
            result
        })
        .await
    }

    async fn abort(mut self: Box<Self>) -> FsResult<()> {
        self.file.take();
        let temp = self.temp.clone();
        let p = self.path.clone();
        blocking(&self.path, move || match fs::remove_file(&temp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FsError::from_io(p.to_string(), e)),
        })
        .await
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // Dropped without close or abort: the temporary file must not linger.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

struct LocalReader {
    path: Path,
    file: Arc<File>,
    len: u64,
}

#[async_trait]
impl FileReader for LocalReader {
    fn len(&self) -> u64 {
        self.len
    }

    async fn read_range(&self, offset: u64, len: u64) -> FsResult<Bytes> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(FsError::EndOfFile {
                path: self.path.to_string(),
                offset,
                len,
                file_len: self.len,
            });
        }
        let size = usize::try_from(len).map_err(|_| FsError::EndOfFile {
            path: self.path.to_string(),
            offset,
            len,
            file_len: self.len,
        })?;
        let (file, p) = (self.file.clone(), self.path.clone());
        blocking(&self.path, move || {
            let mut buf = vec![0u8; size];
            file.read_exact_at(&mut buf, offset)
                .map_err(|e| FsError::from_io(p.to_string(), e))?;
            Ok(Bytes::from(buf))
        })
        .await
    }
}
