//! `viewfs://`: Hadoop's client-side mount table over other file systems (typically several
//! HDFS nameservices), so a `fs.defaultFS: viewfs://cluster` from a federated cluster's
//! core-site.xml works as it is.
//!
//! Each link target is served by the backend the registry has for its scheme (`hdfs://`
//! with its HA, retry and Kerberos handling, but also `file://`, `s3a://`, `oss://`). As in
//! Hadoop: the parents of mount points are read-only internal directories; a rename across
//! mount points is refused; a path under no link goes to `linkFallback` or does not exist.
//! See [`mount`] for the keys.

pub mod mount;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};

use crate::conf::Configuration;
use crate::fs::{
    Capabilities, DirectoryKind, FileReader, FileStatus, FileSystem, FileSystemFactory,
    FileSystemRegistry, FileWriter, FsError, FsResult, Path,
};
use mount::{MountTable, Resolution};

/// The scheme served.
pub const SCHEME: &str = "viewfs";

/// Builds [`ViewFileSystem`]s; link targets come from the registry that asked for the view.
#[derive(Debug, Default, Clone)]
pub struct ViewFileSystemFactory {
    _private: (),
}

#[async_trait]
impl FileSystemFactory for ViewFileSystemFactory {
    fn schemes(&self) -> Vec<String> {
        vec![SCHEME.to_string()]
    }

    async fn create(&self, root: &Path, conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        self.create_in(root, conf, &FileSystemRegistry::with_builtins())
            .await
    }

    async fn create_in(
        &self,
        root: &Path,
        conf: &Configuration,
        registry: &FileSystemRegistry,
    ) -> FsResult<Arc<dyn FileSystem>> {
        Ok(Arc::new(
            ViewFileSystem::connect(root, conf, registry).await?,
        ))
    }

    fn check(
        &self,
        root: &Path,
        conf: &Configuration,
        registry: &FileSystemRegistry,
    ) -> FsResult<()> {
        let root = root.root();
        if root.scheme() != Some(SCHEME) {
            return Err(FsError::InvalidPath {
                path: root.to_string(),
                reason: "the viewfs backend serves viewfs:// URIs only".to_string(),
            });
        }
        let table = MountTable::from_conf(&MountTable::cluster_of(&root, conf), conf)?;
        for target in table.targets() {
            registry.check(&target.root(), conf)?;
        }
        Ok(())
    }
}

/// A mount table over other file systems.
pub struct ViewFileSystem {
    root: Path,
    table: MountTable,
    /// One file system per target root (scheme and authority).
    targets: BTreeMap<Path, Arc<dyn FileSystem>>,
    capabilities: Capabilities,
}

impl std::fmt::Debug for ViewFileSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let links: Vec<String> = self
            .table
            .links()
            .iter()
            .map(|l| format!("{} -> {}", l.source, l.target))
            .collect();
        f.debug_struct("ViewFileSystem")
            .field("root", &self.root.to_string())
            .field("links", &links)
            .field("fallback", &self.table.fallback().map(ToString::to_string))
            .finish()
    }
}

/// A view path resolved to the file system that serves it.
enum Place<'a> {
    /// On a target file system (under a link, or on the fallback).
    Target {
        fs: &'a Arc<dyn FileSystem>,
        /// The path on `fs`.
        path: Path,
        /// Where that target is mounted in the view (`/` for the fallback) and its base.
        source: &'a str,
        base: &'a Path,
        /// The link's key, or `None` for the fallback.
        link_key: Option<&'a str>,
    },
    /// A read-only internal directory of the table.
    Internal {
        children: Vec<String>,
        fallback: Option<Path>,
    },
    Unmounted,
}

impl ViewFileSystem {
    /// Reads the mount table of `root`'s cluster and builds a file system for every target
    /// through `registry` (no server is contacted for HDFS; a bad target configuration is
    /// reported now, naming the target).
    pub async fn connect(
        root: &Path,
        conf: &Configuration,
        registry: &FileSystemRegistry,
    ) -> FsResult<ViewFileSystem> {
        let root = root.root();
        if root.scheme() != Some(SCHEME) {
            return Err(FsError::InvalidPath {
                path: root.to_string(),
                reason: "the viewfs backend serves viewfs:// URIs only".to_string(),
            });
        }
        let cluster = MountTable::cluster_of(&root, conf);
        let table = MountTable::from_conf(&cluster, conf)?;
        let mut targets: BTreeMap<Path, Arc<dyn FileSystem>> = BTreeMap::new();
        for target in table.targets() {
            let target_root = target.root();
            if let std::collections::btree_map::Entry::Vacant(slot) = targets.entry(target_root) {
                let fs = registry.get(slot.key(), conf).await?;
                slot.insert(fs);
            }
        }
        let capabilities = combined_capabilities(targets.values());
        tracing::debug!(%root, links = table.links().len(), "viewfs mount table ready");
        Ok(ViewFileSystem {
            root,
            table,
            targets,
            capabilities,
        })
    }

