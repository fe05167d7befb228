//! Shared test support: the backend-independent suites and server helpers.

#![allow(dead_code)]

pub mod checkpoint_suite;
pub mod compat_peer;
pub mod conformance;
pub mod crash;
pub mod fault_proxy;
pub mod golden;
pub mod hdfs_env;
pub mod hook_fs;
pub mod java_peer;
#[cfg(feature = "oss")]
pub mod oss_env;
#[cfg(feature = "s3")]
pub mod s3_env;
pub mod wire_suite;

/// Called when a test's server or tool is missing: fails the test with `what` (so CI can never
/// skip silently), unless `CKPT_ALLOW_SKIP=1`, in which case it prints why and skips.
pub fn missing<T>(what: &str) -> Option<T> {
    if std::env::var("CKPT_ALLOW_SKIP").as_deref() == Ok("1") {
        eprintln!("skipped: {what}");
        None
    } else {
        panic!(
            "{what} (run the suite with ./scripts/test-all.sh, or set CKPT_ALLOW_SKIP=1 to skip)"
        );
    }
}

/// Runs a seed-page YAML sample the way a user's engine would: parses it, builds the storage
/// through the `hdfs` storage factory, writes and reads a file under the namespace, stores and
/// reads back a checkpoint of `job`. Returns the mapped plugin-config for further assertions.
pub async fn seed_sample_roundtrip(yaml: &str, job: &str) -> ckpt::conf::PluginConfig {
    use ckpt::checkpoint::{CheckpointStorage, HdfsStorageFactory};
    let loaded = ckpt::config::parse(yaml, "seed sample").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let storage_config = &loaded.checkpoint.storage;
    assert_eq!(storage_config.storage_type, "hdfs");
    let plugin =
        ckpt::conf::PluginConfig::from_map(&storage_config.plugin_config, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
    let storage = HdfsStorageFactory
        .create_file_storage(&storage_config.settings())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let fs = storage.file_system();
    let file = plugin
        .namespace
        .join(&format!("sample-{job}/file"))
        .unwrap();
    fs.write(
        &file,
        bytes::Bytes::from_static(b"from the seed sample"),
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        fs.read(&file).await.unwrap(),
        bytes::Bytes::from_static(b"from the seed sample")
    );
    let state = checkpoint_suite::state(job, 1, 3);
    storage.store_checkpoint(&state).await.unwrap();
    assert_eq!(storage.get_checkpoint(job, 1, 3).await.unwrap(), state);
    plugin
}
