//! The HDFS backend, on the native `hdfs-native` client (no JVM).
//!
//! - `hdfs://host:port` talks to one NameNode; `hdfs://<nameservice>` to an HA nameservice
//!   whose NameNodes come from `dfs.ha.namenodes.<ns>` and `dfs.namenode.rpc-address.<ns>.<nn>`
//!   (checked before connecting, see [`config::resolve_target`]). `viewfs://` mount tables
//!   over HDFS are served by [`crate::fs::viewfs`], which uses this backend for each target.
//! - The configuration the factory receives is final (built-in defaults < `HADOOP_CONF_DIR` <
//!   `hdfs_site_path` < `seatunnel.hadoop.*` < explicit keys, as [`crate::conf::PluginConfig`]
//!   layers them); hdfs-native is told not to read site files of its own.
//! - Every NameNode call is bounded by `ckpt.hdfs.namenode.call-timeout` and the operation's
//!   deadline ([`retry::deadline`]); a call that does not answer in time is retryable and the
//!   client is rebuilt, trying the next HA NameNode first. Connection failures name the
//!   NameNodes and their addresses.
//! - Every NameNode call is retried under the [`RetryPolicy`] from `ckpt.retry.*`; writers keep
//!   a replay buffer (`ckpt.hdfs.write.replay-buffer`) so a failover or pipeline failure during a
//!   write or close rewrites the file instead of failing.
//! - Kerberos: when the configuration carries `ckpt.kerberos.principal`, the factory logs in
//!   through `crate::fs::kerberos::login` (feature `kerberos`) and hands the session to the
//!   client; a build without the feature says so instead.

pub mod config;
mod error;
mod io;

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use hdfs_native::{Client, ClientBuilder, WriteOptions};

use crate::conf::{ConfError, Configuration, KERBEROS_PRINCIPAL_KEY};
use crate::fs::retry::{self, RetryPolicy, resumable_listing, retry, retry_with_attempt};
use crate::fs::{
    Capabilities, DirectoryKind, FileReader, FileStatus, FileSystem, FileSystemFactory,
    FileSystemRegistry, FileWriter, FsError, FsResult, Path,
};

pub use config::{
    CALL_TIMEOUT_KEY, DEFAULT_CALL_TIMEOUT, DEFAULT_REPLAY_BUFFER, FileLayout, HdfsTarget,
    REPLAY_BUFFER_KEY,
};
pub use error::{map_error, map_namenode_error, map_remote};

/// A directory that holds no site files, given to hdfs-native so that it does not read
/// `HADOOP_CONF_DIR`/`HADOOP_HOME` itself (our layering already did; a second read could put
/// site values over explicit keys). Nothing can be created under `/proc/self`.
const NO_SITE_FILES_DIR: &str = "/proc/self/ckpt-hdfs-native-reads-no-site-files";

/// Permission of directories created by `mkdirs` (before the umask).
const DIR_PERMISSION: u32 = 0o755;

/// Builds [`HdfsFileSystem`]s for `hdfs://` URIs.
#[derive(Debug, Default, Clone)]
pub struct HdfsFileSystemFactory {
    _private: (),
}

#[async_trait]
impl FileSystemFactory for HdfsFileSystemFactory {
    fn schemes(&self) -> Vec<String> {
        vec!["hdfs".to_string()]
    }

    async fn create(&self, root: &Path, conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        Ok(Arc::new(HdfsFileSystem::connect(root, conf).await?))
    }

    fn check(&self, root: &Path, conf: &Configuration, _: &FileSystemRegistry) -> FsResult<()> {
        Checked::from_conf(root, conf).map(|_| ())
    }
}

/// Turns a configuration error into [`FsError::Config`].
fn conf_error(e: ConfError) -> FsError {
    let key = e.subject().to_string();
    FsError::Config {
        key,
        message: e.to_string(),
    }
}

