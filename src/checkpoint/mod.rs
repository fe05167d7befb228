//! Checkpoint storage: the microkernel API of SeaTunnel's engine (`CheckpointStorage`,
//! `CheckpointStorageFactory`, a registry of factories) and one implementation,
//! [`FileStorage`], over any [`FileSystem`](crate::fs::FileSystem).

pub mod codec;
mod factory;
mod file_storage;
pub mod layout;
pub mod sidecar;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::conf::ConfError;
use crate::fs::FsError;

pub use factory::{
    CHECKSUM_KEY, CKPT_IDENTIFIER, CheckpointStorageFactory, CheckpointStorageRegistry,
    CkptStorageFactory, FileStoragePlan, HdfsStorageFactory, LOCALFILE_DEFAULT_NAMESPACE,
    LocalFileStorageFactory, StorageSettings, TEMP_GRACE_KEY,
};
pub use file_storage::{
    CheckpointEntry, CommitProtocol, FileStorage, FileStorageOptions, PruneReport, Restore,
    SkippedCheckpoint, SkippedJob, StoredCheckpoint, VerifyEntry, VerifyReport, VerifyStatus,
};

/// The state of one pipeline at one checkpoint, as the engine hands it to storage.
#[derive(Clone, PartialEq, Eq)]
pub struct PipelineState {
    /// The job id: a decimal number (a Java `long` as text).
    pub job_id: String,
    /// The pipeline within the job.
    pub pipeline_id: i32,
    /// The checkpoint id.
    pub checkpoint_id: i64,
    /// The engine's serialized state; opaque to storage.
    pub states: Bytes,
}

impl fmt::Debug for PipelineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineState")
            .field("job_id", &self.job_id)
            .field("pipeline_id", &self.pipeline_id)
            .field("checkpoint_id", &self.checkpoint_id)
            .field("states_len", &self.states.len())
            .finish()
    }
}

/// Errors of checkpoint storage.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// An id is not a decimal number in its range (so it cannot address a path).
    #[error("invalid {what} {value:?}: expected a decimal number from 0 to {max}")]
    InvalidId {
        /// Which id.
        what: &'static str,
        /// The value given.
        value: String,
        /// The largest valid value (a Java `int` or `long`).
        max: i64,
    },
    /// The namespace exists but is a file.
    #[error(
        "the checkpoint namespace {path} is a file, not a directory: set `namespace` in plugin-config to a directory"
    )]
    NamespaceNotADirectory {
        /// The namespace.
        path: String,
    },
    /// Checkpoint files kept disappearing between listing and reading (a concurrent prune or
    /// delete faster than the restore); retrying the restore is safe.
    #[error(
        "checkpoints of job {job_id} pipeline {pipeline_id} kept vanishing while restoring ({relistings} fresh listings; last {last}): another process is deleting them; try again"
    )]
    KeptVanishing {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// How many times the job directory was listed again.
        relistings: usize,
        /// The last file that vanished.
        last: String,
    },
    /// The checkpoint was listed but removed before it could be read.
    #[error(
        "checkpoint {checkpoint_id} of job {job_id} pipeline {pipeline_id} was pruned or deleted while it was being read ({path})"
    )]
    Pruned {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// Checkpoint.
        checkpoint_id: i64,
        /// The file that was listed.
        path: String,
    },
    /// A file system operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Storing a checkpoint failed: which checkpoint, in the engine's words, and the file
    /// system error underneath (inspect it with [`CheckpointError::fs_error`]).
    #[error(
        "storing checkpoint {checkpoint_id} of pipeline {pipeline_id} of job {job_id} failed: {source}"
    )]
    Store {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// Checkpoint.
        checkpoint_id: i64,
        /// What failed.
        #[source]
        source: FsError,
    },
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfError),
    /// No checkpoint matches.
    #[error(
        "No checkpoint found, job({job_id}), pipeline({pipeline_id}), checkpoint({checkpoint_id})"
    )]
    NotFound {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// Checkpoint.
        checkpoint_id: i64,
    },
    /// The job has no checkpoint files at all.
    #[error("no checkpoint found for job {job_id} under {dir}")]
    NoCheckpoints {
        /// Job.
        job_id: String,
        /// The job directory.
        dir: String,
    },
    /// A checkpoint file cannot be decoded.
    #[error("{path}: not a readable checkpoint: {source}")]
    Corrupt {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: codec::CodecError,
    },
    /// A checkpoint file's Hadoop checksum sidecar (`.<name>.crc`) disagrees with it: Hadoop's
    /// reader, and so the Java engine, refuses the file.
    #[error(
        "{path}: its checksum sidecar {sidecar} disagrees with it ({source}); Hadoop's reader refuses such a file"
    )]
    SidecarMismatch {
        /// The checkpoint file.
        path: String,
        /// The sidecar.
        sidecar: String,
        /// How they disagree.
        #[source]
        source: sidecar::SidecarError,
    },
    /// Every checkpoint file of a job failed to read.
    #[error(
        "none of the {count} checkpoint files of job {job_id} could be read; first failure: {first}"
    )]
    AllUnreadable {
        /// Job.
        job_id: String,
        /// How many files were tried.
        count: usize,
        /// The first failure.
        first: String,
    },
    /// A state cannot be encoded (too large for a checkpoint file, or out of memory).
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
    /// The commit rename found its target taken.
    #[error("could not rename {temp} to {target}: the target already exists")]
    RenameFailed {
        /// The temporary file.
        temp: String,
        /// The final name.
        target: String,
    },
    /// No factory has that identifier.
    #[error("unknown checkpoint storage type {identifier:?} (storage.type); known: {known}")]
    UnknownStorage {
        /// The identifier asked for.
        identifier: String,
        /// The registered identifiers.
        known: String,
    },
    /// Two factories claim one identifier.
    #[error("checkpoint storage type {identifier:?} is registered twice")]
    DuplicateStorage {
        /// The identifier.
        identifier: String,
    },
    /// A background store task was lost.
    #[error(
        "background checkpoint store of job {job_id} pipeline {pipeline_id} did not finish: {reason}"
    )]
    Background {
        /// Job.
        job_id: String,
        /// Pipeline.
        pipeline_id: i32,
        /// Why.
        reason: String,
    },
}

