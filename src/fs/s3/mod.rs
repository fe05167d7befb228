//! Amazon S3 and S3-compatible stores (`s3a://bucket/...`, `s3://bucket/...`) through the
//! official AWS SDK (`aws-sdk-s3`), with Hadoop S3A configuration keys and semantics.
//!
//! - [`config`]: pure mapping of `fs.s3a.*` keys (with per-bucket overrides).
//! - [`credentials`]: the ordered `fs.s3a.aws.credentials.provider` chain (static keys,
//!   session token, environment, IMDSv2 instance profile, anonymous).
//! - [`client`]: the SDK client and the error mapping.
//! - [`log_scrub`]: keeps credentials out of the SDK's debug and trace events.
//! - [`fs`]: the [`FileSystem`](crate::fs::FileSystem) on top: directories as prefixes plus
//!   `dir/` markers, conditional create, multipart uploads, copy+delete rename.

pub mod client;
pub mod config;
pub mod credentials;
pub mod fs;
pub mod log_scrub;

pub use fs::{S3FileSystem, S3FileSystemFactory};
