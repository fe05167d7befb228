//! The FileSystem contract, run unchanged against every backend (modelled on Hadoop's
//! FileSystem contract tests). A backend's test file calls [`fs_conformance_suite!`] with an
//! async expression that yields an [`FsFixture`].

#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use ckpt::fs::{DirectoryKind, FileSystem, FsError, Path};

/// A file system under test and a fresh, empty base directory on it.
pub struct FsFixture {
    /// The backend.
    pub fs: Arc<dyn FileSystem>,
    /// A directory no other test uses.
    pub base: Path,
    /// How many entries the large-listing test creates (over one page on object stores).
    pub large_listing: usize,
    /// Keeps whatever the fixture needs alive (a temporary directory, a server handle).
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl FsFixture {
    /// A child of the base directory.
    pub fn path(&self, rel: &str) -> Path {
        self.base.join(rel).expect("test paths are valid")
    }
}

/// A unique directory name for one test.
pub fn unique(name: &str) -> String {
    format!("{name}-{:08x}", rand::random::<u32>())
}

/// Bytes that differ per position, so misplaced ranges are caught.
pub fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<_>>()
        .into()
}

async fn write(
    fs: &dyn FileSystem,
    p: &Path,
    data: &Bytes,
    overwrite: bool,
) -> Result<(), FsError> {
    fs.write(p, data.clone(), overwrite).await
}

fn names(entries: &[ckpt::fs::FileStatus]) -> Vec<String> {
    let mut v: Vec<String> = entries.iter().map(|e| e.path.name().to_string()).collect();
    v.sort();
    v
}

pub async fn create_then_read(f: &FsFixture) {
    let p = f.path("file.bin");
    let data = pattern(4097, 1);
    write(&*f.fs, &p, &data, false).await.unwrap();
    assert_eq!(f.fs.read(&p).await.unwrap(), data);
    let st = f.fs.get_file_status(&p).await.unwrap();
    assert_eq!(st.len, 4097);
    assert!(!st.is_dir);
    assert_eq!(st.path.name(), "file.bin");
    assert!(f.fs.exists(&p).await.unwrap());
}

pub async fn create_empty_file(f: &FsFixture) {
    let p = f.path("empty");
    write(&*f.fs, &p, &Bytes::new(), false).await.unwrap();
    assert_eq!(f.fs.get_file_status(&p).await.unwrap().len, 0);
    assert!(f.fs.read(&p).await.unwrap().is_empty());
}

pub async fn create_without_overwrite_keeps_existing(f: &FsFixture) {
    let p = f.path("keep");
    write(&*f.fs, &p, &Bytes::from_static(b"first"), false)
        .await
        .unwrap();
    let err = write(&*f.fs, &p, &Bytes::from_static(b"second"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, FsError::AlreadyExists { .. }), "got {err:?}");
    assert_eq!(f.fs.read(&p).await.unwrap(), Bytes::from_static(b"first"));
}

pub async fn create_with_overwrite_replaces(f: &FsFixture) {
    let p = f.path("replace");
    write(&*f.fs, &p, &pattern(1000, 2), false).await.unwrap();
    write(&*f.fs, &p, &Bytes::from_static(b"short"), true)
        .await
        .unwrap();
    assert_eq!(f.fs.read(&p).await.unwrap(), Bytes::from_static(b"short"));
}

pub async fn create_makes_parents(f: &FsFixture) {
    let p = f.path("a/b/c/leaf");
    write(&*f.fs, &p, &Bytes::from_static(b"x"), false)
        .await
        .unwrap();
    for dir in ["a", "a/b", "a/b/c"] {
        let st = f.fs.get_file_status(&f.path(dir)).await.unwrap();
        assert!(st.is_dir, "{dir} should be a directory");
    }
}

pub async fn create_over_directory_fails(f: &FsFixture) {
    let dir = f.path("dir");
    f.fs.mkdirs(&dir).await.unwrap();
    write(
        &*f.fs,
        &dir.join("child").unwrap(),
        &Bytes::from_static(b"c"),
        false,
    )
    .await
    .unwrap();
    let err = write(&*f.fs, &dir, &Bytes::from_static(b"x"), true)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FsError::IsADirectory { .. } | FsError::AlreadyExists { .. }
        ),
        "got {err:?}"
    );
    assert!(f.fs.get_file_status(&dir).await.unwrap().is_dir);
    assert_eq!(
        f.fs.read(&dir.join("child").unwrap()).await.unwrap(),
        Bytes::from_static(b"c")
    );
}

