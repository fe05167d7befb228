//! The HDFS backend against a single-NameNode MiniDFSCluster (hdfs-testenv, started once for
//! this test binary): the FileSystem conformance suite, the checkpoint suite, bad input and the
//! seed page's HDFS sample.

#![cfg(feature = "hdfs")]

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ckpt::conf::{Configuration, PluginConfig};
use ckpt::fs::{FileSystemRegistry, FsError, Path};
use common::hdfs_env::{HdfsEnv, shared_blocking};

static CLUSTER: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();

fn cluster() -> Option<&'static HdfsEnv> {
    shared_blocking(&CLUSTER, "single")
}

async fn fs_fixture() -> Option<common::conformance::FsFixture> {
    Some(cluster()?.fs_fixture().await)
}

async fn checkpoint_fixture() -> Option<common::checkpoint_suite::CheckpointFixture> {
    Some(cluster()?.checkpoint_fixture().await)
}

fs_conformance_suite!(fs_fixture().await);

mod checkpoint {
    use super::*;
    checkpoint_suite!(checkpoint_fixture().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_namenode_fails_within_the_retry_budget() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = Path::parse(&format!("hdfs://127.0.0.1:{port}")).unwrap();
    let conf = Configuration::from_pairs([
        ("ckpt.retry.max-elapsed", "3s"),
        ("ckpt.retry.initial-backoff", "100ms"),
        ("ckpt.retry.max-backoff", "500ms"),
    ]);
    let fs = FileSystemRegistry::with_builtins()
        .get(&root, &conf)
        .await
        .expect("the client is built without contacting the NameNode");
    let start = Instant::now();
    let err = fs
        .write(
            &root.join("x/y").unwrap(),
            Bytes::from_static(b"data"),
            false,
        )
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}: {err}");
    match &err {
        FsError::RetriesExhausted { attempts, last, .. } => {
            assert!(*attempts > 1, "{err}");
            assert!(last.is_retryable(), "{err}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("attempts") && text.contains(&format!("127.0.0.1:{port}")),
        "{text}"
    );
    eprintln!("unreachable NameNode: {text} (after {took:?})");
}

#[tokio::test]
async fn nameservice_without_ha_keys_names_the_missing_keys() {
    let root = Path::parse("hdfs://usdp-bing").unwrap();
    let err = FileSystemRegistry::with_builtins()
        .get(
            &root,
            &Configuration::from_pairs([("dfs.nameservices", "usdp-bing")]),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, FsError::Config { .. }), "{err:?}");
    for want in [
        "dfs.ha.namenodes.usdp-bing",
        "dfs.namenode.rpc-address.usdp-bing.",
        "seatunnel.hadoop.",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    let err = FileSystemRegistry::with_builtins()
        .get(
            &root,
            &Configuration::from_pairs([
                ("dfs.ha.namenodes.usdp-bing", "nn1,nn2"),
                ("dfs.namenode.rpc-address.usdp-bing.nn1", "127.0.0.1:1"),
            ]),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("dfs.namenode.rpc-address.usdp-bing.nn2") && !text.contains(".nn1 "),
        "{text}"
    );
}

#[test]
fn missing_default_fs_is_named() {
    let plugin: BTreeMap<String, String> =
        [("storage.type".to_string(), "hdfs".to_string())].into();
    let err = PluginConfig::from_map(&plugin, &Configuration::new()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("fs.defaultFS"), "{text}");
    assert!(text.contains("HADOOP_CONF_DIR"), "{text}");
}

#[cfg(not(feature = "kerberos"))]
#[tokio::test]
async fn kerberos_without_the_feature_is_a_config_error() {
    let err = FileSystemRegistry::with_builtins()
        .get(
            &Path::parse("hdfs://127.0.0.1:1").unwrap(),
            &Configuration::from_pairs([
                ("hadoop.security.authentication", "kerberos"),
                ("ckpt.kerberos.principal", "client@EXAMPLE.COM"),
                ("ckpt.kerberos.keytab", "/nowhere/client.keytab"),
            ]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FsError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("--features kerberos"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_denied_under_readonly() {
    let Some(env) = cluster() else { return };
    let fs = env.file_system(&[]).await;
    let kept = env.fresh_dir("kept").join("file").unwrap();
    fs.write(&kept, Bytes::from_static(b"stored"), false)
        .await
        .unwrap();
    let denied = Path::parse(&format!("{}/readonly/x", env.info.default_fs)).unwrap();
    let start = Instant::now();
    let err = fs
        .write(&denied, Bytes::from_static(b"nope"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FsError::PermissionDenied { .. }),
        "got {err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "not retried: {:?}",
        start.elapsed()
    );
    assert!(err.to_string().contains("/readonly/x"), "{err}");
    let err = fs.mkdirs(&denied).await.unwrap_err();
    assert!(
        matches!(err, FsError::PermissionDenied { .. }),
        "got {err:?}"
    );
    assert!(!fs.exists(&denied).await.unwrap());
    assert_eq!(fs.read(&kept).await.unwrap(), Bytes::from_static(b"stored"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_page_hdfs_sample_works_against_the_cluster() {
    let Some(env) = cluster() else { return };
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed/hdfs.yaml"),
    )
    .unwrap();
    let namenode = env.nn_address(0);
    // The sample as written (default namespace /seatunnel/checkpoint/), with its host replaced
    // by the cluster's NameNode and its Kerberos lines (optional, "if you used kerberos") left
    // out for this cluster without Kerberos; tests/hdfs_kerberos.rs uses them.
    let yaml: String = text
        .replace("localhost:9000", &namenode)
        .lines()
        .filter(|l| !l.contains("kerberos"))
        .collect::<Vec<_>>()
        .join("\n");
    let pc = common::seed_sample_roundtrip(&yaml, "42").await;
    assert_eq!(pc.default_fs.to_string(), format!("hdfs://{namenode}/"));
    assert_eq!(
        pc.namespace.path(),
        "/seatunnel/checkpoint",
        "the Java default namespace"
    );
}