/// What a client builder gets beyond URL and options (the Kerberos login), kept to build the
/// client again.
type Configure = Arc<dyn Fn(ClientBuilder) -> ClientBuilder + Send + Sync>;

/// Kerberos hook: logs in from the keytab (private credential cache, renewed in the
/// background) and points clients at that login.
#[cfg(feature = "kerberos")]
async fn with_kerberos(conf: &Configuration) -> FsResult<Option<Configure>> {
    Ok(crate::fs::kerberos::login(conf)
        .await?
        .map(|session| -> Configure { Arc::new(move |builder| session.configure_client(builder)) }))
}

#[cfg(not(feature = "kerberos"))]
async fn with_kerberos(_conf: &Configuration) -> FsResult<Option<Configure>> {
    Err(FsError::Config {
        key: "kerberosPrincipal".to_string(),
        message: "Kerberos login is configured, but this build of ckpt has no Kerberos support; \
                  rebuild with `--features kerberos`"
            .to_string(),
    })
}

/// The configuration of an HDFS file system, validated without contacting anything: what
/// [`FileSystemFactory::check`] and [`HdfsFileSystem::connect`] both run.
struct Checked {
    root: Path,
    target: HdfsTarget,
    policy: RetryPolicy,
    replay_limit: u64,
    layout: FileLayout,
    call_timeout: Duration,
}

impl Checked {
    fn from_conf(root: &Path, conf: &Configuration) -> FsResult<Checked> {
        let root = root.root();
        if root.scheme() != Some("hdfs") {
            return Err(FsError::InvalidPath {
                path: root.to_string(),
                reason: "the HDFS backend serves hdfs:// URIs only".to_string(),
            });
        }
        let target = config::resolve_target(&root, conf)?;
        let policy = RetryPolicy::from_conf(conf).map_err(conf_error)?;
        let replay_limit = conf
            .get_size(REPLAY_BUFFER_KEY, DEFAULT_REPLAY_BUFFER)
            .map_err(conf_error)?;
        let layout = FileLayout::from_conf(conf).map_err(conf_error)?;
        let call_timeout = config::call_timeout(conf).map_err(conf_error)?;
        Ok(Checked {
            root,
            target,
            policy,
            replay_limit,
            layout,
            call_timeout,
        })
    }
}

/// An HDFS file system (one NameNode or one HA nameservice).
#[derive(Clone)]
pub struct HdfsFileSystem {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The client in use; replaced after a NameNode call timed out (see [`Inner::namenode`]).
    client: RwLock<Current>,
    recipe: Recipe,
    pub(crate) call_timeout: Duration,
    pub(crate) root: Path,
    pub(crate) target: HdfsTarget,
    pub(crate) policy: RetryPolicy,
    pub(crate) replay_limit: u64,
    pub(crate) layout: FileLayout,
}

impl std::fmt::Debug for HdfsFileSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdfsFileSystem")
            .field("root", &self.inner.root.to_string())
            .field("target", &self.inner.target)
            .field("policy", &self.inner.policy)
            .finish()
    }
}

impl HdfsFileSystem {
    /// Validates the configuration (HA keys, retry keys), logs in with Kerberos when asked and
    /// builds the client for `root` (`hdfs://authority`). No NameNode is contacted yet.
    pub async fn connect(root: &Path, conf: &Configuration) -> FsResult<HdfsFileSystem> {
        let Checked {
            root,
            target,
            policy,
            replay_limit,
            layout,
            call_timeout,
        } = Checked::from_conf(root, conf)?;
        let url = format!("hdfs://{}", root.authority().unwrap_or_default());
        let configure = if conf.contains(KERBEROS_PRINCIPAL_KEY) {
            with_kerberos(conf).await?
        } else {
            None
        };
        let recipe = Recipe {
            url,
            conf: conf.clone(),
            configure,
        };
        let client = recipe.build(&target, 0)?;
        tracing::debug!(%root, ?target, ?policy, ?call_timeout, "HDFS client ready");
        Ok(HdfsFileSystem {
            inner: Arc::new(Inner {
                client: RwLock::new(Current {
                    generation: 0,
                    client,
                }),
                recipe,
                call_timeout,
                root,
                target,
                policy,
                replay_limit,
                layout,
            }),
        })
    }

