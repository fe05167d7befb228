//! User-extensible registries: checkpoint storage plugins by identifier, file systems by scheme.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use ckpt::checkpoint::{
    CheckpointError, CheckpointResult, CheckpointStorage, CheckpointStorageFactory,
    CheckpointStorageRegistry, FileStorage, FileStorageOptions, PipelineState, StorageSettings,
};
use ckpt::conf::Configuration;
use ckpt::fs::local::LocalFileSystem;
use ckpt::fs::{FileSystem, FileSystemFactory, FileSystemRegistry, FsError, FsResult, Path};

/// A plugin that keeps checkpoints under a directory named in its plugin-config.
struct DirPlugin;

#[async_trait]
impl CheckpointStorageFactory for DirPlugin {
    fn identifier(&self) -> &str {
        "dir-plugin"
    }

    async fn create(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<Arc<dyn CheckpointStorage>> {
        let dir = settings
            .plugin_config
            .get("dir")
            .cloned()
            .unwrap_or_default();
        let namespace = Path::parse(&format!("file://{dir}"))?;
        Ok(Arc::new(FileStorage::new(
            Arc::new(LocalFileSystem),
            namespace,
            FileStorageOptions::default(),
        )))
    }
}

#[tokio::test]
async fn storage_plugins_register_and_duplicates_or_unknowns_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = CheckpointStorageRegistry::with_builtins();
    registry.register(Arc::new(DirPlugin)).unwrap();
    let err = registry.register(Arc::new(DirPlugin)).unwrap_err();
    assert!(
        matches!(err, CheckpointError::DuplicateStorage { ref identifier } if identifier == "dir-plugin")
    );
    assert_eq!(
        registry.identifiers(),
        vec!["ckpt", "dir-plugin", "hdfs", "localfile"]
    );

    let settings = StorageSettings::new(
        [("dir".to_string(), dir.path().display().to_string())]
            .into_iter()
            .collect(),
        3,
    );
    let storage = registry.create("dir-plugin", &settings).await.unwrap();
    let state = PipelineState {
        job_id: "1".into(),
        pipeline_id: 1,
        checkpoint_id: 1,
        states: Bytes::from_static(b"s"),
    };
    storage.store_checkpoint(&state).await.unwrap();
    assert_eq!(
        storage
            .get_latest_checkpoint_by_pipeline("1", 1)
            .await
            .unwrap(),
        Some(state)
    );

    let err = registry
        .create("HDFS", &settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"HDFS\"") && err.contains("dir-plugin, hdfs, localfile"),
        "{err}"
    );
}

/// A file system for a custom scheme that stores on local disk under a root directory.
struct Rooted;

#[async_trait]
impl FileSystemFactory for Rooted {
    fn schemes(&self) -> Vec<String> {
        vec!["file".to_string()]
    }

    async fn create(&self, _root: &Path, _conf: &Configuration) -> FsResult<Arc<dyn FileSystem>> {
        Ok(Arc::new(LocalFileSystem))
    }
}

#[tokio::test]
async fn file_system_schemes_are_extensible_and_unknown_schemes_are_named() {
    let mut registry = FileSystemRegistry::with_builtins();
    let err = registry.register(Arc::new(Rooted)).unwrap_err();
    assert!(matches!(err, FsError::Config { .. }), "{err}");
    registry.replace(Arc::new(Rooted));
    let err = registry
        .get(
            &Path::parse("gopher://host/x").unwrap(),
            &Configuration::new(),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("gopher") && err.contains("file"), "{err}");
    let mut empty = FileSystemRegistry::new();
    empty.register(Arc::new(Rooted)).unwrap();
    assert_eq!(empty.schemes(), vec!["file"]);
}
