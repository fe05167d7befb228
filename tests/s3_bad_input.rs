//! Bad input against the S3 backend: each gives a clear error, and nothing stored is lost.

#![cfg(feature = "s3")]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::conf::{Configuration, PluginConfig};
use ckpt::fs::{FileSystemRegistry, FsError, Path};
use common::conformance::unique;
use common::s3_env::{self, BUCKET};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn fs_for(
    uri: &str,
    conf: &Configuration,
) -> Result<std::sync::Arc<dyn ckpt::fs::FileSystem>, FsError> {
    FileSystemRegistry::with_builtins()
        .get(&Path::parse(uri).unwrap(), conf)
        .await
}

#[test]
fn missing_bucket_in_plugin_config() {
    let err = PluginConfig::from_map(
        &map(&[
            ("storage.type", "s3"),
            ("fs.s3a.endpoint", "http://127.0.0.1:4566"),
        ]),
        &Configuration::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("s3.bucket"), "{err}");
}

#[tokio::test]
async fn bucket_that_does_not_exist() {
    for server in [s3_env::localstack(), s3_env::s3s()].into_iter().flatten() {
        let fs = fs_for("s3a://ckpt-no-such-bucket-4711/", &server.conf())
            .await
            .unwrap();
        let p = Path::parse("s3a://ckpt-no-such-bucket-4711/ns/file").unwrap();
        let err = fs
            .write(&p, Bytes::from_static(b"x"), false)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, FsError::Config { .. }),
            "{}: {err:?}",
            server.name
        );
        assert!(
            text.contains("ckpt-no-such-bucket-4711") && text.contains("does not exist"),
            "{text}"
        );
        let err = fs.list_status(&p.parent().unwrap()).await.unwrap_err();
        assert!(
            err.to_string().contains("does not exist"),
            "{}: {err}",
            server.name
        );
    }
}

#[tokio::test]
async fn unreachable_endpoint_fails_in_bounded_time() {
    for (endpoint, what) in [
        ("http://127.0.0.1:1", "connection refused"),
        // TEST-NET-1: not routed, so the connect times out.
        ("http://192.0.2.1:9000", "connect timeout"),
    ] {
        let conf = Configuration::from_pairs([
            ("fs.s3a.endpoint", endpoint),
            ("fs.s3a.access.key", "ak"),
            ("fs.s3a.secret.key", "sk"),
            ("fs.s3a.attempts.maximum", "3"),
            ("fs.s3a.connection.establish.timeout", "1s"),
            ("fs.s3a.connection.timeout", "5s"),
        ]);
        let fs = fs_for("s3a://some-bucket/", &conf).await.unwrap();
        let start = Instant::now();
        let err = fs
            .write(
                &Path::parse("s3a://some-bucket/x").unwrap(),
                Bytes::from_static(b"x"),
                false,
            )
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        assert!(
            elapsed < Duration::from_secs(60),
            "{what}: took {elapsed:?}"
        );
        // The retry layer gave up on a transient cause: the cause says so, not the wrapper
        // (a `RetriesExhausted` is not retried again by an enclosing loop).
        match &err {
            FsError::RetriesExhausted { last, .. } => {
                assert!(last.is_retryable(), "{what}: {err:?}")
            }
            other => panic!("{what}: expected the retry layer to give up, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains(endpoint.trim_start_matches("http://")) || text.contains(endpoint),
            "{what}: {text}"
        );
    }
}

#[tokio::test]
async fn endpoint_with_a_typo_in_the_scheme() {
    let conf = Configuration::from_pairs([("fs.s3a.endpoint", "htp://127.0.0.1:4566")]);
    let err = fs_for("s3a://ckpt-test/", &conf).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, FsError::Config { .. }), "{err:?}");
    assert!(
        text.contains("fs.s3a.endpoint") && text.contains("htp"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_credentials_provider() {
    let conf = Configuration::from_pairs([
        ("fs.s3a.endpoint", "http://127.0.0.1:4566"),
        (
            "fs.s3a.aws.credentials.provider",
            "com.amazonaws.auth.profile.ProfileCredentialsProvider",
        ),
    ]);
    let err = fs_for("s3a://ckpt-test/", &conf).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("fs.s3a.aws.credentials.provider"), "{text}");
    assert!(text.contains("ProfileCredentialsProvider"), "{text}");
    assert!(
        text.contains("org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"),
        "{text}"
    );
    assert!(
        text.contains("org.apache.hadoop.fs.s3a.InstanceProfileCredentialsProvider"),
        "{text}"
    );
}

/// s3s-fs refuses unsigned (anonymous) requests with 403: PermissionDenied naming the
/// anonymous provider; what was stored before is untouched.
#[tokio::test]
async fn forbidden_403_keeps_stored_data() {
    let Some(server) = s3_env::s3s() else { return };
    let good = server.fs_with(&server.conf()).await;
    let p = Path::parse(&format!("s3a://{BUCKET}/{}/kept", unique("403"))).unwrap();
    good.write(&p, Bytes::from_static(b"precious"), false)
        .await
        .unwrap();

    let anon = Configuration::from_pairs([
        ("fs.s3a.endpoint", server.endpoint.as_str()),
        (
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
        ),
    ]);
    let bad = server.fs_with(&anon).await;
    let err = bad
        .write(&p, Bytes::from_static(b"clobber"), true)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, FsError::PermissionDenied { .. } | FsError::Auth { .. }),
        "{err:?}"
    );
    assert!(text.contains("AnonymousAWSCredentialsProvider"), "{text}");
    let err = bad.delete(&p, false).await.unwrap_err();
    assert!(
        matches!(err, FsError::PermissionDenied { .. } | FsError::Auth { .. }),
        "{err:?}"
    );

    // Wrong secret: refused, secret not shown, data intact.
    let mut wrong = server.conf();
    wrong.set("fs.s3a.secret.key", "not-the-secret-123");
    let bad = server.fs_with(&wrong).await;
    let err = bad
        .write(&p, Bytes::from_static(b"clobber"), true)
        .await
        .unwrap_err();
    assert!(
        !format!("{err:?}").contains("not-the-secret-123"),
        "{err:?}"
    );
    assert_eq!(
        good.read(&p).await.unwrap(),
        Bytes::from_static(b"precious")
    );
    good.delete(&p.parent().unwrap(), true).await.unwrap();
}