    /// Where this file system points.
    pub fn target(&self) -> &HdfsTarget {
        &self.inner.target
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }
}

/// How the client is built, kept to build it again after a NameNode call timed out.
struct Recipe {
    url: String,
    conf: Configuration,
    configure: Option<Configure>,
}

impl Recipe {
    /// A client whose HA NameNodes are tried from number `rotation` on.
    fn build(&self, target: &HdfsTarget, rotation: usize) -> FsResult<Client> {
        let url = &self.url;
        let mut builder = ClientBuilder::new()
            .with_url(url.clone())
            .with_config_dir(NO_SITE_FILES_DIR)
            .with_config(config::rotated_client_options(&self.conf, target, rotation));
        if let Some(configure) = &self.configure {
            builder = configure(builder);
        }
        builder.build().map_err(|e| match map_error(url, e) {
            FsError::Backend { message, .. } => FsError::Config {
                key: "fs.defaultFS".to_string(),
                message: format!("cannot build an HDFS client for {url}: {message}"),
            },
            other => other,
        })
    }
}

/// The client in use and how many times it was replaced.
#[derive(Clone)]
pub(crate) struct Current {
    generation: u64,
    pub(crate) client: Client,
}

impl Inner {
    /// The client in use (a cheap handle).
    pub(crate) fn current(&self) -> Current {
        self.client
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How long the next NameNode call may take: the call timeout, cut at the deadline of
    /// the operation (see [`retry::deadline`]).
    fn call_limit(&self) -> Duration {
        retry::remaining().map_or(self.call_timeout, |left| left.min(self.call_timeout))
    }

    /// Runs one NameNode call made on `current`'s client, bounded by
    /// `ckpt.hdfs.namenode.call-timeout` and the operation's deadline. A call that does not
    /// answer in time fails with a retryable timeout, and the client (which may keep the
    /// dead connection) is replaced by a fresh one that tries the next HA NameNode first.
    pub(crate) async fn namenode<T>(
        &self,
        current: &Current,
        shown: &str,
        call: impl Future<Output = Result<T, hdfs_native::HdfsError>>,
    ) -> FsResult<T> {
        let limit = self.call_limit();
        if limit.is_zero() {
            return Err(self.timed_out(shown, limit));
        }
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(|e| map_namenode_error(shown, e, &self.target)),
            Err(_) => {
                self.replace_client(current.generation);
                Err(self.timed_out(shown, limit))
            }
        }
    }

