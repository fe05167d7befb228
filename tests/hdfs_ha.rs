//! The HDFS backend against an HA nameservice (hdfs-testenv `ha`: two NameNodes, started once
//! for this test binary): the FileSystem conformance suite, the checkpoint suite and the seed
//! page's HA sample. Failover under load is in `hdfs_ha_load.rs` (its own cluster).

#![cfg(feature = "hdfs")]

mod common;

use std::sync::OnceLock;

use common::hdfs_env::{HdfsEnv, shared_blocking};

static CLUSTER: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();

fn cluster() -> Option<&'static HdfsEnv> {
    shared_blocking(&CLUSTER, "ha")
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
async fn the_cluster_is_really_ha() {
    let Some(env) = cluster() else { return };
    assert!(env.info.nameservice.is_some(), "{:?}", env.info);
    assert!(
        !env.info.default_fs.contains(':') || env.info.default_fs.matches(':').count() == 1,
        "defaultFS names a nameservice: {}",
        env.info.default_fs
    );
    let status = env.must("status");
    assert!(
        status.contains("nn0=") && status.contains("nn1="),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_page_ha_sample_works_against_the_cluster() {
    let Some(env) = cluster() else { return };
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed/hdfs-ha.yaml"),
    )
    .unwrap();
    // The sample as written (nameservice `usdp-bing`, its keys, even the stray quote at the end
    // of the proxy provider, the default namespace /seatunnel/checkpoint/), with only the
    // NameNode host names replaced by the cluster's addresses.
    let yaml: String = text
        .replace("usdp-bing-nn1:8020", &env.nn_address(0))
        .replace("usdp-bing-nn2:8020", &env.nn_address(1));
    assert_eq!(yaml.lines().count(), text.lines().count());
    let pc = common::seed_sample_roundtrip(&yaml, "77").await;
    assert_eq!(pc.default_fs.to_string(), "hdfs://usdp-bing/");
    assert_eq!(
        pc.namespace.path(),
        "/seatunnel/checkpoint",
        "the Java default namespace"
    );
}
