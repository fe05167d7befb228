//! `ckpt`: checkpoint storage for stream and batch engines, compatible with Apache SeaTunnel's
//! engine checkpoint storage (same configuration, layout and file encoding), on local disk,
//! HDFS (native, no JVM), S3 and Aliyun OSS.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod conf;
pub mod config;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
mod xml_entity;

/// The README's Rust example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