    /// Runs a call that moves data (DataNode reads and writes, with the NameNode calls a
    /// writer makes for its blocks), bounded by the operation's deadline only: a large
    /// transfer may take longer than one NameNode call.
    pub(crate) async fn transfer<T>(
        &self,
        shown: &str,
        call: impl Future<Output = Result<T, hdfs_native::HdfsError>>,
    ) -> FsResult<T> {
        match retry::remaining() {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => result.map_err(|e| map_error(shown, e)),
                Err(_) => Err(FsError::Io {
                    path: shown.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "HDFS did not finish the transfer within the time budget ({})",
                            retry::MAX_ELAPSED_KEY
                        ),
                    ),
                }),
            },
            None => call.await.map_err(|e| map_error(shown, e)),
        }
    }

    fn timed_out(&self, shown: &str, limit: Duration) -> FsError {
        FsError::Io {
            path: shown.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "{} did not answer within {limit:?} ({CALL_TIMEOUT_KEY} = {:?}, or the end of the time budget, {})",
                    self.target.describe(),
                    self.call_timeout,
                    retry::MAX_ELAPSED_KEY
                ),
            ),
        }
    }

    /// Replaces the client of generation `generation` (unless another call already did).
    fn replace_client(&self, generation: u64) {
        let mut current = self.client.write().unwrap_or_else(PoisonError::into_inner);
        if current.generation != generation {
            return;
        }
        let next = generation.wrapping_add(1);
        let rotation = usize::try_from(next).unwrap_or_default();
        match self.recipe.build(&self.target, rotation) {
            Ok(client) => {
                tracing::warn!(target = %self.target.describe(), timeout = ?self.call_timeout, "a NameNode call did not answer in time; reconnecting with a new client");
                *current = Current {
                    generation: next,
                    client,
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not build a new HDFS client; keeping the old one")
            }
        }
    }

    /// The HDFS path (`/a/b`) of a qualified path on this file system.
    pub(crate) fn hdfs_path(&self, path: &Path) -> FsResult<String> {
        let same_scheme = path.scheme().is_none_or(|s| s == "hdfs");
        let same_authority = path
            .authority()
            .is_none_or(|a| Some(a) == self.root.authority());
        if !same_scheme || !same_authority || !path.is_absolute() {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: format!("not a path on {}", self.root),
            });
        }
        Ok(path.path().to_string())
    }

    fn status(&self, st: hdfs_native::client::FileStatus) -> FsResult<FileStatus> {
        let path = Path::parse(&st.path)?.qualify(&self.root);
        Ok(FileStatus {
            path,
            len: if st.isdir { 0 } else { st.length as u64 },
            is_dir: st.isdir,
            modified: SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_millis(st.modification_time)),
        })
    }

    pub(crate) fn write_options(&self, overwrite: bool) -> WriteOptions {
        let mut options = WriteOptions::default()
            .overwrite(overwrite)
            .create_parent(true);
        options.replication = self.layout.replication;
        options.block_size = self.layout.block_size;
        options
    }
}

