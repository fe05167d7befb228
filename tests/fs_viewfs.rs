//! `viewfs://` over local directories: the conformance and checkpoint suites through a mount
//! table, and the mount table's own rules (internal directories, fallback, cross-mount
//! rename, mount points). The same view over a real HDFS nameservice is in `hdfs_ha.rs`.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FileSystemRegistry, FsError, Path};
use common::checkpoint_suite::CheckpointFixture;
use common::conformance::{FsFixture, unique};

/// A view `viewfs://<cluster>/` with `/data` and `/logs/app` mounted on two local directories
/// (and, when asked, a fallback on a third).
struct View {
    fs: Arc<dyn FileSystem>,
    root: Path,
    dirs: Arc<tempfile::TempDir>,
}

impl View {
    async fn new(with_fallback: bool) -> View {
        let dirs = tempfile::tempdir().expect("temporary directory");
        for sub in ["data", "logs", "fallback"] {
            std::fs::create_dir(dirs.path().join(sub)).unwrap();
        }
        let cluster = unique("cluster");
        let local = |sub: &str| format!("file://{}/{sub}", dirs.path().display());
        let mut conf = Configuration::from_pairs([
            (
                format!("fs.viewfs.mounttable.{cluster}.link./data"),
                local("data"),
            ),
            (
                format!("fs.viewfs.mounttable.{cluster}.link./logs/app"),
                local("logs"),
            ),
        ]);
        if with_fallback {
            conf.set(
                format!("fs.viewfs.mounttable.{cluster}.linkFallback"),
                local("fallback"),
            );
        }
        let root = Path::parse(&format!("viewfs://{cluster}/")).unwrap();
        let fs = FileSystemRegistry::with_builtins()
            .get(&root, &conf)
            .await
            .unwrap_or_else(|e| panic!("viewfs over local directories: {e}"));
        View {
            fs,
            root,
            dirs: Arc::new(dirs),
        }
    }

    fn at(&self, p: &str) -> Path {
        Path::parse(p).unwrap().qualify(&self.root)
    }

    fn local(&self, rel: &str) -> std::path::PathBuf {
        self.dirs.path().join(rel)
    }
}

async fn fs_fixture() -> Option<FsFixture> {
    let view = View::new(false).await;
    let base = view.at(&format!("/data/{}", unique("conformance")));
    Some(FsFixture {
        fs: view.fs.clone(),
        base,
        large_listing: 300,
        guard: Some(Box::new(view.dirs.clone())),
    })
}

async fn checkpoint_fixture() -> Option<CheckpointFixture> {
    let view = View::new(true).await;
    Some(CheckpointFixture {
        fs: view.fs.clone(),
        namespace: view.at(&format!("/logs/app/{}", unique("ns"))),
        guard: Some(Box::new(view.dirs.clone())),
    })
}

fs_conformance_suite!(fs_fixture().await);

mod checkpoint {
    use super::*;
    checkpoint_suite!(checkpoint_fixture().await);
}

#[tokio::test]
async fn files_land_in_the_link_targets() {
    let v = View::new(false).await;
    v.fs.write(&v.at("/data/a/b"), Bytes::from_static(b"1"), false)
        .await
        .unwrap();
    v.fs.write(&v.at("/logs/app/c"), Bytes::from_static(b"2"), false)
        .await
        .unwrap();
    assert_eq!(std::fs::read(v.local("data/a/b")).unwrap(), b"1");
    assert_eq!(std::fs::read(v.local("logs/c")).unwrap(), b"2");
    // Statuses come back with view paths, not target paths.
    let listed = v.fs.list_status(&v.at("/data/a")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].path, v.at("/data/a/b"));
    assert_eq!(
        v.fs.get_file_status(&v.at("/logs/app/c"))
            .await
            .unwrap()
            .path,
        v.at("/logs/app/c")
    );
}

