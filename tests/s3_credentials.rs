//! S3 credentials against s3s-fs (which verifies SigV4): static keys, session token,
//! instance profile through the test IMDS with short-lived credentials, wrong keys.

#![cfg(feature = "s3")]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::conf::Configuration;
use ckpt::fs::{FsError, Path};
use common::conformance::unique;
use common::s3_env::{self, BUCKET, Imds, S3Server};

const SIMPLE: &str = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider";
const TEMPORARY: &str = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider";

fn base_conf(server: &S3Server) -> Configuration {
    server.base_conf()
}

async fn round_trip(server: &S3Server, conf: &Configuration) -> Result<(), FsError> {
    let fs = server.fs_with(conf).await;
    let p = Path::parse(&format!("s3a://{BUCKET}/{}/file", unique("creds"))).unwrap();
    fs.write(&p, Bytes::from_static(b"payload"), false).await?;
    assert_eq!(fs.read(&p).await?, Bytes::from_static(b"payload"));
    fs.delete(&p, false).await?;
    Ok(())
}

#[tokio::test]
async fn static_keys_simple_provider() {
    let Some(server) = s3_env::s3s() else { return };
    round_trip(&server, &server.conf()).await.unwrap();
}

#[tokio::test]
async fn static_keys_through_the_default_chain() {
    let Some(server) = s3_env::s3s() else { return };
    let mut conf = base_conf(&server);
    conf.set("fs.s3a.access.key", &server.access_key);
    conf.set("fs.s3a.secret.key", &server.secret_key);
    round_trip(&server, &conf).await.unwrap();
}

#[tokio::test]
async fn session_token_temporary_provider() {
    let Some(server) = s3_env::s3s() else { return };
    let mut conf = base_conf(&server);
    conf.set("fs.s3a.access.key", &server.access_key);
    conf.set("fs.s3a.secret.key", &server.secret_key);
    conf.set("fs.s3a.session.token", "session-token-value");
    conf.set("fs.s3a.aws.credentials.provider", TEMPORARY);
    round_trip(&server, &conf).await.unwrap();

    // Temporary without a token: the error names the provider and the missing key.
    conf.remove("fs.s3a.session.token");
    let err = round_trip(&server, &conf).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, FsError::Auth { .. }), "got {err:?}");
    assert!(text.contains("TemporaryAWSCredentialsProvider"), "{text}");
    assert!(text.contains("fs.s3a.session.token"), "{text}");
    assert!(!text.contains(&server.secret_key), "{text}");
}

#[tokio::test]
async fn per_bucket_keys_override_global_ones() {
    let Some(server) = s3_env::s3s() else { return };
    let mut conf = base_conf(&server);
    conf.set("fs.s3a.access.key", "wrong-global-ak");
    conf.set("fs.s3a.secret.key", "wrong-global-sk");
    conf.set(
        format!("fs.s3a.bucket.{BUCKET}.access.key"),
        &server.access_key,
    );
    conf.set(
        format!("fs.s3a.bucket.{BUCKET}.secret.key"),
        &server.secret_key,
    );
    round_trip(&server, &conf).await.unwrap();
}

#[tokio::test]
async fn wrong_keys_name_the_provider_never_the_secret() {
    let Some(server) = s3_env::s3s() else { return };
    let secret = "Wr0ng-Secret-Do-Not-Print";
    for provider in [Some(SIMPLE), None] {
        let mut conf = base_conf(&server);
        conf.set("fs.s3a.access.key", &server.access_key);
        conf.set("fs.s3a.secret.key", secret);
        if let Some(p) = provider {
            conf.set("fs.s3a.aws.credentials.provider", p);
        }
        let err = round_trip(&server, &conf).await.unwrap_err();
        let text = format!("{err} / {err:?}");
        assert!(
            matches!(err, FsError::Auth { .. } | FsError::PermissionDenied { .. }),
            "got {err:?}"
        );
        assert!(text.contains("SimpleAWSCredentialsProvider"), "{text}");
        assert!(!text.contains(secret), "the secret leaked: {text}");
    }
}

/// Instance profile: IMDSv2 with credentials expiring after 30 s; a loop of writes spanning
/// at least two rotations must see zero failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_profile_credentials_rotate_without_failures() {
    let Some(server) = s3_env::s3s() else { return };
    let Some(imds) = Imds::start(&server.access_key, &server.secret_key, 30) else {
        return;
    };
    let mut conf = base_conf(&server);
    conf.set(
        "fs.s3a.aws.credentials.provider",
        "org.apache.hadoop.fs.s3a.InstanceProfileCredentialsProvider",
    );
    conf.set("fs.s3a.ckpt.imds.endpoint", &imds.endpoint);
    let fs = server.fs_with(&conf).await;
    let dir = Path::parse(&format!("s3a://{BUCKET}/{}", unique("imds"))).unwrap();
    let start = Instant::now();
    let mut writes = 0u32;
    // Rotation every ~15-20 s with 30 s credentials; run until 3 were issued, at most 120 s.
    while imds.issued() < 3 || start.elapsed() < Duration::from_secs(40) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "IMDS issued only {} credentials in 120 s",
            imds.issued()
        );
        let p = dir.join(&format!("state-{writes:04}")).unwrap();
        let data = Bytes::from(format!("checkpoint {writes}"));
        fs.write(&p, data.clone(), false)
            .await
            .unwrap_or_else(|e| panic!("write {writes} failed: {e}"));
        assert_eq!(fs.read(&p).await.unwrap(), data);
        writes += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(imds.issued() >= 3, "issued {}", imds.issued());
    let listed = fs.list_status(&dir).await.unwrap();
    assert_eq!(listed.len(), writes as usize);
    fs.delete(&dir, true).await.unwrap();
}