    /// The mount table in force.
    pub fn mount_table(&self) -> &MountTable {
        &self.table
    }

    /// The view path of a qualified `viewfs://` path on this file system.
    fn view_path<'p>(&self, path: &'p Path) -> FsResult<&'p str> {
        let same_scheme = path.scheme().is_none_or(|s| s == SCHEME);
        let same_authority = path.authority() == self.root.authority() || path.scheme().is_none();
        if !same_scheme || !same_authority || !path.is_absolute() {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: format!("not a path on {}", self.root),
            });
        }
        Ok(path.path())
    }

    fn target_fs(&self, target: &Path) -> FsResult<&Arc<dyn FileSystem>> {
        self.targets
            .get(&target.root())
            .ok_or_else(|| FsError::Backend {
                scheme: SCHEME.to_string(),
                message: format!("no file system was built for the target {target}"),
                retryable: false,
            })
    }

    fn place(&self, path: &Path) -> FsResult<Place<'_>> {
        let view = self.view_path(path)?;
        Ok(match self.table.resolve(view)? {
            Resolution::Link { link, target } => Place::Target {
                fs: self.target_fs(&link.target)?,
                path: target,
                source: &link.source,
                base: &link.target,
                link_key: Some(&link.key),
            },
            Resolution::Fallback { base, target } => Place::Target {
                fs: self.target_fs(base)?,
                path: target,
                source: "/",
                base,
                link_key: None,
            },
            Resolution::Internal { children, fallback } => Place::Internal { children, fallback },
            Resolution::Unmounted => Place::Unmounted,
        })
    }

    /// Turns a status from a target into one with the view path.
    fn to_view(&self, source: &str, base: &Path, mut status: FileStatus) -> FileStatus {
        if let Some(view) = MountTable::view_path(source, base, &status.path)
            .and_then(|view| Path::parse(&view).ok())
        {
            status.path = view.qualify(&self.root);
        }
        status
    }

    fn internal_dir(&self, path: &Path) -> FileStatus {
        FileStatus {
            path: path.clone(),
            len: 0,
            is_dir: true,
            modified: None,
        }
    }

    fn read_only(&self, path: &Path, what: &str) -> FsError {
        let links: Vec<&str> = self
            .table
            .links()
            .iter()
            .map(|l| l.source.as_str())
            .collect();
        FsError::PermissionDenied {
            path: path.to_string(),
            message: format!(
                "{what}: the mount table of viewfs://{}/ is read-only outside its links ({}); \
                 add fs.viewfs.mounttable.{}.link.<path> or linkFallback to write here",
                self.table.cluster(),
                links.join(", "),
                self.table.cluster()
            ),
        }
    }

    fn not_found(&self, path: &Path) -> FsError {
        FsError::NotFound {
            path: path.to_string(),
        }
    }

    /// The entries of an internal directory: the table's own, then the fallback's others.
    async fn list_internal(
        &self,
        path: &Path,
        children: Vec<String>,
        fallback: Option<Path>,
    ) -> FsResult<Vec<FileStatus>> {
        let mut entries = Vec::new();
        for child in &children {
            entries.push(self.internal_dir(&path.join(child)?));
        }
        if let (Some(target), Some(base)) = (fallback, self.table.fallback()) {
            let fs = self.target_fs(base)?;
            match fs.list_status(&target).await {
                Ok(found) => entries.extend(
                    found
                        .into_iter()
                        .filter(|s| !children.iter().any(|c| c == s.path.name()))
                        .map(|s| self.to_view("/", base, s)),
                ),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(entries)
    }
}

/// A guarantee holds for the view only when every target gives it.
fn combined_capabilities<'a>(
    targets: impl Iterator<Item = &'a Arc<dyn FileSystem>>,
) -> Capabilities {
    let mut caps = Capabilities {
        atomic_rename: true,
        atomic_create_if_absent: true,
        atomic_publish: true,
        directories: DirectoryKind::Real,
    };
    for fs in targets {
        let c = fs.capabilities();
        caps.atomic_rename &= c.atomic_rename;
        caps.atomic_create_if_absent &= c.atomic_create_if_absent;
        caps.atomic_publish &= c.atomic_publish;
        if c.directories == DirectoryKind::Emulated {
            caps.directories = DirectoryKind::Emulated;
        }
    }
    caps
}

