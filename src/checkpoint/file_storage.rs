//! [`FileStorage`]: SeaTunnel-compatible checkpoint storage over any [`FileSystem`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use tracing::{debug, info, warn};

use super::codec::{self, CodecError, EncodedParts, Integrity};
use super::layout::{self, CheckpointFileName};
use super::sidecar;
use super::{CheckpointError, CheckpointResult, CheckpointStorage, PipelineState};
use crate::fs::local::LOCAL_TEMP_SUFFIX;
use crate::fs::{FileStatus, FileSystem, FsError, Path, retry};

/// The listing before a store (for the newest millis) gets at most this fraction (1/n) of the
/// store's time budget, so that a slow listing cannot eat the write's.
const LISTING_SHARE: u32 = 4;

/// Tuning of a [`FileStorage`].
#[derive(Debug, Clone)]
pub struct FileStorageOptions {
    /// Keep at most this many checkpoints per job and pipeline (newest by Java's ordering);
    /// `None` keeps everything.
    pub max_retained: Option<usize>,
    /// Append the CRC32C integrity field (Java readers skip it).
    pub checksum: bool,
    /// Temporary files younger than this are assumed to belong to a store in progress and are
    /// left alone by [`FileStorage::prune`].
    pub temp_grace: Duration,
}

impl Default for FileStorageOptions {
    fn default() -> Self {
        Self {
            max_retained: Some(20),
            checksum: true,
            temp_grace: Duration::from_secs(600),
        }
    }
}

/// How a store becomes visible, chosen from the backend's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitProtocol {
    /// Write `<name>.sertmp`, close, rename to `<name>.ser` (HDFS, as the Java engine does: an
    /// open HDFS file is visible while it is written).
    TempAndRename,
    /// One conditional create of `<name>.ser`, published whole at close (local disk, where the
    /// writer publishes through a hidden temporary file and a hard link; object stores, where
    /// rename is a copy).
    ConditionalWrite,
}

/// A stored checkpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredCheckpoint {
    /// The committed file.
    pub path: String,
    /// Size in bytes.
    pub len: u64,
    /// Files retention removed right after this store.
    pub pruned: Vec<String>,
}

/// A checkpoint file found in the listing (not decoded).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckpointEntry {
    /// The job.
    pub job_id: String,
    /// The parsed name.
    pub name: CheckpointFileName,
    /// The file.
    pub path: String,
    /// Size in bytes.
    pub len: u64,
    /// Its Hadoop checksum sidecar (`.<name>.crc`, see [`sidecar`]), when the listing has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<String>,
}

/// A checkpoint passed over during a restore, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedCheckpoint {
    /// The file.
    pub path: String,
    /// Why it could not be used.
    pub reason: String,
}

/// The outcome of restoring one pipeline.
#[derive(Debug, Clone)]
pub struct Restore {
    /// The pipeline.
    pub pipeline_id: i32,
    /// The restored state; `None` when no readable checkpoint exists.
    pub state: Option<PipelineState>,
    /// The file it came from.
    pub path: Option<String>,
    /// Whether that file's checksum was verified.
    pub integrity: Option<Integrity>,
    /// Newer files that were skipped because they are corrupt, newest first.
    pub skipped: Vec<SkippedCheckpoint>,
}

/// What [`FileStorage::prune`] removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneReport {
    /// Checkpoints beyond `max-retained`.
    pub checkpoints: Vec<String>,
    /// Leftover temporary files of interrupted stores, and Hadoop checksum sidecars whose
    /// file is gone.
    pub temp_files: Vec<String>,
    /// Job directories that could not be read (permissions) and were skipped.
    pub skipped_jobs: Vec<SkippedJob>,
}

/// A job directory passed over because it cannot be read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedJob {
    /// The job.
    pub job_id: String,
    /// Why.
    pub reason: String,
}

/// The state of one file found by [`FileStorage::verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VerifyStatus {
    /// Decodes, and its content matches its name.
    Ok {
        /// Checksum verified or absent.
        integrity: Integrity,
    },
    /// A checkpoint name whose content cannot be used.
    Corrupt {
        /// Why.
        reason: String,
    },
    /// A leftover temporary file.
    Temp,
    /// A job directory that cannot be read (for example for lack of permission).
    Unreadable {
        /// Why.
        reason: String,
    },
    /// Something that is not part of the layout.
    Foreign,
}

/// One file seen by [`FileStorage::verify`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyEntry {
    /// The file or directory.
    pub path: String,
    /// Its state.
    #[serde(flatten)]
    pub status: VerifyStatus,
}

/// The result of [`FileStorage::verify`].
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Every file seen.
    pub entries: Vec<VerifyEntry>,
}

impl VerifyReport {
    /// True when no file is corrupt or foreign.
    pub fn is_clean(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.status, VerifyStatus::Ok { .. } | VerifyStatus::Temp))
    }
}

/// Checkpoint storage in SeaTunnel's layout over any file system.
#[derive(Debug)]
pub struct FileStorage {
    fs: Arc<dyn FileSystem>,
    namespace: Path,
    options: FileStorageOptions,
    protocol: CommitProtocol,
    last_millis: AtomicU64,
    /// Per job and pipeline, the largest `millis` seen in a listing: new names sort after it.
    newest_seen: Mutex<HashMap<(String, i32), u64>>,
    /// Paths known to decode (stored or read by this instance), so retention need not read
    /// them again; trimmed to the current listing on every retention pass.
    known_readable: Mutex<HashMap<(String, i32), HashSet<String>>>,
}

/// How often a restore lists the job directory again when a listed file vanished before it
/// could be read (a concurrent prune); enough for any realistic race, bounded so that a
/// runaway deleter gives an error instead of a loop.
const MAX_RELISTINGS: usize = 16;

/// One pass over a listing for a restore.
enum RestoreAttempt {
    Done(Restore),
    /// A listed file was gone: the listing is stale.
    Vanished(String),
}