#[tokio::test]
async fn internal_directories_are_listed_and_read_only() {
    let v = View::new(false).await;
    let root = v.fs.list_status(&v.at("/")).await.unwrap();
    let names: Vec<&str> = root.iter().map(|s| s.path.name()).collect();
    assert_eq!(names, ["data", "logs"]);
    assert!(root.iter().all(|s| s.is_dir));
    let logs = v.fs.get_file_status(&v.at("/logs")).await.unwrap();
    assert!(logs.is_dir);
    assert_eq!(
        v.fs.list_status(&v.at("/logs")).await.unwrap()[0].path,
        v.at("/logs/app")
    );
    // mkdirs of an internal directory is a no-op; writing beside the links is refused.
    v.fs.mkdirs(&v.at("/logs")).await.unwrap();
    match v
        .fs
        .write(&v.at("/logs/other"), Bytes::from_static(b"x"), false)
        .await
    {
        Err(FsError::PermissionDenied { message, .. }) => {
            assert!(message.contains("linkFallback"), "{message}");
            assert!(message.contains("/logs/app"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        v.fs.create(&v.at("/logs"), true).await,
        Err(FsError::IsADirectory { .. })
    ));
    assert!(matches!(
        v.fs.delete(&v.at("/logs"), true).await,
        Err(FsError::PermissionDenied { .. })
    ));
    // Outside every link there is nothing.
    assert!(!v.fs.exists(&v.at("/nowhere/x")).await.unwrap());
    assert!(!v.fs.delete(&v.at("/nowhere/x"), false).await.unwrap());
}

#[tokio::test]
async fn mount_points_cannot_be_deleted_or_renamed() {
    let v = View::new(false).await;
    v.fs.write(&v.at("/data/keep"), Bytes::from_static(b"k"), false)
        .await
        .unwrap();
    match v.fs.delete(&v.at("/data"), true).await {
        Err(FsError::PermissionDenied { message, .. }) => {
            assert!(message.contains("link./data"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(v.fs.rename(&v.at("/data"), &v.at("/data2")).await.is_err());
    assert_eq!(std::fs::read(v.local("data/keep")).unwrap(), b"k");
}

#[tokio::test]
async fn rename_across_mount_points_is_refused_and_changes_nothing() {
    let v = View::new(true).await;
    let src = v.at("/data/x");
    v.fs.write(&src, Bytes::from_static(b"x"), false)
        .await
        .unwrap();
    for dst in ["/logs/app/x", "/elsewhere/x"] {
        match v.fs.rename(&src, &v.at(dst)).await {
            Err(FsError::Unsupported { operation, .. }) => {
                assert!(operation.contains("across mount points"), "{operation}")
            }
            other => panic!("{dst}: {other:?}"),
        }
    }
    assert_eq!(v.fs.read(&src).await.unwrap(), Bytes::from_static(b"x"));
    // Within one mount point rename works.
    assert!(v.fs.rename(&src, &v.at("/data/y")).await.unwrap());
}

#[tokio::test]
async fn fallback_serves_the_rest_and_shows_in_internal_listings() {
    let v = View::new(true).await;
    v.fs.write(&v.at("/elsewhere/f"), Bytes::from_static(b"f"), false)
        .await
        .unwrap();
    v.fs.write(&v.at("/logs/other"), Bytes::from_static(b"o"), false)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(v.local("fallback/elsewhere/f")).unwrap(),
        b"f"
    );
    assert_eq!(std::fs::read(v.local("fallback/logs/other")).unwrap(), b"o");
    let names: Vec<String> =
        v.fs.list_status(&v.at("/logs"))
            .await
            .unwrap()
            .iter()
            .map(|s| s.path.to_string())
            .collect();
    assert_eq!(
        names,
        [
            v.at("/logs/app").to_string(),
            v.at("/logs/other").to_string()
        ]
    );
}

#[tokio::test]
async fn bad_mount_tables_name_the_key() {
    let registry = FileSystemRegistry::with_builtins();
    let root = Path::parse("viewfs://prod/").unwrap();
    let cases: Vec<(Configuration, &str)> = vec![
        (
            Configuration::new(),
            "fs.viewfs.mounttable.prod.link./<path>",
        ),
        (
            Configuration::from_pairs([("fs.viewfs.mounttable.prod.link./a", "nosuch://x/a")]),
            "",
        ),
        (
            Configuration::from_pairs([("fs.viewfs.mounttable.prod.linkMergeSlash", "file:///")]),
            "fs.viewfs.mounttable.prod.linkMergeSlash",
        ),
    ];
    for (conf, key) in cases {
        let err = registry.get(&root, &conf).await.unwrap_err();
        match (&err, key) {
            (FsError::Config { key: got, .. }, want) if !want.is_empty() => assert_eq!(got, want),
            (FsError::UnknownScheme { scheme, .. }, "") => assert_eq!(scheme, "nosuch"),
            _ => panic!("{key}: {err:?}"),
        }
    }
}

#[tokio::test]
async fn default_cluster_and_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let conf = Configuration::from_pairs([
        (
            "fs.viewfs.mounttable.default.link./d".to_string(),
            format!("file://{}", dir.path().display()),
        ),
        (
            // A secret-looking key beside the table must not show up in Debug output.
            "fs.s3a.secret.key".to_string(),
            "not-to-be-printed".to_string(),
        ),
    ]);
    let fs = FileSystemRegistry::with_builtins()
        .get(&Path::parse("viewfs:///").unwrap(), &conf)
        .await
        .unwrap();
    let p = Path::parse("viewfs:///d/x").unwrap();
    fs.write(&p, Bytes::from_static(b"x"), false).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"x");
    let debug = format!("{fs:?}");
    assert!(debug.contains("/d -> file://"), "{debug}");
    assert!(!debug.contains("not-to-be-printed"), "{debug}");
}
