//! Large states through multipart upload: 64 MiB on LocalStack (which verifies part checksums)
//! with checksums on and with `WhenRequired`, plus conditional multipart completion.

#![cfg(feature = "s3")]

mod common;

use bytes::Bytes;
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FsError, Path};
use common::conformance::{pattern, unique};
use common::s3_env::{self, BUCKET, S3Server};

const MIB: usize = 1024 * 1024;

fn multipart_conf(server: &S3Server, checksum: &str) -> Configuration {
    let mut conf = server.conf();
    conf.set("fs.s3a.multipart.size", "8M");
    conf.set("fs.s3a.multipart.threshold", "16M");
    conf.set("fs.s3a.checksum.calculation", checksum);
    conf
}

async fn write_in_chunks(
    fs: &dyn FileSystem,
    p: &Path,
    data: &Bytes,
    overwrite: bool,
) -> Result<(), FsError> {
    let mut w = fs.create(p, overwrite).await?;
    for chunk in data.chunks(3 * MIB + 17) {
        w.write(Bytes::copy_from_slice(chunk)).await?;
    }
    w.close().await
}

async fn large_round_trip(server: S3Server, checksum: &str) {
    let fs = server.fs_with(&multipart_conf(&server, checksum)).await;
    let p = Path::parse(&format!("s3a://{BUCKET}/{}/state", unique("large"))).unwrap();
    let data = pattern(64 * MIB, 9);
    write_in_chunks(&*fs, &p, &data, false).await.unwrap();

    // It really went through multipart: the ETag of a multipart object ends in -<parts>.
    let key = p.path().trim_start_matches('/');
    let head = server
        .sdk()
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    let etag = head.e_tag().unwrap_or("").trim_matches('"').to_string();
    assert!(
        etag.ends_with("-8"),
        "{checksum}: expected 8 parts, ETag {etag}"
    );
    assert_eq!(head.content_length(), Some(64 * MIB as i64));

    let got = fs.read(&p).await.unwrap();
    assert!(got == data, "{checksum}: content differs");
    let r = fs.open(&p).await.unwrap();
    assert_eq!(
        r.read_range(40 * MIB as u64, 100).await.unwrap(),
        data.slice(40 * MIB..40 * MIB + 100)
    );

    // create-if-absent over it, in parts too: refused, the stored state untouched, no upload left.
    let other = pattern(20 * MIB, 3);
    let err = write_in_chunks(&*fs, &p, &other, false).await.unwrap_err();
    assert!(matches!(err, FsError::AlreadyExists { .. }), "got {err:?}");
    assert!(fs.read(&p).await.unwrap() == data);
    fs.delete(&p.parent().unwrap(), true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_64mib_with_checksums_localstack() {
    let Some(server) = s3_env::localstack() else {
        return;
    };
    large_round_trip(server, "when_supported").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_64mib_when_required_localstack() {
    let Some(server) = s3_env::localstack() else {
        return;
    };
    large_round_trip(server, "when_required").await;
}

/// Concurrent create-if-absent through multipart: the conditional CompleteMultipartUpload
/// lets exactly one writer win (the create-time probe cannot, as all start before any ends).
async fn conditional_multipart_race(server: S3Server) {
    let fs = server
        .fs_with(&multipart_conf(&server, "when_supported"))
        .await;
    let p = Path::parse(&format!("s3a://{BUCKET}/{}/race", unique("mprace"))).unwrap();
    let mut writers = Vec::new();
    for _ in 0..2 {
        writers.push(fs.create(&p, false).await.unwrap());
    }
    let mut results = Vec::new();
    for (i, mut w) in writers.into_iter().enumerate() {
        let data = pattern(17 * MIB, i as u8);
        let r = async {
            w.write(data.clone()).await?;
            w.close().await
        }
        .await;
        results.push((r, data));
    }
    let winners: Vec<_> = results.iter().filter(|(r, _)| r.is_ok()).collect();
    assert_eq!(
        winners.len(),
        1,
        "{}: {:?}",
        server.name,
        results.iter().map(|(r, _)| r).collect::<Vec<_>>()
    );
    let loser = results.iter().find(|(r, _)| r.is_err()).unwrap();
    assert!(
        matches!(loser.0, Err(FsError::AlreadyExists { .. })),
        "{:?}",
        loser.0
    );
    assert!(fs.read(&p).await.unwrap() == winners[0].1);
    fs.delete(&p.parent().unwrap(), true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_multipart_complete_localstack() {
    let Some(server) = s3_env::localstack() else {
        return;
    };
    conditional_multipart_race(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_multipart_complete_s3s() {
    let Some(server) = s3_env::s3s() else { return };
    conditional_multipart_race(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_multipart_complete_minio() {
    let Some(server) = s3_env::minio() else {
        return;
    };
    conditional_multipart_race(server).await;
}
