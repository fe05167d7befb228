//! The FileSystem conformance suite and the checkpoint suite, unchanged, against the project's
//! signature-verifying OSS server (`testenv/oss/oss_server.py`) with V1, V4 and STS credentials;
//! plus credentials, bad-input and seed-sample checks.

#![cfg(feature = "oss")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::conf::{Configuration, PluginConfig};
use ckpt::fs::{FileSystem, FileSystemRegistry, FsError, Path};
use common::checkpoint_suite::CheckpointFixture;
use common::conformance::{FsFixture, pattern, unique};
use common::oss_env::{self, AK, Auth, BUCKET, OssServer, SK};

/// Small multipart settings so the suites exercise multipart upload and chunked download.
fn tuned(mut conf: Configuration) -> Configuration {
    conf.set("fs.oss.multipart.upload.threshold", "1M");
    conf.set("fs.oss.multipart.upload.size", "256K");
    conf.set("fs.oss.multipart.download.size", "1M");
    conf.set("fs.oss.paging.maximum", "300");
    conf
}

async fn fs_for(root: &str, conf: &Configuration) -> Result<Arc<dyn FileSystem>, FsError> {
    FileSystemRegistry::with_builtins()
        .get(&Path::parse(root).unwrap(), conf)
        .await
}

async fn started() -> Option<OssServer> {
    let server = OssServer::start()?;
    server.create_bucket(BUCKET);
    Some(server)
}

async fn fixture(auth: Auth) -> Option<FsFixture> {
    let server = started().await?;
    let fs = fs_for(&format!("oss://{BUCKET}"), &tuned(server.conf(auth)))
        .await
        .unwrap();
    let base = Path::parse(&format!("oss://{BUCKET}/{}", unique("conformance"))).unwrap();
    Some(FsFixture {
        fs,
        base,
        large_listing: 1100,
        guard: Some(Box::new(server)),
    })
}

async fn checkpoint_fixture(auth: Auth) -> Option<CheckpointFixture> {
    let server = started().await?;
    let fs = fs_for(&format!("oss://{BUCKET}"), &tuned(server.conf(auth)))
        .await
        .unwrap();
    let namespace = Path::parse(&format!(
        "oss://{BUCKET}/{}/seatunnel/checkpoint",
        unique("ckpt")
    ))
    .unwrap();
    Some(CheckpointFixture {
        fs,
        namespace,
        guard: Some(Box::new(server)),
    })
}

mod v1 {
    use super::*;
    fs_conformance_suite!(fixture(Auth::V1).await);
    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture(Auth::V1).await);
    }
}

mod v4 {
    use super::*;
    fs_conformance_suite!(fixture(Auth::V4).await);
    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture(Auth::V4).await);
    }
}

mod sts {
    use super::*;
    fs_conformance_suite!(fixture(Auth::StsV1).await);
    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture(Auth::StsV1).await);
    }
}

#[tokio::test]
async fn sts_with_v4_round_trips() {
    let Some(f) = fixture(Auth::StsV4).await else {
        return;
    };
    let p = f.path("sts-v4/file");
    f.fs.write(&p, Bytes::from_static(b"sts v4"), false)
        .await
        .unwrap();
    assert_eq!(f.fs.read(&p).await.unwrap(), Bytes::from_static(b"sts v4"));
}

#[tokio::test]
async fn wrong_secret_is_a_clear_auth_error_and_stores_nothing() {
    let Some(server) = started().await else {
        return;
    };
    let good = fs_for(&format!("oss://{BUCKET}"), &server.conf(Auth::V1))
        .await
        .unwrap();
    let p = Path::parse(&format!("oss://{BUCKET}/auth/kept")).unwrap();
    good.write(&p, Bytes::from_static(b"kept"), false)
        .await
        .unwrap();
    let wrong_secret = "definitely-not-the-secret-42";
    for auth in [Auth::V1, Auth::V4] {
        let mut conf = server.conf(auth);
        conf.set("fs.oss.accessKeySecret", wrong_secret);
        let bad = fs_for(&format!("oss://{BUCKET}"), &conf).await.unwrap();
        for err in [
            bad.get_file_status(&p).await.unwrap_err(),
            bad.write(&p, Bytes::from_static(b"clobber"), true)
                .await
                .unwrap_err(),
            bad.list_status(&p.parent().unwrap()).await.unwrap_err(),
        ] {
            let msg = err.to_string();
            assert!(matches!(err, FsError::Auth { .. }), "{auth:?}: {err:?}");
            // The provider is named; the access key id is redacted like every key.
            assert!(
                !msg.contains(AK) && msg.contains("AliyunCredentialsProvider"),
                "{msg}"
            );
            assert!(!msg.contains(wrong_secret) && !msg.contains(SK), "{msg}");
            assert!(!format!("{err:?}").contains(wrong_secret));
        }
    }
    assert_eq!(good.read(&p).await.unwrap(), Bytes::from_static(b"kept"));
}

