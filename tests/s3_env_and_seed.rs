//! Tests that need process environment variables (set once, before any thread runs):
//! the EnvironmentVariable provider, and the seed page's two S3 YAML samples as written
//! (pointed at s3s-fs, endpoint aside; the instance-profile sample finds the test IMDS
//! through `AWS_EC2_METADATA_SERVICE_ENDPOINT`, as it would find EC2's).
//! One `#[test]` only, so no other test runs while the environment is changed.

#![cfg(feature = "s3")]

mod common;

use std::path::PathBuf;

use bytes::Bytes;
use ckpt::checkpoint::{CheckpointStorageRegistry, PipelineState};
use ckpt::fs::Path;
use common::conformance::unique;
use common::s3_env::{self, BUCKET, Imds, S3Server};

fn seed_yaml(name: &str, server: &S3Server, namespace: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed")
        .join(name);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let line = line
            .replace("your-bucket", BUCKET)
            .replace("your-access-key", &server.access_key)
            .replace("your-secret-key", &server.secret_key)
            .replace("your-endpoint", &server.endpoint);
        out.push_str(&line);
        out.push('\n');
        if line.trim_start().starts_with("s3.bucket:") {
            if !text.contains("fs.s3a.endpoint") {
                out.push_str(&format!("{indent}fs.s3a.endpoint: {}\n", server.endpoint));
            }
            out.push_str(&format!("{indent}namespace: {namespace}\n"));
        }
    }
    out
}

async fn store_through_yaml(name: &str, server: &S3Server) {
    let namespace = format!("/{}/seatunnel/checkpoint/", unique("seed"));
    let yaml = seed_yaml(name, server, &namespace);
    let loaded = ckpt::config::parse(&yaml, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let storage_conf = &loaded.checkpoint.storage;
    let storage = CheckpointStorageRegistry::with_builtins()
        .create(&storage_conf.storage_type, &storage_conf.settings())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let state = PipelineState {
        job_id: "4242".into(),
        pipeline_id: 1,
        checkpoint_id: 3,
        states: Bytes::from_static(b"seed sample state"),
    };
    storage
        .store_checkpoint(&state)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let latest = storage.get_latest_checkpoint("4242").await.unwrap();
    assert_eq!(latest.len(), 1, "{name}");
    assert_eq!(latest[0].states, state.states, "{name}");
    storage.delete_job("4242").await.unwrap();
}

async fn environment_provider(server: &S3Server) {
    let mut conf = server.base_conf();
    conf.set(
        "fs.s3a.aws.credentials.provider",
        "com.amazonaws.auth.EnvironmentVariableCredentialsProvider",
    );
    let fs = server.fs_with(&conf).await;
    let p = Path::parse(&format!("s3a://{BUCKET}/{}/env", unique("env"))).unwrap();
    fs.write(&p, Bytes::from_static(b"from env"), false)
        .await
        .unwrap();
    assert_eq!(fs.read(&p).await.unwrap(), Bytes::from_static(b"from env"));
    fs.delete(&p, false).await.unwrap();
    // The SDK v2 spelling too.
    conf.set(
        "fs.s3a.aws.credentials.provider",
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
    );
    let fs = server.fs_with(&conf).await;
    assert!(!fs.exists(&p).await.unwrap());
}

/// The static-keys sample goes to MinIO (verifies SigV4, takes the YAML as written); the
/// instance-profile sample to LocalStack (MinIO refuses non-MinIO session tokens, and s3s-fs
/// needs `fs.s3a.ckpt.file.probe: list`, which the sample does not have).
#[test]
fn environment_credentials_and_seed_samples() {
    let Some(server) = s3_env::s3s() else { return };
    let Some(minio) = s3_env::minio() else { return };
    let Some(localstack) = s3_env::localstack() else {
        return;
    };
    let Some(imds) = Imds::start(&localstack.access_key, &localstack.secret_key, 60) else {
        return;
    };
    // SAFETY: this binary has a single test and no other thread is running yet.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", &server.access_key);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", &server.secret_key);
        std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.endpoint);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        environment_provider(&server).await;
        minio.ensure_bucket(BUCKET).await;
        store_through_yaml("s3-simple.yaml", &minio).await;
        localstack.ensure_bucket(BUCKET).await;
        store_through_yaml("s3-instance-profile.yaml", &localstack).await;
    });
    assert!(
        imds.issued() >= 1,
        "the instance-profile sample did not use IMDS"
    );
}