pub async fn create_under_a_file_fails(f: &FsFixture) {
    let file = f.path("plain");
    write(&*f.fs, &file, &Bytes::from_static(b"p"), false)
        .await
        .unwrap();
    let err = write(
        &*f.fs,
        &file.join("child").unwrap(),
        &Bytes::from_static(b"x"),
        false,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            FsError::NotADirectory { .. } | FsError::AlreadyExists { .. } | FsError::Backend { .. }
        ),
        "got {err:?}"
    );
    assert_eq!(f.fs.read(&file).await.unwrap(), Bytes::from_static(b"p"));
}

pub async fn abort_leaves_nothing(f: &FsFixture) {
    let p = f.path("aborted");
    let mut w = f.fs.create(&p, false).await.unwrap();
    w.write(pattern(100, 3)).await.unwrap();
    w.abort().await.unwrap();
    assert!(!f.fs.exists(&p).await.unwrap());
    let existing = f.path("aborted-overwrite");
    write(&*f.fs, &existing, &Bytes::from_static(b"old"), false)
        .await
        .unwrap();
    let mut w = f.fs.create(&existing, true).await.unwrap();
    w.write(Bytes::from_static(b"new")).await.unwrap();
    w.abort().await.unwrap();
    // Local and object stores keep the old content; HDFS truncates at create, as Hadoop does.
    let left = f.fs.read(&existing).await;
    if let Ok(content) = left {
        assert!(
            content == Bytes::from_static(b"old") || content.is_empty(),
            "{content:?}"
        );
    }
}

pub async fn many_writes_and_large_file(f: &FsFixture) {
    let p = f.path("large");
    let mut w = f.fs.create(&p, false).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..40u8 {
        let chunk = pattern(256 * 1024 + i as usize, i);
        expected.extend_from_slice(&chunk);
        w.write(chunk).await.unwrap();
    }
    w.close().await.unwrap();
    let got = f.fs.read(&p).await.unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "content differs");
}

pub async fn ranged_reads(f: &FsFixture) {
    let p = f.path("ranged");
    let data = pattern(10_000, 4);
    write(&*f.fs, &p, &data, false).await.unwrap();
    let r = f.fs.open(&p).await.unwrap();
    assert_eq!(r.len(), 10_000);
    assert_eq!(r.read_range(0, 10).await.unwrap(), data.slice(0..10));
    assert_eq!(
        r.read_range(5000, 1234).await.unwrap(),
        data.slice(5000..6234)
    );
    assert_eq!(r.read_range(9990, 10).await.unwrap(), data.slice(9990..));
    assert_eq!(r.read_range(10_000, 0).await.unwrap(), Bytes::new());
    let err = r.read_range(9995, 10).await.unwrap_err();
    assert!(matches!(err, FsError::EndOfFile { .. }), "got {err:?}");
    let err = r.read_range(20_000, 1).await.unwrap_err();
    assert!(matches!(err, FsError::EndOfFile { .. }), "got {err:?}");
}

pub async fn open_missing_and_directory(f: &FsFixture) {
    let err = match f.fs.open(&f.path("nope")).await {
        Err(e) => e,
        Ok(r) => r.read_all().await.unwrap_err(),
    };
    assert!(err.is_not_found(), "got {err:?}");
    let dir = f.path("d");
    f.fs.mkdirs(&dir).await.unwrap();
    let result = match f.fs.open(&dir).await {
        Err(e) => Err(e),
        Ok(r) => r.read_all().await,
    };
    assert!(result.is_err(), "opening a directory must fail");
}

pub async fn status_of_missing_path(f: &FsFixture) {
    let p = f.path("missing/child");
    let err = f.fs.get_file_status(&p).await.unwrap_err();
    assert!(err.is_not_found(), "got {err:?}");
    assert!(err.to_string().contains("missing/child"), "{err}");
    assert!(!f.fs.exists(&p).await.unwrap());
}