#[async_trait]
impl FileSystem for ViewFileSystem {
    fn scheme(&self) -> &str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// The longest budget of the mounted file systems (an operation runs on one of them).
    fn operation_budget(&self) -> Option<std::time::Duration> {
        self.targets
            .values()
            .filter_map(|fs| fs.operation_budget())
            .max()
    }

    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        match self.place(path)? {
            Place::Target {
                fs,
                path: target,
                source,
                base,
                ..
            } => Ok(self.to_view(source, base, fs.get_file_status(&target).await?)),
            Place::Internal { .. } => Ok(self.internal_dir(path)),
            Place::Unmounted => Err(self.not_found(path)),
        }
    }

    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        match self.place(path) {
            Err(e) => stream::once(async move { Err(e) }).boxed(),
            Ok(Place::Target {
                fs,
                path: target,
                source,
                base,
                ..
            }) => Box::pin(async_stream::stream! {
                // Streamed through, so a huge directory is never held in memory at once.
                let mut inner = fs.list_status_stream(&target);
                while let Some(item) = inner.next().await {
                    yield item.map(|s| self.to_view(source, base, s));
                }
            }),
            Ok(Place::Internal { children, fallback }) => {
                stream::once(async move { self.list_internal(path, children, fallback).await })
                    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
                    .try_flatten()
                    .boxed()
            }
            Ok(Place::Unmounted) => stream::once(async move { Err(self.not_found(path)) }).boxed(),
        }
    }

    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        match self.place(path)? {
            Place::Target {
                fs, path: target, ..
            } => fs.create(&target, overwrite).await,
            Place::Internal { .. } => Err(FsError::IsADirectory {
                path: path.to_string(),
            }),
            Place::Unmounted => Err(self.read_only(path, "cannot create a file")),
        }
    }

    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        match self.place(path)? {
            Place::Target {
                fs, path: target, ..
            } => fs.open(&target).await,
            Place::Internal { .. } => Err(FsError::IsADirectory {
                path: path.to_string(),
            }),
            Place::Unmounted => Err(self.not_found(path)),
        }
    }

    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        match self.place(path)? {
            Place::Target {
                fs, path: target, ..
            } => fs.mkdirs(&target).await,
            Place::Internal { .. } => Ok(()),
            Place::Unmounted => Err(self.read_only(path, "cannot create a directory")),
        }
    }

    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        match self.place(path)? {
            Place::Target {
                fs,
                path: target,
                base,
                link_key,
                ..
            } => {
                if let Some(key) = link_key
                    && target == *base
                {
                    return Err(FsError::PermissionDenied {
                        path: path.to_string(),
                        message: format!(
                            "a mount point cannot be deleted (it is {key}); delete what is under it"
                        ),
                    });
                }
                fs.delete(&target, recursive).await
            }
            Place::Internal { .. } => {
                Err(self.read_only(path, "cannot delete an internal directory"))
            }
            Place::Unmounted => Ok(false),
        }
    }

    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        let from = self.place(src)?;
        let to = self.place(dst)?;
        match (from, to) {
            (
                Place::Target {
                    fs,
                    path: s,
                    base: sb,
                    link_key: sk,
                    ..
                },
                Place::Target {
                    path: d,
                    base: db,
                    link_key: dk,
                    ..
                },
            ) if sk == dk && sb == db => {
                if sk.is_some() && (s == *sb || d == *db) {
                    return Err(FsError::PermissionDenied {
                        path: src.to_string(),
                        message: "a mount point cannot be renamed, nor replaced by a rename"
                            .to_string(),
                    });
                }
                fs.rename(&s, &d).await
            }
            (Place::Target { .. }, Place::Target { .. }) => Err(FsError::Unsupported {
                scheme: SCHEME.to_string(),
                operation: format!(
                    "rename across mount points ({src} -> {dst}; copy, then delete)"
                ),
            }),
            (Place::Unmounted, _) => Err(self.not_found(src)),
            (Place::Internal { .. }, _) => {
                Err(self.read_only(src, "cannot rename an internal directory"))
            }
            (_, Place::Internal { .. }) => Ok(false),
            (_, Place::Unmounted) => Err(self.read_only(dst, "cannot rename to here")),
        }
    }
}
