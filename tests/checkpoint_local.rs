//! The checkpoint suite on the local backend.

mod common;

use ckpt::conf::Configuration;
use ckpt::fs::{FileSystemRegistry, Path};
use common::checkpoint_suite::CheckpointFixture;

async fn local_fixture() -> Option<CheckpointFixture> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let namespace = Path::parse(&format!(
        "file://{}/seatunnel/checkpoint",
        dir.path().display()
    ))
    .expect("valid path");
    let fs = FileSystemRegistry::with_builtins()
        .get(&namespace, &Configuration::new())
        .await
        .expect("local file system");
    Some(CheckpointFixture {
        fs,
        namespace,
        guard: Some(Box::new(dir)),
    })
}

checkpoint_suite!(local_fixture().await);
