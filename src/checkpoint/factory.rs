//! Checkpoint storage factories and their registry (SeaTunnel's `CheckpointStorageFactory`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tracing::warn;

use super::{
    CheckpointError, CheckpointResult, CheckpointStorage, FileStorage, FileStorageOptions,
};
use crate::conf::{ConfError, Configuration, PluginConfig};
use crate::fs::{FileSystemRegistry, Path};

/// Namespace of the legacy `localfile` storage when none is configured (as in Java on Linux).
pub const LOCALFILE_DEFAULT_NAMESPACE: &str = "/tmp/seatunnel/checkpoint/";

/// Plugin-config key: append the CRC32C integrity field (default true).
pub const CHECKSUM_KEY: &str = "ckpt.checksum";
/// Plugin-config key: age after which prune removes leftover temporary files (default 10m).
pub const TEMP_GRACE_KEY: &str = "ckpt.temp-grace";

/// Everything a factory needs to build a storage.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// `seatunnel.engine.checkpoint.storage.plugin-config`, flat.
    pub plugin_config: BTreeMap<String, String>,
    /// `storage.max-retained`: checkpoints kept per job and pipeline (at least 1).
    pub max_retained: usize,
    /// The file systems available.
    pub filesystems: FileSystemRegistry,
    /// `HADOOP_CONF_DIR`, when set.
    pub hadoop_conf_dir: Option<PathBuf>,
}

impl StorageSettings {
    /// Settings with the built-in file systems and `HADOOP_CONF_DIR` from the environment.
    pub fn new(plugin_config: BTreeMap<String, String>, max_retained: usize) -> Self {
        Self {
            plugin_config,
            max_retained,
            filesystems: FileSystemRegistry::with_builtins(),
            hadoop_conf_dir: std::env::var_os("HADOOP_CONF_DIR").map(PathBuf::from),
        }
    }

    fn file_storage_options(&self) -> Result<FileStorageOptions, ConfError> {
        if self.max_retained == 0 {
            return Err(ConfError::invalid(
                "seatunnel.engine.checkpoint.storage.max-retained",
                "0",
                "keep at least 1 checkpoint",
            ));
        }
        let conf = Configuration::from_pairs(self.plugin_config.clone());
        let defaults = FileStorageOptions::default();
        Ok(FileStorageOptions {
            max_retained: Some(self.max_retained),
            checksum: conf.get_bool(CHECKSUM_KEY, defaults.checksum)?,
            temp_grace: conf.get_duration(
                TEMP_GRACE_KEY,
                Duration::from_millis(1),
                defaults.temp_grace,
            )?,
        })
    }
}

/// Builds a checkpoint storage; registered by its identifier (`storage.type` in seatunnel.yaml).
#[async_trait]
pub trait CheckpointStorageFactory: Send + Sync {
    /// The identifier, matched exactly (`hdfs`, `localfile`, or a plugin's own).
    fn identifier(&self) -> &str;

    /// Creates the storage.
    async fn create(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<Arc<dyn CheckpointStorage>>;
}

/// The general storage over any file system chosen by plugin-config `storage.type`
/// (local, hdfs, s3, oss): SeaTunnel's `hdfs` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct HdfsStorageFactory;

impl HdfsStorageFactory {
    /// Builds the concrete [`FileStorage`] (the CLI uses its extra operations).
    pub async fn create_file_storage(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<FileStorage> {
        let options = settings.file_storage_options()?;
        let plugin =
            PluginConfig::load(&settings.plugin_config, settings.hadoop_conf_dir.as_deref())?;
        for warning in &plugin.warnings {
            warn!("{warning}");
        }
        let fs = settings
            .filesystems
            .get(&plugin.default_fs, &plugin.hadoop)
            .await?;
        Ok(FileStorage::new(fs, plugin.namespace, options))
    }
}

#[async_trait]
impl CheckpointStorageFactory for HdfsStorageFactory {
    fn identifier(&self) -> &str {
        "hdfs"
    }

    async fn create(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<Arc<dyn CheckpointStorage>> {
        Ok(Arc::new(self.create_file_storage(settings).await?))
    }
}

/// The legacy native local storage (SeaTunnel's `localfile`): same layout, on local disk under
/// `namespace` (default `/tmp/seatunnel/checkpoint/`). Unlike Java's, its writes are atomic.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFileStorageFactory;

impl LocalFileStorageFactory {
    /// Builds the concrete [`FileStorage`].
    pub async fn create_file_storage(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<FileStorage> {
        let options = settings.file_storage_options()?;
        let text = settings
            .plugin_config
            .get("namespace")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .unwrap_or(LOCALFILE_DEFAULT_NAMESPACE);
        let root = Path::parse("file:///")?;
        let namespace = Path::parse(text)
            .map_err(|e| ConfError::invalid("namespace", text, e.to_string()))?
            .qualify(&root);
        if namespace.scheme() != Some("file") {
            return Err(ConfError::invalid(
                "namespace",
                text,
                "the localfile storage takes a local directory",
            )
            .into());
        }
        let fs = settings
            .filesystems
            .get(&root, &Configuration::new())
            .await?;
        Ok(FileStorage::new(fs, namespace, options))
    }
}

#[async_trait]
impl CheckpointStorageFactory for LocalFileStorageFactory {
    fn identifier(&self) -> &str {
        "localfile"
    }

    async fn create(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<Arc<dyn CheckpointStorage>> {
        Ok(Arc::new(self.create_file_storage(settings).await?))
    }
}

/// Factories by identifier.
#[derive(Clone, Default)]
pub struct CheckpointStorageRegistry {
    factories: BTreeMap<String, Arc<dyn CheckpointStorageFactory>>,
}

impl std::fmt::Debug for CheckpointStorageRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStorageRegistry")
            .field("identifiers", &self.identifiers())
            .finish()
    }
}

impl CheckpointStorageRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-ins: `hdfs` and `localfile`.
    pub fn with_builtins() -> Self {
        let mut registry = Self::new();
        registry
            .factories
            .insert("hdfs".into(), Arc::new(HdfsStorageFactory));
        registry
            .factories
            .insert("localfile".into(), Arc::new(LocalFileStorageFactory));
        registry
    }

    /// Registers a plugin; a second factory for an identifier is an error.
    pub fn register(&mut self, factory: Arc<dyn CheckpointStorageFactory>) -> CheckpointResult<()> {
        let id = factory.identifier().to_string();
        if self.factories.contains_key(&id) {
            return Err(CheckpointError::DuplicateStorage { identifier: id });
        }
        self.factories.insert(id, factory);
        Ok(())
    }

    /// The registered identifiers, sorted.
    pub fn identifiers(&self) -> Vec<String> {
        self.factories.keys().cloned().collect()
    }

    /// The factory for an identifier (exact match).
    pub fn factory(&self, identifier: &str) -> CheckpointResult<Arc<dyn CheckpointStorageFactory>> {
        self.factories
            .get(identifier)
            .cloned()
            .ok_or_else(|| CheckpointError::UnknownStorage {
                identifier: identifier.to_string(),
                known: self.identifiers().join(", "),
            })
    }

    /// Creates the storage registered under `identifier`.
    pub async fn create(
        &self,
        identifier: &str,
        settings: &StorageSettings,
    ) -> CheckpointResult<Arc<dyn CheckpointStorage>> {
        self.factory(identifier)?.create(settings).await
    }
}