/// Locks a mutex whose data stays consistent even if a holder panicked (plain maps).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FileStorage {
    /// Storage under `namespace` (a directory on `fs`; `<namespace>/<jobId>/<file>.ser`).
    pub fn new(fs: Arc<dyn FileSystem>, namespace: Path, options: FileStorageOptions) -> Self {
        let caps = fs.capabilities();
        // A backend that publishes a closed file atomically and refuses to clobber needs no
        // temporary name: that would be a second commit on top of the first (on local disk,
        // two more fsyncs per store).
        let protocol =
            if caps.atomic_rename && !(caps.atomic_publish && caps.atomic_create_if_absent) {
                CommitProtocol::TempAndRename
            } else {
                CommitProtocol::ConditionalWrite
            };
        Self {
            fs,
            namespace,
            options,
            protocol,
            last_millis: AtomicU64::new(0),
            newest_seen: Mutex::new(HashMap::new()),
            known_readable: Mutex::new(HashMap::new()),
        }
    }

    /// The namespace directory.
    pub fn namespace(&self) -> &Path {
        &self.namespace
    }

    /// The file system.
    pub fn file_system(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    /// The options.
    pub fn options(&self) -> &FileStorageOptions {
        &self.options
    }

    /// The commit protocol in use.
    pub fn commit_protocol(&self) -> CommitProtocol {
        self.protocol
    }

    fn job_dir(&self, job_id: &str) -> CheckpointResult<Path> {
        layout::validate_job_id(job_id)?;
        Ok(self.namespace.join(job_id)?)
    }

    /// Millis for a new file name: the wall clock, but strictly after every name this storage
    /// made and after `floor` (the newest file seen in the pipeline), so that a later store
    /// always sorts as newer, also for Java readers, even when another writer's clock is ahead.
    fn next_millis(&self, floor: Option<u64>) -> u64 {
        let now = now_millis();
        let floor = floor.map_or(0, |f| f.saturating_add(1));
        let mut last = self.last_millis.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1)).max(floor);
            match self.last_millis.compare_exchange_weak(
                last,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }

    /// The namespace's entries; empty when it does not exist yet, an error when it is a file.
    async fn namespace_listing(&self) -> CheckpointResult<Vec<FileStatus>> {
        match self.fs.get_file_status(&self.namespace).await {
            Ok(status) if !status.is_dir => {
                return Err(CheckpointError::NamespaceNotADirectory {
                    path: self.namespace.to_string(),
                });
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
        match self.fs.list_status(&self.namespace).await {
            Ok(entries) => Ok(entries),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Ids of the jobs that have a directory in the namespace, ascending.
    pub async fn list_jobs(&self) -> CheckpointResult<Vec<String>> {
        let entries = self.namespace_listing().await?;
        let mut jobs: Vec<String> = entries
            .into_iter()
            .filter(|e| e.is_dir && layout::validate_job_id(e.path.name()).is_ok())
            .map(|e| e.path.name().to_string())
            .collect();
        jobs.sort_by_key(|j| (j.len(), j.clone()));
        Ok(jobs)
    }

    async fn job_listing(&self, job_id: &str) -> CheckpointResult<Vec<FileStatus>> {
        let dir = self.job_dir(job_id)?;
        match self.fs.list_status_stream(&dir).try_collect().await {
            Ok(entries) => Ok(entries),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// The committed checkpoint files of a job (names only, not decoded), newest first.
    pub async fn list_checkpoints(&self, job_id: &str) -> CheckpointResult<Vec<CheckpointEntry>> {
        Ok(checkpoint_entries(job_id, self.job_listing(job_id).await?))
    }

    /// Reads and decodes one checkpoint file, checking that its content matches its name.
    async fn read_entry(
        &self,
        entry: &CheckpointEntry,
    ) -> CheckpointResult<(PipelineState, Integrity)> {
        let path = Path::parse(&entry.path)?;
        let data = self.fs.read(&path).await?;
        self.check_sidecar(entry, &data).await?;
        let decoded = decode_checked(&data, &entry.job_id, &entry.name).map_err(|source| {
            CheckpointError::Corrupt {
                path: entry.path.clone(),
                source,
            }
        })?;
        self.remember_readable(entry);
        Ok(decoded)
    }

    /// Checks a listed Hadoop checksum sidecar against the file's content, as Hadoop's reader
    /// does: one that disagrees makes the file unusable, one without a header is ignored with
    /// a warning, one gone since the listing is no sidecar.
    async fn check_sidecar(&self, entry: &CheckpointEntry, data: &[u8]) -> CheckpointResult<()> {
        let Some(sidecar_path) = &entry.sidecar else {
            return Ok(());
        };
        let sums = match self.fs.read(&Path::parse(sidecar_path)?).await {
            Ok(sums) => sums,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        match sidecar::check(&sums, data) {
            Ok(()) => Ok(()),
            Err(source) if source.makes_file_unreadable() => {
                Err(CheckpointError::SidecarMismatch {
                    path: entry.path.clone(),
                    sidecar: sidecar_path.clone(),
                    source,
                })
            }
            Err(e) => {
                warn!(sidecar = %sidecar_path, path = %entry.path, reason = %e, "ignoring a checksum sidecar that is not a Hadoop checksum file, as Hadoop's reader does");
                Ok(())
            }
        }
    }

    /// Deletes a checkpoint file and then its checksum sidecar; `false` when the file was
    /// already gone. A sidecar left behind (a crash in between, a failed delete) is an orphan
    /// that [`FileStorage::prune`] removes.
    async fn delete_entry(&self, entry: &CheckpointEntry) -> CheckpointResult<bool> {
        let deleted = self.fs.delete(&Path::parse(&entry.path)?, false).await?;
        if let Some(sidecar) = &entry.sidecar
            && let Err(e) = self.fs.delete(&Path::parse(sidecar)?, false).await
        {
            warn!(%sidecar, error = %e, "could not remove the checksum sidecar of a deleted checkpoint; prune will");
        }
        Ok(deleted)
    }

    fn remember_readable(&self, entry: &CheckpointEntry) {
        lock(&self.known_readable)
            .entry((entry.job_id.clone(), entry.name.pipeline_id))
            .or_default()
            .insert(entry.path.clone());
    }

    fn is_known_readable(&self, entry: &CheckpointEntry) -> bool {
        lock(&self.known_readable)
            .get(&(entry.job_id.clone(), entry.name.pipeline_id))
            .is_some_and(|paths| paths.contains(&entry.path))
    }

    /// Restores the newest readable checkpoint of a pipeline. Corrupt or truncated newer files
    /// are skipped with a warning naming them, and reported in [`Restore::skipped`]. File
    /// system errors (unreachable storage, permissions) are returned, never skipped, so an
    /// outage cannot silently restore an older state.
    pub async fn restore_latest(
        &self,
        job_id: &str,
        pipeline_id: i32,
    ) -> CheckpointResult<Restore> {
        layout::validate_pipeline_id(pipeline_id)?;
        let mut entries = self.list_checkpoints(job_id).await?;
        self.restore_relisting(job_id, pipeline_id, &mut entries)
            .await
    }

    /// Restores from `entries`; when a listed file vanished before it could be read (pruned
    /// by a concurrent store), lists again (bounded) instead of falling back past it: newer
    /// checkpoints than the listing knows of exist then.
    async fn restore_relisting(
        &self,
        job_id: &str,
        pipeline_id: i32,
        entries: &mut Vec<CheckpointEntry>,
    ) -> CheckpointResult<Restore> {
        let mut relistings = 0;
        loop {
            match self.restore_from(job_id, pipeline_id, entries).await? {
                RestoreAttempt::Done(restore) => return Ok(restore),
                RestoreAttempt::Vanished(last) if relistings >= MAX_RELISTINGS => {
                    return Err(CheckpointError::KeptVanishing {
                        job_id: job_id.to_string(),
                        pipeline_id,
                        relistings,
                        last,
                    });
                }
                RestoreAttempt::Vanished(path) => {
                    relistings += 1;
                    debug!(%path, job_id, pipeline_id, relistings, "checkpoint vanished while restoring (pruned concurrently); listing again");
                    *entries = self.list_checkpoints(job_id).await?;
                }
            }
        }
    }

    async fn restore_from(
        &self,
        job_id: &str,
        pipeline_id: i32,
        entries: &[CheckpointEntry],
    ) -> CheckpointResult<RestoreAttempt> {
        let mut skipped = Vec::new();
        for entry in entries.iter().filter(|e| e.name.pipeline_id == pipeline_id) {
            match self.read_entry(entry).await {
                Ok((state, integrity)) => {
                    return Ok(RestoreAttempt::Done(Restore {
                        pipeline_id,
                        state: Some(state),
                        path: Some(entry.path.clone()),
                        integrity: Some(integrity),
                        skipped,
                    }));
                }
                Err(CheckpointError::Fs(e)) if e.is_not_found() => {
                    return Ok(RestoreAttempt::Vanished(entry.path.clone()));
                }
                Err(e) => match unreadable_reason(&e) {
                    Some(reason) => {
                        warn!(path = %entry.path, %reason, job_id, pipeline_id, "skipping unreadable checkpoint; falling back to an older one");
                        skipped.push(SkippedCheckpoint {
                            path: entry.path.clone(),
                            reason,
                        });
                    }
                    None => return Err(e),
                },
            }
        }
        Ok(RestoreAttempt::Done(Restore {
            pipeline_id,
            state: None,
            path: None,
            integrity: None,
            skipped,
        }))
    }

    /// Restores every pipeline of a job (see [`FileStorage::restore_latest`]).
    pub async fn restore_job(&self, job_id: &str) -> CheckpointResult<Vec<Restore>> {
        let mut entries = self.list_checkpoints(job_id).await?;
        let names: Vec<CheckpointFileName> = entries.iter().map(|e| e.name).collect();
        let mut out = Vec::new();
        for pipeline_id in layout::pipelines(&names) {
            out.push(
                self.restore_relisting(job_id, pipeline_id, &mut entries)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn commit(
        &self,
        dir: &Path,
        name: &CheckpointFileName,
        data: &EncodedParts,
    ) -> Result<Path, FsError> {
        let target = dir.join(&name.file_name())?;
        match self.protocol {
            CommitProtocol::ConditionalWrite => {
                match self.fs.write_parts(&target, parts_of(data), false).await {
                    Ok(()) => Ok(target),
                    // A retried conditional write whose first attempt landed reports "exists".
                    Err(FsError::AlreadyExists { .. }) if self.holds(&target, data).await => {
                        Ok(target)
                    }
                    Err(e) => Err(e),
                }
            }
            CommitProtocol::TempAndRename => {
                let temp = dir.join(&name.temp_name())?;
                let result = self.write_and_rename(&temp, &target, data).await;
                if result.is_err()
                    && let Err(e) = self.fs.delete(&temp, false).await
                {
                    warn!(path = %temp, error = %e, "could not remove temporary checkpoint file; prune will");
                }
                result.map(|()| target)
            }
        }
    }

    async fn write_and_rename(
        &self,
        temp: &Path,
        target: &Path,
        data: &EncodedParts,
    ) -> Result<(), FsError> {
        self.fs.write_parts(temp, parts_of(data), false).await?;
        match self.fs.rename(temp, target).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(FsError::AlreadyExists {
                path: target.to_string(),
            }),
            // The rename may have been applied before the connection failed.
            Err(e)
                if self.holds(target, data).await
                    && !self.fs.exists(temp).await.unwrap_or(true) =>
            {
                debug!(path = %target, error = %e, "rename reported an error but had been applied");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn holds(&self, path: &Path, data: &EncodedParts) -> bool {
        let Ok(found) = self.fs.read(path).await else {
            return false;
        };
        let mut rest: &[u8] = &found;
        for part in data.chunks() {
            match rest.split_at_checked(part.len()) {
                Some((head, tail)) if head == part.as_ref() => rest = tail,
                _ => return false,
            }
        }
        rest.is_empty()
    }

    /// The newest millis of a pipeline's files as far as this storage knows, listing the job
    /// once when it knows nothing yet, within `budget` (a part of the store's budget, so that
    /// a slow listing cannot eat the write's).
    ///
    /// A listing that fails or runs out of its budget does not fail the store: it goes on with
    /// the clock alone (`None`) and a warning. The write then gets the rest of the store's
    /// budget and reports the storage's error itself if the storage is really down; if it
    /// succeeds, the new file may sort older than a file of a writer whose clock is ahead,
    /// which retention never deletes and warns about (see the README's Guarantees).
    async fn newest_millis(
        &self,
        job_id: &str,
        pipeline_id: i32,
        budget: Option<Duration>,
    ) -> Option<u64> {
        let key = (job_id.to_string(), pipeline_id);
        if let Some(millis) = lock(&self.newest_seen).get(&key) {
            return Some(*millis);
        }
        let listing = self.list_checkpoints(job_id);
        let listed = match budget {
            Some(budget) => {
                match tokio::time::timeout(budget, retry::with_budget(budget, listing)).await {
                    Ok(listed) => listed,
                    Err(_) => {
                        warn!(
                            job_id,
                            pipeline_id,
                            ?budget,
                            "listing the job before storing took longer than its part of the time budget; naming the checkpoint by this host's clock alone"
                        );
                        return None;
                    }
                }
            }
            None => listing.await,
        };
        match listed {
            Ok(entries) => {
                self.note_listing(job_id, &entries);
                lock(&self.newest_seen).get(&key).copied()
            }
            Err(e) => {
                warn!(error = %e, job_id, pipeline_id, "could not list the job before storing; naming the checkpoint by this host's clock alone");
                None
            }
        }
    }

    /// [`CheckpointStorage::store_checkpoint`] after validation and encoding, under the
    /// store's `budget` when the file system has one: the listing for the newest millis gets
    /// at most [`LISTING_SHARE`] of it, and retention after the commit only what is left.
    async fn store_encoded(
        &self,
        state: &PipelineState,
        dir: &Path,
        data: &EncodedParts,
        budget: Option<Duration>,
    ) -> CheckpointResult<StoredCheckpoint> {
        let floor = self
            .newest_millis(
                &state.job_id,
                state.pipeline_id,
                budget.map(|b| b / LISTING_SHARE),
            )
            .await;
        if let Some(newest) = floor
            && newest >= now_millis()
        {
            warn!(
                job_id = %state.job_id,
                pipeline_id = state.pipeline_id,
                ahead_ms = newest - now_millis(),
                "the newest checkpoint of this pipeline is dated ahead of this host's clock; the new one is named after it so that restores (which order by the time in the name, in ckpt and Java) choose it; check the clock synchronisation of every host writing this namespace"
            );
        }
        let mut attempt = 0;
        let (path, name) = loop {
            let name = CheckpointFileName {
                millis: self.next_millis(floor),
                random: rand::random_range(0..layout::RANDOM_RANGE),
                pipeline_id: state.pipeline_id,
                checkpoint_id: state.checkpoint_id,
            };
            match self.commit(dir, &name, data).await {
                Ok(path) => break (path, name),
                // Another writer took the same millisecond and random number: draw again.
                Err(FsError::AlreadyExists { .. }) if attempt < 5 => attempt += 1,
                Err(source) => {
                    return Err(CheckpointError::Store {
                        job_id: state.job_id.clone(),
                        pipeline_id: state.pipeline_id,
                        checkpoint_id: state.checkpoint_id,
                        source,
                    });
                }
            }
        };
        debug!(%path, bytes = data.len(), "stored checkpoint");
        self.remember_readable(&CheckpointEntry {
            job_id: state.job_id.clone(),
            name,
            path: path.to_string(),
            len: data.len(),
            sidecar: None,
        });
        // Retention may not push the store past its budget: it is cut at the deadline.
        let retention = self.enforce_retention(&state.job_id, &name);
        let retained = match retry::deadline() {
            Some(end) => tokio::time::timeout_at(end, retention)
                .await
                .unwrap_or_else(|_| {
                    Err(CheckpointError::Fs(FsError::Io {
                        path: dir.to_string(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the store's time budget ran out",
                        ),
                    }))
                }),
            None => retention.await,
        };
        let pruned = match retained {
            Ok(pruned) => pruned,
            Err(e) => {
                // The checkpoint is stored; retention runs again after the next store.
                warn!(error = %e, job_id = %state.job_id, "retention after store failed");
                Vec::new()
            }
        };
        Ok(StoredCheckpoint {
            path: path.to_string(),
            len: data.len(),
            pruned,
        })
    }

    /// Records the newest millis per pipeline of a listing (newest first).
    fn note_listing(&self, job_id: &str, entries: &[CheckpointEntry]) {
        let mut seen = lock(&self.newest_seen);
        for entry in entries {
            let slot = seen
                .entry((job_id.to_string(), entry.name.pipeline_id))
                .or_insert(0);
            *slot = (*slot).max(entry.name.millis);
        }
    }

    /// Applies retention to one pipeline of a job from the storage listing, never removing
    /// `stored`, the checkpoint just written.
    async fn enforce_retention(
        &self,
        job_id: &str,
        stored: &CheckpointFileName,
    ) -> CheckpointResult<Vec<String>> {
        let mut entries = self.list_checkpoints(job_id).await?;
        self.note_listing(job_id, &entries);
        entries.retain(|e| e.name.pipeline_id == stored.pipeline_id);
        if let Some(newest) = entries.first()
            && newest.name != *stored
            && CheckpointFileName::newest_first(&newest.name, stored).is_lt()
        {
            warn!(
                stored = %stored.file_name(),
                newest = %newest.path,
                ahead_ms = newest.name.millis.saturating_sub(stored.millis),
                job_id,
                pipeline_id = stored.pipeline_id,
                "stored a checkpoint that sorts older than an existing file of the pipeline (another writer's clock is ahead, or the file is dated in the future); restores, ckpt's and Java's, order by the time in the name and choose the newer file; it is kept, and later stores are named after it"
            );
        }
        self.retain_pipeline(job_id, &entries, Some(stored)).await
    }

    /// Deletes what `max-retained` does not keep of one pipeline (`entries` newest first;
    /// the rule is [`layout::retention_victims`]). Reads files newest first only until it
    /// has found `max-retained` readable ones; files this storage wrote or read are known.
    async fn retain_pipeline(
        &self,
        job_id: &str,
        entries: &[CheckpointEntry],
        protected: Option<&CheckpointFileName>,
    ) -> CheckpointResult<Vec<String>> {
        let Some(max) = self.options.max_retained else {
            return Ok(Vec::new());
        };
        if let Some(first) = entries.first() {
            // Forget paths that are gone, so the cache stays as small as the listing.
            let listed: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
            if let Some(known) =
                lock(&self.known_readable).get_mut(&(job_id.to_string(), first.name.pipeline_id))
            {
                known.retain(|p| listed.contains(p.as_str()));
            }
        }
        // `retention_victims` keeps at least one, whatever the setting.
        let wanted = max.max(1);
        if entries.len() <= wanted {
            return Ok(Vec::new());
        }
        let mut readable = Vec::with_capacity(wanted + 1);
        let mut found = 0;
        for entry in entries {
            if found >= wanted {
                break;
            }
            let ok = self.is_readable(entry).await?;
            found += usize::from(ok);
            readable.push(ok);
        }
        let names: Vec<CheckpointFileName> = entries.iter().map(|e| e.name).collect();
        let victims: HashSet<CheckpointFileName> =
            layout::retention_victims(&names, &readable, max, protected)
                .into_iter()
                .collect();
        let mut removed = Vec::new();
        for victim in entries.iter().filter(|e| victims.contains(&e.name)) {
            if self.delete_entry(victim).await? {
                info!(path = %victim.path, job_id, pipeline_id = victim.name.pipeline_id, max_retained = max, "retention removed checkpoint");
                removed.push(victim.path.clone());
            }
        }
        Ok(removed)
    }

    /// Whether a listed file decodes. A file that vanished counts as unreadable (it is gone);
    /// errors that say nothing about the file (an outage) are returned, so that retention
    /// never deletes on a guess.
    async fn is_readable(&self, entry: &CheckpointEntry) -> CheckpointResult<bool> {
        if self.is_known_readable(entry) {
            return Ok(true);
        }
        match self.read_entry(entry).await {
            Ok(_) => Ok(true),
            Err(CheckpointError::Fs(e)) if e.is_not_found() => Ok(false),
            Err(e) => match unreadable_reason(&e) {
                Some(reason) => {
                    debug!(path = %entry.path, %reason, "retention does not count an unreadable checkpoint");
                    Ok(false)
                }
                None => Err(e),
            },
        }
    }

    /// Applies retention to every pipeline of the given jobs (all jobs when `None`) and
    /// removes leftover temporary files older than the grace period; one listing per job.
    pub async fn prune(&self, job_id: Option<&str>) -> CheckpointResult<PruneReport> {
        let jobs = match job_id {
            Some(job) => vec![job.to_string()],
            None => self.list_jobs().await?,
        };
        let mut report = PruneReport::default();
        let now = SystemTime::now();
        for job in jobs {
            let listing = match self.job_listing(&job).await {
                Ok(listing) => listing,
                Err(e) => match e.unreadable_job_reason() {
                    Some(reason) => {
                        warn!(job_id = %job, %reason, "prune skips a job directory it cannot read");
                        report.skipped_jobs.push(SkippedJob {
                            job_id: job.clone(),
                            reason,
                        });
                        continue;
                    }
                    None => return Err(e),
                },
            };
            let mut removed_temps = HashSet::new();
            for status in &listing {
                if !status.is_dir
                    && self.is_stale_temp(status, now)
                    && self.fs.delete(&status.path, false).await?
                {
                    info!(path = %status.path, "removed leftover temporary file");
                    report.temp_files.push(status.path.to_string());
                    removed_temps.insert(status.path.name().to_string());
                }
            }
            for status in orphan_sidecars(&listing, &removed_temps) {
                if self.is_stale(status, now) && self.fs.delete(&status.path, false).await? {
                    info!(path = %status.path, "removed a checksum sidecar whose file is gone");
                    report.temp_files.push(status.path.to_string());
                }
            }
            let entries = checkpoint_entries(&job, listing);
            let names: Vec<CheckpointFileName> = entries.iter().map(|e| e.name).collect();
            for pipeline_id in layout::pipelines(&names) {
                let mine: Vec<CheckpointEntry> = entries
                    .iter()
                    .filter(|e| e.name.pipeline_id == pipeline_id)
                    .cloned()
                    .collect();
                report
                    .checkpoints
                    .extend(self.retain_pipeline(&job, &mine, None).await?);
            }
        }
        Ok(report)
    }

    fn is_stale_temp(&self, status: &FileStatus, now: SystemTime) -> bool {
        let name = status.path.name();
        let started = if let Some(parsed) = CheckpointFileName::parse_temp(name) {
            Some(UNIX_EPOCH + Duration::from_millis(parsed.millis))
        } else if name.starts_with('.') && name.ends_with(LOCAL_TEMP_SUFFIX) {
            status.modified
        } else {
            return false;
        };
        // The storage's own modification time when it has one: a name's millis may be ahead
        // of the clock (see `next_millis`).
        self.past_grace(status.modified.or(started), now)
    }

    /// True when a file was last modified at least the grace period ago (or has no time).
    /// A Java writer renames a file before its sidecar, so a young orphan may be mid-rename.
    fn is_stale(&self, status: &FileStatus, now: SystemTime) -> bool {
        self.past_grace(status.modified, now)
    }

    /// True when `since` lies at least `temp-grace` before `now` (or is unknown).
    fn past_grace(&self, since: Option<SystemTime>, now: SystemTime) -> bool {
        since.is_none_or(|t| now.duration_since(t).unwrap_or_default() >= self.options.temp_grace)
    }

    /// Decodes every file in the namespace and reports corrupt, leftover and foreign files.
    pub async fn verify(&self) -> CheckpointResult<VerifyReport> {
        self.verify_with_progress(|_, _| {}).await
    }

    /// [`FileStorage::verify`], calling `progress(jobs_done, jobs_total)` after each job.
    pub async fn verify_with_progress(
        &self,
        mut progress: impl FnMut(usize, usize) + Send,
    ) -> CheckpointResult<VerifyReport> {
        let mut report = VerifyReport::default();
        let top = self.namespace_listing().await?;
        let (jobs, foreign): (Vec<FileStatus>, Vec<FileStatus>) = top
            .into_iter()
            // The file system's own `lost+found` at the root of a mounted volume is not ours.
            .filter(|s| !(s.is_dir && s.path.name() == "lost+found"))
            .partition(|s| s.is_dir && layout::validate_job_id(s.path.name()).is_ok());
        report
            .entries
            .extend(foreign.into_iter().map(|s| VerifyEntry {
                path: s.path.to_string(),
                status: VerifyStatus::Foreign,
            }));
        progress(0, jobs.len());
        for (done, job) in jobs.iter().enumerate() {
            match self.verify_job(job.path.name()).await {
                Ok(entries) => report.entries.extend(entries),
                Err(e) => match e.unreadable_job_reason() {
                    Some(reason) => report.entries.push(VerifyEntry {
                        path: job.path.to_string(),
                        status: VerifyStatus::Unreadable { reason },
                    }),
                    None => return Err(e),
                },
            }
            progress(done + 1, jobs.len());
        }
        Ok(report)
    }

    async fn verify_job(&self, job_id: &str) -> CheckpointResult<Vec<VerifyEntry>> {
        let mut listing = self.job_listing(job_id).await?;
        listing.sort_by(|a, b| a.path.cmp(&b.path));
        let names: HashSet<&str> = listing
            .iter()
            .filter(|s| !s.is_dir)
            .map(|s| s.path.name())
            .collect();
        let sidecars = sidecars_by_file(&listing);
        let mut entries = Vec::with_capacity(listing.len());
        for file in &listing {
            let name = file.path.name();
            let sidecar_of = sidecar::file_of_sidecar(name).filter(|_| !file.is_dir);
            let status = match CheckpointFileName::parse(name) {
                _ if file.is_dir => VerifyStatus::Foreign,
                // Checked with its file; a sidecar whose file is gone is a leftover.
                _ if sidecar_of.is_some_and(|f| {
                    CheckpointFileName::parse(f).is_some() && names.contains(f)
                }) =>
                {
                    continue;
                }
                _ if sidecar_of.is_some_and(is_checkpoint_or_temp_name) => VerifyStatus::Temp,
                Some(parsed) => {
                    let entry = CheckpointEntry {
                        job_id: job_id.to_string(),
                        name: parsed,
                        path: file.path.to_string(),
                        len: file.len,
                        sidecar: sidecars.get(name).cloned(),
                    };
                    match self.read_entry(&entry).await {
                        Ok((_, integrity)) => VerifyStatus::Ok { integrity },
                        // Deleted since the listing (a concurrent prune): nothing to verify.
                        Err(CheckpointError::Fs(e)) if e.is_not_found() => continue,
                        Err(e) => match unreadable_reason(&e) {
                            Some(reason) => VerifyStatus::Corrupt { reason },
                            None => return Err(e),
                        },
                    }
                }
                None if is_temp_name(name) => VerifyStatus::Temp,
                None => VerifyStatus::Foreign,
            };
            entries.push(VerifyEntry {
                path: file.path.to_string(),
                status,
            });
        }
        Ok(entries)
    }

    async fn read_all_of(
        &self,
        job_id: &str,
        entries: &[CheckpointEntry],
    ) -> CheckpointResult<Vec<PipelineState>> {
        let mut states = Vec::new();
        let mut first_failure = None;
        for entry in entries {
            match self.read_entry(entry).await {
                Ok((state, _)) => states.push(state),
                Err(CheckpointError::Fs(e)) if e.is_not_found() => {}
                Err(e) => match unreadable_reason(&e) {
                    Some(reason) => {
                        warn!(path = %entry.path, %reason, "skipping unreadable checkpoint");
                        first_failure.get_or_insert_with(|| format!("{}: {reason}", entry.path));
                    }
                    None => return Err(e),
                },
            }
        }
        match first_failure {
            Some(first) if states.is_empty() => Err(CheckpointError::AllUnreadable {
                job_id: job_id.to_string(),
                count: entries.len(),
                first,
            }),
            _ => Ok(states),
        }
    }

    /// Deletes the checkpoints of one pipeline whose ids are in `checkpoint_ids` and returns
    /// the entries actually deleted (empty when none matched). Like Java's, an error when the
    /// job has no checkpoint files at all.
    pub async fn delete_checkpoint_files(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_ids: &[i64],
    ) -> CheckpointResult<Vec<CheckpointEntry>> {
        layout::validate_pipeline_id(pipeline_id)?;
        for id in checkpoint_ids {
            layout::validate_checkpoint_id(*id)?;
        }
        let entries = self.list_checkpoints(job_id).await?;
        if entries.is_empty() {
            return Err(CheckpointError::NoCheckpoints {
                job_id: job_id.to_string(),
                dir: self.job_dir(job_id)?.to_string(),
            });
        }
        let mut deleted = Vec::new();
        for entry in entries.into_iter().filter(|e| {
            e.name.pipeline_id == pipeline_id && checkpoint_ids.contains(&e.name.checkpoint_id)
        }) {
            if self.delete_entry(&entry).await? {
                info!(path = %entry.path, "deleted checkpoint");
                deleted.push(entry);
            }
        }
        Ok(deleted)
    }

    /// Deletes a job's directory with every checkpoint in it; `false` when there was none.
    pub async fn delete_job_dir(&self, job_id: &str) -> CheckpointResult<bool> {
        let dir = self.job_dir(job_id)?;
        let deleted = self.fs.delete(&dir, true).await?;
        if deleted {
            info!(%dir, "deleted job checkpoints");
        }
        lock(&self.newest_seen).retain(|(job, _), _| job != job_id);
        lock(&self.known_readable).retain(|(job, _), _| job != job_id);
        Ok(deleted)
    }
}

/// Why a read failure makes a checkpoint file unusable (corrupt, truncated, not a regular
/// file); `None` for failures that say nothing about the file (outage, permissions).
fn unreadable_reason(error: &CheckpointError) -> Option<String> {
    match error {
        CheckpointError::Corrupt { source, .. } => Some(source.to_string()),
        CheckpointError::SidecarMismatch {
            sidecar, source, ..
        } => Some(format!(
            "its checksum sidecar {sidecar} disagrees: {source}"
        )),
        CheckpointError::Fs(e @ FsError::NotARegularFile { .. }) => Some(e.to_string()),
        _ => None,
    }
}

fn parts_of(data: &EncodedParts) -> Vec<Bytes> {
    data.chunks().into_iter().cloned().collect()
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The committed checkpoint files in a job directory listing, newest first.
fn checkpoint_entries(job_id: &str, listing: Vec<FileStatus>) -> Vec<CheckpointEntry> {
    let sidecars = sidecars_by_file(&listing);
    let mut entries: Vec<CheckpointEntry> = listing
        .into_iter()
        .filter(|s| !s.is_dir)
        .filter_map(|s| {
            let name = s.path.name();
            CheckpointFileName::parse(name).map(|parsed| CheckpointEntry {
                job_id: job_id.to_string(),
                name: parsed,
                sidecar: sidecars.get(name).cloned(),
                path: s.path.to_string(),
                len: s.len,
            })
        })
        .collect();
    entries.sort_by(|a, b| CheckpointFileName::newest_first(&a.name, &b.name));
    entries
}

/// The Hadoop checksum sidecars of a listing, by the name of the file each belongs to.
fn sidecars_by_file(listing: &[FileStatus]) -> HashMap<String, String> {
    listing
        .iter()
        .filter(|s| !s.is_dir)
        .filter_map(|s| {
            sidecar::file_of_sidecar(s.path.name())
                .map(|file| (file.to_string(), s.path.to_string()))
        })
        .collect()
}

/// The sidecars of checkpoint and temporary files that are not in the listing (or were just
/// removed: `removed`), i.e. whose file is gone.
fn orphan_sidecars<'a>(
    listing: &'a [FileStatus],
    removed: &HashSet<String>,
) -> impl Iterator<Item = &'a FileStatus> {
    let present: HashSet<&str> = listing
        .iter()
        .filter(|s| !s.is_dir && !removed.contains(s.path.name()))
        .map(|s| s.path.name())
        .collect();
    listing.iter().filter(move |s| {
        !s.is_dir
            && sidecar::file_of_sidecar(s.path.name())
                .is_some_and(|file| is_checkpoint_or_temp_name(file) && !present.contains(file))
    })
}

/// A temporary file name of ckpt or of the Java engine.
fn is_temp_name(name: &str) -> bool {
    CheckpointFileName::parse_temp(name).is_some() || name.ends_with(LOCAL_TEMP_SUFFIX)
}

/// A name that belongs to the layout: a checkpoint or a temporary file.
fn is_checkpoint_or_temp_name(name: &str) -> bool {
    CheckpointFileName::parse(name).is_some() || is_temp_name(name)
}

/// Decodes and checks that the content belongs to the file's name.
fn decode_checked(
    data: &Bytes,
    job_id: &str,
    name: &CheckpointFileName,
) -> Result<(PipelineState, Integrity), CodecError> {
    let (state, integrity) = codec::decode(data)?;
    codec::check_name(&state, job_id, name)?;
    Ok((state, integrity))
}

#[async_trait]
impl CheckpointStorage for FileStorage {
    async fn store_checkpoint(&self, state: &PipelineState) -> CheckpointResult<StoredCheckpoint> {
        layout::validate_pipeline_id(state.pipeline_id)?;
        layout::validate_checkpoint_id(state.checkpoint_id)?;
        let dir = self.job_dir(&state.job_id)?;
        // In pieces: the states are written from the caller's buffer, never copied.
        let data = codec::encode_parts(state, self.options.checksum)?;
        match self.fs.operation_budget() {
            Some(budget) => {
                retry::with_budget(budget, self.store_encoded(state, &dir, &data, Some(budget)))
                    .await
            }
            None => self.store_encoded(state, &dir, &data, None).await,
        }
    }

    fn store_checkpoint_async(
        self: Arc<Self>,
        state: PipelineState,
    ) -> tokio::task::JoinHandle<CheckpointResult<StoredCheckpoint>> {
        tokio::spawn(async move {
            let result = self.store_checkpoint(&state).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, job_id = %state.job_id, pipeline_id = state.pipeline_id, "store checkpoint failed");
            }
            result
        })
    }

    async fn get_all_checkpoints(&self, job_id: &str) -> CheckpointResult<Vec<PipelineState>> {
        let entries = self.list_checkpoints(job_id).await?;
        self.read_all_of(job_id, &entries).await
    }

    async fn get_latest_checkpoint(&self, job_id: &str) -> CheckpointResult<Vec<PipelineState>> {
        Ok(self
            .restore_job(job_id)
            .await?
            .into_iter()
            .filter_map(|r| r.state)
            .collect())
    }

    async fn get_latest_checkpoint_by_pipeline(
        &self,
        job_id: &str,
        pipeline_id: i32,
    ) -> CheckpointResult<Option<PipelineState>> {
        Ok(self.restore_latest(job_id, pipeline_id).await?.state)
    }

    async fn get_checkpoints_by_pipeline(
        &self,
        job_id: &str,
        pipeline_id: i32,
    ) -> CheckpointResult<Vec<PipelineState>> {
        layout::validate_pipeline_id(pipeline_id)?;
        let entries: Vec<CheckpointEntry> = self
            .list_checkpoints(job_id)
            .await?
            .into_iter()
            .filter(|e| e.name.pipeline_id == pipeline_id)
            .collect();
        self.read_all_of(job_id, &entries).await
    }

    async fn get_checkpoint(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_id: i64,
    ) -> CheckpointResult<PipelineState> {
        layout::validate_pipeline_id(pipeline_id)?;
        layout::validate_checkpoint_id(checkpoint_id)?;
        let entries = self.list_checkpoints(job_id).await?;
        let mut last_error = None;
        for entry in entries
            .iter()
            .filter(|e| e.name.pipeline_id == pipeline_id && e.name.checkpoint_id == checkpoint_id)
        {
            match self.read_entry(entry).await {
                Ok((state, _)) => return Ok(state),
                Err(CheckpointError::Fs(e)) if e.is_not_found() => {
                    last_error.get_or_insert(CheckpointError::Pruned {
                        job_id: job_id.to_string(),
                        pipeline_id,
                        checkpoint_id,
                        path: entry.path.clone(),
                    });
                }
                Err(e) if unreadable_reason(&e).is_some() => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or(CheckpointError::NotFound {
            job_id: job_id.to_string(),
            pipeline_id,
            checkpoint_id,
        }))
    }

    async fn delete_job(&self, job_id: &str) -> CheckpointResult<()> {
        self.delete_job_dir(job_id).await.map(drop)
    }

    async fn delete_checkpoint(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_id: i64,
    ) -> CheckpointResult<()> {
        self.delete_checkpoint_files(job_id, pipeline_id, &[checkpoint_id])
            .await
            .map(drop)
    }

    async fn delete_checkpoints(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_ids: &[i64],
    ) -> CheckpointResult<()> {
        self.delete_checkpoint_files(job_id, pipeline_id, checkpoint_ids)
            .await
            .map(drop)
    }

    fn file_storage(&self) -> Option<&FileStorage> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::retry::{RetryPolicy, RetryingFileSystem};
    use crate::fs::{Capabilities, DirectoryKind, FileReader, FileWriter, FsResult};
    use futures::stream::BoxStream;

    /// A file system that does not answer: every call fails with a retryable error, as with
    /// both HDFS NameNodes down.
    #[derive(Debug)]
    struct Down;

    fn down() -> FsError {
        FsError::Backend {
            scheme: "test".into(),
            message: "connection refused".into(),
            retryable: true,
        }
    }

    #[async_trait]
    impl FileSystem for Down {
        fn scheme(&self) -> &str {
            "test"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                atomic_rename: true,
                atomic_create_if_absent: true,
                atomic_publish: false,
                directories: DirectoryKind::Real,
            }
        }
        async fn get_file_status(&self, _: &Path) -> FsResult<FileStatus> {
            Err(down())
        }
        fn list_status_stream<'a>(&'a self, _: &'a Path) -> BoxStream<'a, FsResult<FileStatus>> {
            Box::pin(futures::stream::once(async { Err(down()) }))
        }
        async fn list_status(&self, _: &Path) -> FsResult<Vec<FileStatus>> {
            Err(down())
        }
        async fn create(&self, _: &Path, _: bool) -> FsResult<Box<dyn FileWriter>> {
            Err(down())
        }
        async fn open(&self, _: &Path) -> FsResult<Box<dyn FileReader>> {
            Err(down())
        }
        async fn mkdirs(&self, _: &Path) -> FsResult<()> {
            Err(down())
        }
        async fn delete(&self, _: &Path, _: bool) -> FsResult<bool> {
            Err(down())
        }
        async fn rename(&self, _: &Path, _: &Path) -> FsResult<bool> {
            Err(down())
        }
    }

    // Issue 8 item 3: the listing, the write and the clean-up of the temporary file each had
    // the whole budget, so a store took a multiple of it. Paused clock: exact virtual time.
    #[tokio::test(start_paused = true)]
    async fn a_store_against_a_storage_that_is_down_ends_within_one_budget() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            max_elapsed: Duration::from_millis(400),
            max_attempts: 1000,
        };
        let fs = Arc::new(RetryingFileSystem::new(Arc::new(Down), policy));
        assert_eq!(fs.operation_budget(), Some(policy.max_elapsed));
        let storage = FileStorage::new(
            fs,
            Path::parse("test://h/ns").unwrap(),
            FileStorageOptions::default(),
        );
        let start = tokio::time::Instant::now();
        let err = storage
            .store_checkpoint(&PipelineState {
                job_id: "4001".into(),
                pipeline_id: 1,
                checkpoint_id: 2,
                states: Bytes::from_static(b"state"),
            })
            .await
            .unwrap_err();
        let spent = start.elapsed();
        assert!(spent <= Duration::from_millis(401), "{spent:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("storing checkpoint 2 of pipeline 1 of job 4001 failed: "),
            "{text}"
        );
        assert!(
            matches!(err.fs_error(), Some(FsError::RetriesExhausted { .. })),
            "{err:?}"
        );
        assert!(err.is_retryable(), "{err:?}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