impl CheckpointError {
    /// The file system error behind this error ([`CheckpointError::Fs`] or the cause of a
    /// failed [`CheckpointError::Store`]), if that is what it is.
    pub fn fs_error(&self) -> Option<&FsError> {
        match self {
            CheckpointError::Fs(e) | CheckpointError::Store { source: e, .. } => Some(e),
            _ => None,
        }
    }

    /// True when trying the same call again later may succeed: a file system error that is
    /// retryable, or retries that ran out on one (the storage was unavailable for the whole
    /// time budget).
    pub fn is_retryable(&self) -> bool {
        match self.fs_error() {
            Some(FsError::RetriesExhausted { last, .. }) => last.is_retryable(),
            Some(e) => e.is_retryable(),
            None => false,
        }
    }

    /// Why a job directory can be skipped by whole-namespace commands (`jobs`, `verify`,
    /// `prune` report it and go on); `None` when the error concerns the storage as a whole.
    pub fn unreadable_job_reason(&self) -> Option<String> {
        match self {
            CheckpointError::Fs(
                e @ (FsError::PermissionDenied { .. } | FsError::NotADirectory { .. }),
            ) => Some(e.to_string()),
            _ => None,
        }
    }
}

/// Result type of checkpoint storage.
pub type CheckpointResult<T> = Result<T, CheckpointError>;

/// The checkpoint storage API of SeaTunnel's engine (same operations, idiomatic Rust).
#[async_trait]
pub trait CheckpointStorage: Send + Sync + fmt::Debug {
    /// Stores a checkpoint durably; returns where, and what retention removed.
    async fn store_checkpoint(&self, state: &PipelineState) -> CheckpointResult<StoredCheckpoint>;

    /// Stores a checkpoint in the background (Java's `asyncStoreCheckPoint`); failures are
    /// logged and returned through the handle.
    fn store_checkpoint_async(
        self: Arc<Self>,
        state: PipelineState,
    ) -> tokio::task::JoinHandle<CheckpointResult<StoredCheckpoint>>;

    /// Every readable checkpoint of a job; unreadable files are skipped with a warning, and it
    /// is an error only when every file failed.
    async fn get_all_checkpoints(&self, job_id: &str) -> CheckpointResult<Vec<PipelineState>>;

    /// The newest readable checkpoint of every pipeline of a job.
    async fn get_latest_checkpoint(&self, job_id: &str) -> CheckpointResult<Vec<PipelineState>>;

    /// The newest readable checkpoint of one pipeline (falling back past corrupt files).
    async fn get_latest_checkpoint_by_pipeline(
        &self,
        job_id: &str,
        pipeline_id: i32,
    ) -> CheckpointResult<Option<PipelineState>>;

    /// Every readable checkpoint of one pipeline, newest first.
    async fn get_checkpoints_by_pipeline(
        &self,
        job_id: &str,
        pipeline_id: i32,
    ) -> CheckpointResult<Vec<PipelineState>>;

    /// One checkpoint; [`CheckpointError::NotFound`] when absent.
    async fn get_checkpoint(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_id: i64,
    ) -> CheckpointResult<PipelineState>;

    /// Deletes every checkpoint of a job (the job directory).
    async fn delete_job(&self, job_id: &str) -> CheckpointResult<()>;

    /// Deletes one checkpoint.
    async fn delete_checkpoint(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_id: i64,
    ) -> CheckpointResult<()>;

    /// Deletes several checkpoints of one pipeline.
    async fn delete_checkpoints(
        &self,
        job_id: &str,
        pipeline_id: i32,
        checkpoint_ids: &[i64],
    ) -> CheckpointResult<()>;

    /// The [`FileStorage`] behind this storage, when it is one (for listing, prune, verify).
    fn file_storage(&self) -> Option<&FileStorage> {
        None
    }
}
