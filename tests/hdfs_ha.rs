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

/// `viewfs://` over the HA nameservice, as a federated cluster's core-site.xml sets it up:
/// `/ckpt` and `/seatunnel` are links to the same directories of the nameservice.
mod viewfs {
    use super::*;
    use bytes::Bytes;
    use ckpt::conf::Configuration;
    use ckpt::fs::{FileSystem, FileSystemRegistry, FsError, Path};
    use common::conformance::unique;
    use std::sync::Arc;

    const CLUSTER: &str = "ckpt-view";

    fn view_conf(env: &HdfsEnv) -> Configuration {
        let hdfs = env.info.default_fs.trim_end_matches('/').to_string();
        let mut conf = env.site_conf();
        conf.set(
            format!("fs.viewfs.mounttable.{CLUSTER}.link./ckpt"),
            format!("{hdfs}/ckpt"),
        );
        conf.set(
            format!("fs.viewfs.mounttable.{CLUSTER}.link./seatunnel"),
            format!("{hdfs}/seatunnel"),
        );
        conf
    }

    async fn view(env: &HdfsEnv) -> Arc<dyn FileSystem> {
        FileSystemRegistry::with_builtins()
            .get(
                &Path::parse(&format!("viewfs://{CLUSTER}/")).unwrap(),
                &view_conf(env),
            )
            .await
            .unwrap_or_else(|e| panic!("viewfs over {}: {e}", env.info.default_fs))
    }

    fn at(p: &str) -> Path {
        Path::parse(&format!("viewfs://{CLUSTER}{p}")).unwrap()
    }

    async fn fs_fixture() -> Option<common::conformance::FsFixture> {
        let env = cluster()?;
        Some(common::conformance::FsFixture {
            fs: view(env).await,
            base: at(&format!("/ckpt/{}", unique("viewfs-conformance"))),
            large_listing: 1100,
            guard: None,
        })
    }

    async fn checkpoint_fixture() -> Option<common::checkpoint_suite::CheckpointFixture> {
        let env = cluster()?;
        Some(common::checkpoint_suite::CheckpointFixture {
            fs: view(env).await,
            namespace: at(&format!("/ckpt/{}", unique("viewfs-checkpoint"))),
            guard: None,
        })
    }

    fs_conformance_suite!(fs_fixture().await);

    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture().await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn view_and_nameservice_see_the_same_files() {
        let Some(env) = cluster() else { return };
        let fs = view(env).await;
        let dir = unique("same");
        fs.write(
            &at(&format!("/ckpt/{dir}/f")),
            Bytes::from_static(b"v"),
            false,
        )
        .await
        .unwrap();
        let direct = env.file_system(&[]).await;
        let on_hdfs = Path::parse(&format!(
            "{}/ckpt/{dir}/f",
            env.info.default_fs.trim_end_matches('/')
        ))
        .unwrap();
        assert_eq!(
            direct.read(&on_hdfs).await.unwrap(),
            Bytes::from_static(b"v")
        );
        let src = at(&format!("/ckpt/{dir}/f"));
        match fs.rename(&src, &at(&format!("/seatunnel/{dir}-f"))).await {
            Err(FsError::Unsupported { operation, .. }) => {
                assert!(operation.contains("across mount points"), "{operation}")
            }
            other => panic!("{other:?}"),
        }
        assert!(direct.exists(&on_hdfs).await.unwrap());
        let root: Vec<String> = fs
            .list_status(&at("/"))
            .await
            .unwrap()
            .iter()
            .map(|s| s.path.name().to_string())
            .collect();
        assert_eq!(root, ["ckpt", "seatunnel"]);
    }

    /// The seed page's HA sample with `fs.defaultFS` pointed at a viewfs cluster whose mount
    /// table is given with the same `seatunnel.hadoop.` prefix.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn seed_ha_sample_through_a_viewfs_default_fs() {
        let Some(env) = cluster() else { return };
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/seed/hdfs-ha.yaml"),
        )
        .unwrap();
        let mut yaml: String = text
            .replace("usdp-bing-nn1:8020", &env.nn_address(0))
            .replace("usdp-bing-nn2:8020", &env.nn_address(1))
            .replace(
                "fs.defaultFS: hdfs://usdp-bing",
                &format!("fs.defaultFS: viewfs://{CLUSTER}"),
            );
        yaml.push_str(&format!(
            "          seatunnel.hadoop.fs.viewfs.mounttable.{CLUSTER}.link./seatunnel: hdfs://usdp-bing/seatunnel\n"
        ));
        let pc = common::seed_sample_roundtrip(&yaml, "78").await;
        assert_eq!(pc.default_fs.to_string(), format!("viewfs://{CLUSTER}/"));
        assert_eq!(pc.namespace.path(), "/seatunnel/checkpoint");
    }
}
