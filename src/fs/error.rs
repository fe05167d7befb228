//! Errors of the [`FileSystem`](super::FileSystem) layer.

use std::time::Duration;

/// What went wrong in a file system operation, in Hadoop's vocabulary.
///
/// Every variant names the path (as a URI string) or the configuration key it is about,
/// so a message shown to a user says what to look at. No variant ever carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The path does not exist (Hadoop `FileNotFoundException`).
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The missing path.
        path: String,
    },
    /// The path exists and the operation would overwrite it (Hadoop `FileAlreadyExistsException`).
    #[error("{path}: already exists")]
    AlreadyExists {
        /// The existing path.
        path: String,
    },
    /// A directory was expected but a file was found (e.g. a parent of the path is a file).
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The offending path.
        path: String,
    },
    /// A file was expected but a directory was found.
    #[error("{path}: is a directory")]
    IsADirectory {
        /// The offending path.
        path: String,
    },
    /// Non-recursive delete of a directory that has entries (Hadoop `PathIsNotEmptyDirectoryException`).
    #[error("{path}: directory is not empty (delete it recursively)")]
    DirectoryNotEmpty {
        /// The directory.
        path: String,
    },
    /// The storage refused the operation for lack of permission.
    #[error("{path}: permission denied ({message})")]
    PermissionDenied {
        /// The path the operation was about.
        path: String,
        /// What the storage said.
        message: String,
    },
    /// The path is a FIFO, socket or device: checkpoint files are regular files, and reading a
    /// FIFO could block forever.
    #[error(
        "{path}: not a regular file (a FIFO, socket or device); checkpoint files are regular files"
    )]
    NotARegularFile {
        /// The path.
        path: String,
    },
    /// A path or URI could not be understood.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A read past the end of a file.
    #[error(
        "{path}: read of {len} bytes at offset {offset} is past the end of the file ({file_len} bytes)"
    )]
    EndOfFile {
        /// The file.
        path: String,
        /// Requested start.
        offset: u64,
        /// Requested length.
        len: u64,
        /// Actual length of the file.
        file_len: u64,
    },
    /// A configuration key is missing or has a bad value.
    #[error("configuration {key}: {message}")]
    Config {
        /// The configuration key.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// No backend is registered for the URI scheme.
    #[error("no file system registered for scheme {scheme:?} (known: {known})")]
    UnknownScheme {
        /// The scheme asked for.
        scheme: String,
        /// The registered schemes, comma separated.
        known: String,
    },
    /// The backend does not support the operation.
    #[error("{operation} is not supported by the {scheme} file system")]
    Unsupported {
        /// The scheme of the backend.
        scheme: String,
        /// The operation.
        operation: String,
    },
    /// A local I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The path the operation was about.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Authentication failed (Kerberos, access keys, tokens).
    #[error("authentication failed: {message}")]
    Auth {
        /// What failed, naming principal/keytab/provider but never key material.
        message: String,
    },
    /// Any other backend error. `retryable` tells the retry layer whether trying again may help.
    #[error("{scheme}: {message}")]
    Backend {
        /// The backend's scheme.
        scheme: String,
        /// What the backend said.
        message: String,
        /// Whether the operation may succeed if tried again (standby NameNode, connection reset...).
        retryable: bool,
    },
    /// A retried operation gave up.
    #[error("{operation} failed after {attempts} attempts in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// The operation and path.
        operation: String,
        /// How many attempts were made.
        attempts: u32,
        /// How long was spent.
        elapsed: Duration,
        /// The last error.
        #[source]
        last: Box<FsError>,
    },
}

impl FsError {
    /// Builds an [`FsError::Io`], mapping well-known kinds to the Hadoop-style variants.
    pub fn from_io(path: impl Into<String>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            std::io::ErrorKind::NotFound => FsError::NotFound { path },
            std::io::ErrorKind::AlreadyExists => FsError::AlreadyExists { path },
            std::io::ErrorKind::PermissionDenied => FsError::PermissionDenied {
                path,
                message: "check the owner and mode of the path and of its parent directories against the user ckpt runs as".to_string(),
            },
            std::io::ErrorKind::NotADirectory => FsError::NotADirectory { path },
            std::io::ErrorKind::IsADirectory => FsError::IsADirectory { path },
            std::io::ErrorKind::DirectoryNotEmpty => FsError::DirectoryNotEmpty { path },
            _ => FsError::Io { path, source },
        }
    }

    /// True when the error means the path does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FsError::NotFound { .. })
    }

    /// True when trying the same operation again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FsError::Backend { retryable, .. } => *retryable,
            FsError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

/// Result type of the file system layer.
pub type FsResult<T> = Result<T, FsError>;
