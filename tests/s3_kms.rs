//! S3 with SSE-KMS: an object's ETag is not its MD5, so after a lost reply to a conditional
//! create or a multipart complete ckpt must not decide from the ETag whether its write landed.
//! The test starts its own MinIO (the binary `testenv/s3/up.sh` builds) with a static KMS key
//! and a bucket whose default encryption is `aws:kms`, behind the fault proxy.

#![cfg(feature = "s3")]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use base64::Engine;
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FsError, Path};
use common::conformance::pattern;
use common::fault_proxy::{Fault, FaultProxy};
use common::s3_env::{BUCKET, S3Server};
use common::wire_suite::{LOST_REPLY_AFTER, set_retry_budget};

const KMS_KEY: &str = "ckpt-test-key";

/// A MinIO server with a static KMS key, killed when dropped.
struct KmsMinio {
    child: Child,
    server: S3Server,
    _data: tempfile::TempDir,
}

impl Drop for KmsMinio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn minio_binary() -> Option<PathBuf> {
    let home = std::env::var_os("CKPT_TESTENV_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ckpt-testenv"))
        })?;
    let bin = home.join("minio/bin/minio");
    bin.is_file().then_some(bin)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_kms_minio() -> Option<KmsMinio> {
    let Some(bin) = minio_binary() else {
        return common::missing(
            "MinIO binary not found under $CKPT_TESTENV_HOME/minio/bin (built by `eval \"$(testenv/s3/up.sh)\"`)",
        );
    };
    let data = tempfile::tempdir().unwrap();
    let (port, console) = (free_port(), free_port());
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let child = Command::new(bin)
        .args(["server", data.path().to_str().unwrap()])
        .args(["--address", &format!("127.0.0.1:{port}")])
        .args(["--console-address", &format!("127.0.0.1:{console}")])
        .env("MINIO_ROOT_USER", "ckpt-kms-ak")
        .env("MINIO_ROOT_PASSWORD", "ckpt-kms-secret")
        .env("MINIO_KMS_SECRET_KEY", format!("{KMS_KEY}:{key}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let minio = KmsMinio {
        child,
        server: S3Server {
            name: "minio-kms",
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: "ckpt-kms-ak".into(),
            secret_key: "ckpt-kms-secret".into(),
            verifies_sigv4: true,
        },
        _data: data,
    };
    // A start-up guard, not a speed assertion.
    let client = minio.server.sdk();
    for _ in 0..300 {
        if client.list_buckets().send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    minio.server.ensure_bucket(BUCKET).await;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(KMS_KEY)
                .build()
                .unwrap(),
        )
        .build();
    client
        .put_bucket_encryption()
        .bucket(BUCKET)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("bucket default encryption aws:kms");
    Some(minio)
}

struct Target {
    _minio: KmsMinio,
    proxy: FaultProxy,
    fs: std::sync::Arc<dyn FileSystem>,
    direct: std::sync::Arc<dyn FileSystem>,
}

async fn target(extra: &[(&str, &str)]) -> Option<Target> {
    let minio = start_kms_minio().await?;
    let upstream: SocketAddr = minio
        .server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = FaultProxy::start(upstream).await;
    let mut conf: Configuration = minio.server.conf();
    conf.set("fs.s3a.endpoint", proxy.endpoint());
    for (k, v) in extra {
        conf.set(*k, *v);
    }
    set_retry_budget(&mut conf);
    let fs = minio.server.fs_with(&conf).await;
    let direct = minio.server.fs_with(&minio.server.conf()).await;
    Some(Target {
        _minio: minio,
        proxy,
        fs,
        direct,
    })
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The premise: on this server an object's ETag is not the MD5 of its data.
async fn assert_etag_is_not_md5(t: &Target, file: &Path, body: &[u8]) {
    let client = t._minio.server.sdk();
    let key = file.path().trim_start_matches('/');
    let head = client
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_ne!(
        head.e_tag().unwrap_or_default().trim_matches('"'),
        md5_hex(body),
        "the server's ETag is the MD5: the test would prove nothing"
    );
}

async fn lost_reply_to_a_conditional_create(extra: &[(&str, &str)]) {
    let Some(t) = target(extra).await else { return };
    let file = Path::parse(&format!("s3a://{BUCKET}/kms/once")).unwrap();
    let body = pattern(10_000, 5);
    let mut writer = t.fs.create(&file, false).await.unwrap();
    writer.write(body.clone()).await.unwrap();
    // The PUT lands, its reply is lost; the retry meets the object (412).
    t.proxy.sever_all();
    t.proxy.push(Fault::reset_down(LOST_REPLY_AFTER));
    writer
        .close()
        .await
        .unwrap_or_else(|e| panic!("a lost reply made the create fail under SSE-KMS: {e}"));
    assert!(t.proxy.faulted() >= 1, "no fault was injected");
    assert_eq!(t.direct.read(&file).await.unwrap(), body);
    assert_etag_is_not_md5(&t, &file, &body).await;
    // Someone else's object is still someone else's.
    let other = Path::parse(&format!("s3a://{BUCKET}/kms/theirs")).unwrap();
    t.direct
        .write(&other, pattern(10_000, 6), false)
        .await
        .unwrap();
    let err = t.fs.write(&other, body.clone(), false).await.unwrap_err();
    assert!(matches!(err, FsError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(t.direct.read(&other).await.unwrap(), pattern(10_000, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_to_a_create_under_bucket_default_sse_kms_is_recognised() {
    // Nothing configured: the server's response says aws:kms.
    lost_reply_to_a_conditional_create(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_to_a_create_with_sse_kms_configured_is_recognised() {
    lost_reply_to_a_conditional_create(&[("fs.s3a.encryption.algorithm", "SSE-KMS")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_to_a_multipart_complete_under_sse_kms_is_recognised() {
    let Some(t) = target(&[
        ("fs.s3a.multipart.size", "5M"),
        ("fs.s3a.multipart.threshold", "5M"),
    ])
    .await
    else {
        return;
    };
    let file = Path::parse(&format!("s3a://{BUCKET}/kms/parts")).unwrap();
    let part = 5 * 1024 * 1024;
    let body = pattern(2 * part, 9);
    let mut writer = t.fs.create(&file, false).await.unwrap();
    // Both parts go up here; close only completes the upload.
    writer.write(body.slice(..part)).await.unwrap();
    writer.write(body.slice(part..)).await.unwrap();
    // The complete lands, its reply is lost; the retry finds the upload gone.
    t.proxy.sever_all();
    t.proxy.push(Fault::reset_down(LOST_REPLY_AFTER));
    writer.close().await.unwrap_or_else(|e| {
        panic!("a lost reply made the multipart complete fail under SSE-KMS: {e}")
    });
    assert!(t.proxy.faulted() >= 1, "no fault was injected");
    assert_eq!(t.direct.read(&file).await.unwrap(), body);
}
