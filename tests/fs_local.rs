//! The FileSystem conformance suite on the local backend.

mod common;

use std::sync::Arc;

use ckpt::conf::Configuration;
use ckpt::fs::{FileSystemRegistry, Path};
use common::conformance::FsFixture;

async fn local_fixture() -> Option<FsFixture> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let base = Path::parse(&format!("file://{}", dir.path().display())).expect("valid path");
    let fs = FileSystemRegistry::with_builtins()
        .get(&base, &Configuration::new())
        .await
        .expect("local file system");
    Some(FsFixture {
        fs,
        base,
        large_listing: 1100,
        guard: Some(Box::new(Arc::new(dir))),
    })
}

fs_conformance_suite!(local_fixture().await);

#[tokio::test]
async fn local_create_leaves_no_temporary_files() {
    let f = local_fixture().await.unwrap();
    let p = f.path("x/y");
    f.fs.write(&p, bytes::Bytes::from_static(b"data"), false)
        .await
        .unwrap();
    let mut w = f.fs.create(&f.path("x/dropped"), false).await.unwrap();
    w.write(bytes::Bytes::from_static(b"zz")).await.unwrap();
    drop(w);
    let names: Vec<String> = std::fs::read_dir(f.base.join("x").unwrap().path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["y".to_string()]);
}