pub async fn listing(f: &FsFixture) {
    let dir = f.path("list");
    f.fs.mkdirs(&dir).await.unwrap();
    assert!(f.fs.list_status(&dir).await.unwrap().is_empty());
    for name in ["a", "b", "c"] {
        write(
            &*f.fs,
            &dir.join(name).unwrap(),
            &Bytes::from_static(b"12345"),
            false,
        )
        .await
        .unwrap();
    }
    write(
        &*f.fs,
        &dir.join("sub/deep").unwrap(),
        &Bytes::from_static(b"z"),
        false,
    )
    .await
    .unwrap();
    f.fs.mkdirs(&dir.join("emptysub").unwrap()).await.unwrap();
    let entries = f.fs.list_status(&dir).await.unwrap();
    assert_eq!(names(&entries), vec!["a", "b", "c", "emptysub", "sub"]);
    for e in &entries {
        let expect_dir = e.path.name().ends_with("sub");
        assert_eq!(e.is_dir, expect_dir, "{:?}", e.path);
        if !e.is_dir {
            assert_eq!(e.len, 5);
        }
        assert!(e.path.starts_with(&dir), "{:?} not under {dir:?}", e.path);
    }
    let single = f.fs.list_status(&dir.join("a").unwrap()).await.unwrap();
    assert_eq!(names(&single), vec!["a"]);
    let err = f.fs.list_status(&f.path("no-such-dir")).await.unwrap_err();
    assert!(err.is_not_found(), "got {err:?}");
}

pub async fn large_listing(f: &FsFixture) {
    let dir = f.path("big");
    f.fs.mkdirs(&dir).await.unwrap();
    let n = f.large_listing;
    let fs = f.fs.clone();
    let writes = (0..n).map(|i| {
        let fs = fs.clone();
        let p = dir.join(&format!("f{i:05}")).unwrap();
        async move { fs.write(&p, Bytes::from_static(b"x"), false).await }
    });
    let results = futures::stream::iter(writes)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for r in results {
        r.unwrap();
    }
    let entries = f.fs.list_status(&dir).await.unwrap();
    assert_eq!(entries.len(), n);
    let mut expected: Vec<String> = (0..n).map(|i| format!("f{i:05}")).collect();
    expected.sort();
    assert_eq!(names(&entries), expected);
}

pub async fn mkdirs_semantics(f: &FsFixture) {
    let deep = f.path("m/n/o");
    f.fs.mkdirs(&deep).await.unwrap();
    f.fs.mkdirs(&deep).await.unwrap();
    assert!(f.fs.get_file_status(&deep).await.unwrap().is_dir);
    assert!(f.fs.get_file_status(&f.path("m/n")).await.unwrap().is_dir);
    let file = f.path("m/file");
    write(&*f.fs, &file, &Bytes::from_static(b"f"), false)
        .await
        .unwrap();
    assert!(
        f.fs.mkdirs(&file).await.is_err(),
        "mkdirs over a file must fail"
    );
    assert!(
        f.fs.mkdirs(&file.join("under").unwrap()).await.is_err(),
        "mkdirs under a file must fail"
    );
    assert_eq!(f.fs.read(&file).await.unwrap(), Bytes::from_static(b"f"));
}

pub async fn delete_semantics(f: &FsFixture) {
    assert!(!f.fs.delete(&f.path("ghost"), false).await.unwrap());
    let file = f.path("del/file");
    write(&*f.fs, &file, &Bytes::from_static(b"1"), false)
        .await
        .unwrap();
    let dir = f.path("del");
    let err = f.fs.delete(&dir, false).await.unwrap_err();
    assert!(
        matches!(err, FsError::DirectoryNotEmpty { .. }),
        "got {err:?}"
    );
    assert_eq!(f.fs.read(&file).await.unwrap(), Bytes::from_static(b"1"));
    assert!(f.fs.delete(&file, false).await.unwrap());
    assert!(!f.fs.exists(&file).await.unwrap());
    let empty = f.path("del/empty");
    f.fs.mkdirs(&empty).await.unwrap();
    assert!(f.fs.delete(&empty, false).await.unwrap());
    assert!(!f.fs.exists(&empty).await.unwrap());
    write(
        &*f.fs,
        &f.path("del/x/y/z"),
        &Bytes::from_static(b"2"),
        false,
    )
    .await
    .unwrap();
    assert!(f.fs.delete(&dir, true).await.unwrap());
    assert!(!f.fs.exists(&dir).await.unwrap());
    assert!(!f.fs.exists(&f.path("del/x/y/z")).await.unwrap());
}