#[async_trait]
impl FileSystem for HdfsFileSystem {
    fn scheme(&self) -> &str {
        "hdfs"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_rename: true,
            atomic_create_if_absent: true,
            // An open HDFS file is listed (and readable) while it is written.
            atomic_publish: false,
            directories: DirectoryKind::Real,
        }
    }

    fn operation_budget(&self) -> Option<Duration> {
        Some(self.inner.policy.max_elapsed)
    }

    async fn get_file_status(&self, path: &Path) -> FsResult<FileStatus> {
        let hp = self.inner.hdfs_path(path)?;
        let shown = path.to_string();
        let st = retry(
            &format!("get_file_status {path}"),
            &self.inner.policy,
            || async {
                let c = self.inner.current();
                self.inner
                    .namenode(&c, &shown, c.client.get_file_info(&hp))
                    .await
            },
        )
        .await?;
        self.inner.status(st)
    }

    fn list_status_stream<'a>(&'a self, path: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
        let hp = match self.inner.hdfs_path(path) {
            Ok(hp) => hp,
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        };
        let shown = path.to_string();
        // A failover part-way through a large listing resumes after the last name delivered.
        resumable_listing(
            format!("list_status {path}"),
            &self.inner.policy,
            move || {
                let shown = shown.clone();
                let c = self.inner.current();
                let mut listing = c.client.list_status_iter(&hp, false).into_stream();
                // Each page is one NameNode call, bounded like every other.
                Box::pin(async_stream::stream! {
                    loop {
                        let page = self
                            .inner
                            .namenode(&c, &shown, async { listing.next().await.transpose() })
                            .await;
                        match page {
                            Ok(Some(st)) => yield self.inner.status(st),
                            Ok(None) => break,
                            Err(e) => {
                                yield Err(e);
                                break;
                            }
                        }
                    }
                })
            },
            |status: &FileStatus| status.path.name().as_bytes().to_vec(),
        )
    }

    async fn list_status(&self, path: &Path) -> FsResult<Vec<FileStatus>> {
        let hp = self.inner.hdfs_path(path)?;
        let shown = path.to_string();
        let raw = retry(
            &format!("list_status {path}"),
            &self.inner.policy,
            || async {
                let c = self.inner.current();
                self.inner
                    .namenode(&c, &shown, c.client.list_status(&hp, false))
                    .await
            },
        )
        .await?;
        let mut entries = raw
            .into_iter()
            .map(|st| self.inner.status(st))
            .collect::<FsResult<Vec<_>>>()?;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    async fn create(&self, path: &Path, overwrite: bool) -> FsResult<Box<dyn FileWriter>> {
        Ok(Box::new(
            io::HdfsWriter::create(self.inner.clone(), path.clone(), overwrite).await?,
        ))
    }

    /// A whole-file write replays from the caller's own buffer (a shared `Bytes`, no copy),
    /// so it survives a failover at any size, beyond `ckpt.hdfs.write.replay-buffer`.
    async fn write_parts(&self, path: &Path, parts: Vec<Bytes>, overwrite: bool) -> FsResult<()> {
        let writer = io::HdfsWriter::create_with_replay_limit(
            self.inner.clone(),
            path.clone(),
            overwrite,
            u64::MAX,
        )
        .await?;
        crate::fs::write_and_close(Box::new(writer), parts).await
    }

    async fn open(&self, path: &Path) -> FsResult<Box<dyn FileReader>> {
        Ok(Box::new(
            io::HdfsReader::open(self.inner.clone(), path.clone()).await?,
        ))
    }

    async fn mkdirs(&self, path: &Path) -> FsResult<()> {
        let hp = self.inner.hdfs_path(path)?;
        let shown = path.to_string();
        retry(&format!("mkdirs {path}"), &self.inner.policy, || async {
            let c = self.inner.current();
            self.inner
                .namenode(&c, &shown, c.client.mkdirs(&hp, DIR_PERMISSION, true))
                .await
        })
        .await
    }

    async fn delete(&self, path: &Path, recursive: bool) -> FsResult<bool> {
        let hp = self.inner.hdfs_path(path)?;
        if hp == "/" {
            return Err(FsError::InvalidPath {
                path: path.to_string(),
                reason: "refusing to delete the root directory".to_string(),
            });
        }
        let shown = path.to_string();
        retry(&format!("delete {path}"), &self.inner.policy, || async {
            let c = self.inner.current();
            self.inner
                .namenode(&c, &shown, c.client.delete(&hp, recursive))
                .await
        })
        .await
    }

    async fn rename(&self, src: &Path, dst: &Path) -> FsResult<bool> {
        let hs = self.inner.hdfs_path(src)?;
        let hd = self.inner.hdfs_path(dst)?;
        let op = format!("rename {src} to {dst}");
        let shown = src.to_string();
        retry_with_attempt(&op, &self.inner.policy, |attempt| {
            let (hs, hd, op, shown) = (&hs, &hd, &op, &shown);
            async move {
                let c = self.inner.current();
                match self
                    .inner
                    .namenode(&c, shown, c.client.rename(hs, hd, false))
                    .await
                {
                    Ok(()) => Ok(true),
                    Err(e) => match e {
                        FsError::AlreadyExists { .. } => Ok(false),
                        FsError::NotFound { .. } if attempt > 1 && self.renamed_already(hs, hd).await => {
                            tracing::warn!(operation = %op, "an earlier attempt whose reply was lost had renamed it");
                            Ok(true)
                        }
                        other => Err(other),
                    },
                }
            }
        })
        .await
    }
}

impl HdfsFileSystem {
    /// After a retried rename reports a missing source: true when the source is gone and the
    /// destination exists, i.e. an earlier attempt whose reply was lost did the rename.
    async fn renamed_already(&self, hs: &str, hd: &str) -> bool {
        let c = self.inner.current();
        let source = self
            .inner
            .namenode(&c, hs, c.client.get_file_info(hs))
            .await;
        matches!(source, Err(e) if e.is_not_found())
            && self
                .inner
                .namenode(&c, hd, c.client.get_file_info(hd))
                .await
                .is_ok()
    }
}