#[tokio::test]
async fn bad_configuration_is_named() {
    let Some(server) = started().await else {
        return;
    };
    let root = format!("oss://{BUCKET}");
    let expect = |err: FsError, key: &str| {
        let msg = err.to_string();
        assert!(matches!(err, FsError::Config { .. }), "{err:?}");
        assert!(msg.contains(key), "{msg} should name {key}");
        assert!(!msg.contains(SK), "{msg}");
    };
    let mut conf = server.conf(Auth::V1);
    conf.remove("fs.oss.endpoint");
    expect(fs_for(&root, &conf).await.unwrap_err(), "fs.oss.endpoint");
    let mut conf = server.conf(Auth::V1);
    conf.set(
        "fs.oss.endpoint",
        format!("htp://127.0.0.1:{}", server.port),
    );
    expect(fs_for(&root, &conf).await.unwrap_err(), "fs.oss.endpoint");
    let mut conf = server.conf(Auth::V1);
    conf.set("fs.oss.credentials.provider", "com.example.NoSuchProvider");
    let err = fs_for(&root, &conf).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("org.apache.hadoop.fs.aliyun.oss.AliyunCredentialsProvider"),
        "{err}"
    );
    expect(err, "fs.oss.credentials.provider");
    let mut conf = server.conf(Auth::V1);
    conf.remove("fs.oss.accessKeySecret");
    expect(
        fs_for(&root, &conf).await.unwrap_err(),
        "fs.oss.accessKeySecret",
    );
    expect(
        fs_for("oss:///no/bucket", &server.conf(Auth::V1))
            .await
            .unwrap_err(),
        "oss.bucket",
    );
    // plugin-config without oss.bucket
    let plugin = [
        ("storage.type", "oss"),
        ("fs.oss.endpoint", "oss-cn-hangzhou.aliyuncs.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let err = PluginConfig::from_map(&plugin, &Configuration::new()).unwrap_err();
    assert!(err.to_string().contains("oss.bucket"), "{err}");
}

#[tokio::test]
async fn nonexistent_bucket_is_named() {
    let Some(server) = started().await else {
        return;
    };
    let fs = fs_for("oss://no-such-bucket-here", &server.conf(Auth::V4))
        .await
        .unwrap();
    let p = Path::parse("oss://no-such-bucket-here/x/y").unwrap();
    for err in [
        fs.get_file_status(&p).await.unwrap_err(),
        fs.write(&p, Bytes::from_static(b"z"), false)
            .await
            .unwrap_err(),
    ] {
        assert!(
            err.to_string()
                .contains("\"no-such-bucket-here\" does not exist"),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn unreachable_endpoint_fails_in_bounded_time() {
    // A port that was free a moment ago: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut conf = Configuration::new();
    conf.set("fs.oss.endpoint", format!("http://127.0.0.1:{port}"));
    conf.set("fs.oss.accessKeyId", AK);
    conf.set("fs.oss.accessKeySecret", SK);
    conf.set("fs.oss.attempts.maximum", "3");
    conf.set("fs.oss.connection.establish.timeout", "2s");
    let fs = fs_for(&format!("oss://{BUCKET}"), &conf).await.unwrap();
    let started = Instant::now();
    let err = fs
        .get_file_status(&Path::parse(&format!("oss://{BUCKET}/x")).unwrap())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, FsError::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_multipart_create_if_absent_has_one_winner() {
    let Some(f) = fixture(Auth::V4).await else {
        return;
    };
    let p = f.path("mp-race");
    let mut first = f.fs.create(&p, false).await.unwrap();
    let mut second = f.fs.create(&p, false).await.unwrap();
    let (a, b) = (pattern(3 * 1024 * 1024, 1), pattern(3 * 1024 * 1024 + 7, 2));
    first.write(a.clone()).await.unwrap();
    second.write(b).await.unwrap();
    first.close().await.unwrap();
    let err = second.close().await.unwrap_err();
    assert!(matches!(err, FsError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(f.fs.read(&p).await.unwrap(), a);
}

/// Writes a seatunnel.yaml, loads it as a user would and opens its file system.
async fn load_sample(
    file: &std::path::Path,
    text: &str,
) -> (PluginConfig, std::sync::Arc<dyn ckpt::fs::FileSystem>) {
    std::fs::write(file, text).unwrap();
    let loaded = ckpt::config::load_file(file).unwrap();
    let plugin = PluginConfig::from_map(
        &loaded.checkpoint.storage.plugin_config,
        &Configuration::new(),
    )
    .unwrap();
    let fs = FileSystemRegistry::with_builtins()
        .get(&plugin.default_fs, &plugin.hadoop)
        .await
        .unwrap();
    (plugin, fs)
}

#[tokio::test]
async fn seed_oss_yaml_sample_works_as_written() {
    let Some(server) = started().await else {
        return;
    };
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed/oss.yaml"),
    )
    .unwrap();
    // Endpoint aside, the sample as written: its bucket, keys and provider class.
    server.create_bucket("your-bucket");
    let text = sample.replace("endpoint address", &server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seatunnel.yaml");
    let (plugin, fs) = load_sample(&file, &text).await;
    // The sample's keys are not the server's: a clear Auth error naming the sample's provider.
    let p = plugin.namespace.join("probe").unwrap();
    let err = fs
        .write(&p, Bytes::from_static(b"x"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FsError::Auth { .. })
            && err.to_string().contains("AliyunCredentialsProvider")
            && !err.to_string().contains("your-access-key"),
        "{err:?}"
    );
    // With the server's keys in place of the placeholders, it stores and reads.
    let text = sample
        .replace("endpoint address", &server.endpoint())
        .replace("your-access-key", AK)
        .replace("your-secret-key", SK);
    let (plugin, fs) = load_sample(&file, &text).await;
    let p = plugin.namespace.join("job-1/probe").unwrap();
    fs.write(&p, Bytes::from_static(b"seed sample"), false)
        .await
        .unwrap();
    assert_eq!(
        fs.read(&p).await.unwrap(),
        Bytes::from_static(b"seed sample")
    );
    assert_eq!(oss_env::BUCKET, BUCKET);
}