pub async fn rename_semantics(f: &FsFixture) {
    let src = f.path("r/src");
    let dst = f.path("r/dst");
    write(&*f.fs, &src, &Bytes::from_static(b"source"), false)
        .await
        .unwrap();
    assert!(f.fs.rename(&src, &dst).await.unwrap());
    assert!(!f.fs.exists(&src).await.unwrap());
    assert_eq!(
        f.fs.read(&dst).await.unwrap(),
        Bytes::from_static(b"source")
    );

    let other = f.path("r/other");
    write(&*f.fs, &other, &Bytes::from_static(b"other"), false)
        .await
        .unwrap();
    assert!(
        !f.fs.rename(&other, &dst).await.unwrap(),
        "rename must not clobber"
    );
    assert_eq!(
        f.fs.read(&other).await.unwrap(),
        Bytes::from_static(b"other")
    );
    assert_eq!(
        f.fs.read(&dst).await.unwrap(),
        Bytes::from_static(b"source")
    );

    let err = f.fs.rename(&f.path("r/missing"), &f.path("r/x")).await;
    match err {
        Err(e) => assert!(e.is_not_found(), "got {e:?}"),
        Ok(renamed) => assert!(!renamed, "renaming a missing source cannot succeed"),
    }
    assert!(!f.fs.exists(&f.path("r/x")).await.unwrap());
}

pub async fn rename_directory(f: &FsFixture) {
    let src = f.path("rd/src");
    for name in ["one", "sub/two"] {
        write(
            &*f.fs,
            &src.join(name).unwrap(),
            &Bytes::from(name.to_string()),
            false,
        )
        .await
        .unwrap();
    }
    f.fs.mkdirs(&f.path("rd/target-parent")).await.unwrap();
    let dst = f.path("rd/target-parent/moved");
    assert!(f.fs.rename(&src, &dst).await.unwrap());
    assert!(!f.fs.exists(&src).await.unwrap());
    assert_eq!(
        f.fs.read(&dst.join("one").unwrap()).await.unwrap(),
        Bytes::from_static(b"one")
    );
    assert_eq!(
        f.fs.read(&dst.join("sub/two").unwrap()).await.unwrap(),
        Bytes::from_static(b"sub/two")
    );
}

pub async fn concurrent_create_if_absent(f: &FsFixture) {
    if !f.fs.capabilities().atomic_create_if_absent {
        eprintln!(
            "skipped: {} does not claim atomic create-if-absent",
            f.fs.scheme()
        );
        return;
    }
    let p = f.path("race");
    let attempts = (0..8u8).map(|i| {
        let fs = f.fs.clone();
        let p = p.clone();
        async move {
            fs.write(&p, Bytes::from(vec![i; 64]), false)
                .await
                .map(|_| i)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<u8> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one create-if-absent must win: {results:?}"
    );
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, FsError::AlreadyExists { .. } | FsError::Backend { .. }),
                "loser got {e:?}"
            );
        }
    }
    assert_eq!(
        f.fs.read(&p).await.unwrap(),
        Bytes::from(vec![winners[0]; 64])
    );
}

pub async fn capabilities_are_consistent(f: &FsFixture) {
    let caps = f.fs.capabilities();
    if caps.directories == DirectoryKind::Emulated {
        assert!(
            !caps.atomic_rename,
            "an object store cannot rename atomically"
        );
    }
}

use futures::StreamExt;

/// Generates one `#[tokio::test]` per contract check. `$fixture` is an async expression
/// returning `Option<FsFixture>`; `None` means the backend's server is missing, and the
/// test fails unless `CKPT_ALLOW_SKIP=1` (so CI can never silently skip).
#[macro_export]
macro_rules! fs_conformance_suite {
    ($fixture:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(fixture) = $fixture else { return };
                $crate::common::conformance::$name(&fixture).await;
            }
        )*
    };
    ($fixture:expr) => {
        $crate::fs_conformance_suite!($fixture;
            create_then_read, create_empty_file, create_without_overwrite_keeps_existing,
            create_with_overwrite_replaces, create_makes_parents, create_over_directory_fails,
            create_under_a_file_fails, abort_leaves_nothing, many_writes_and_large_file,
            ranged_reads, open_missing_and_directory, status_of_missing_path, listing,
            large_listing, mkdirs_semantics, delete_semantics, rename_semantics,
            rename_directory, concurrent_create_if_absent, capabilities_are_consistent);
    };
}
