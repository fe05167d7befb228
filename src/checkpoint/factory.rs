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
use crate::conf::{
    ConfError, Configuration, PluginConfig, check_plugin_keys, check_plugin_values,
    resolve_namespace,
};
use crate::fs::{FileSystemRegistry, Path};

/// Namespace of the legacy `localfile` storage when none is configured (as in Java on Linux).
pub const LOCALFILE_DEFAULT_NAMESPACE: &str = "/tmp/seatunnel/checkpoint/";

/// Plugin-config key: append the CRC32C integrity field (default true).
pub const CHECKSUM_KEY: &str = "ckpt.checksum";
/// Plugin-config key: age after which prune removes leftover temporary files (default 10m).
pub const TEMP_GRACE_KEY: &str = "ckpt.temp-grace";

/// Identifier of ckpt's own SeaTunnel plugin (`type: ckpt`): the general storage with the
/// plugin-config of SeaTunnel's `hdfs` plugin, served by this library through JNI.
pub const CKPT_IDENTIFIER: &str = "ckpt";

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

    /// Validates the settings of the `hdfs` (general) or `localfile` storage without
    /// contacting the storage: the storage options, the plugin-config mapping (site files
    /// included), the namespace, the values of ckpt's own keys and the plugin-config key
    /// names, and the file system's own configuration ([`FileSystemRegistry::check`]: the
    /// scheme, S3/OSS settings, HDFS HA keys, viewfs mount tables). Opening the storage goes
    /// through this function too, so a configuration that passes here fails later only for
    /// reasons only the file system can tell: an unreachable server, refused credentials, a
    /// failed Kerberos login.
    pub fn plan(&self, identifier: &str) -> CheckpointResult<FileStoragePlan> {
        match identifier {
            "hdfs" => HdfsStorageFactory.plan(self),
            CKPT_IDENTIFIER => CkptStorageFactory.plan(self),
            "localfile" => LocalFileStorageFactory.plan(self),
            other => {
                CheckpointStorageRegistry::with_builtins().factory(other)?;
                Err(ConfError::invalid(
                    "seatunnel.engine.checkpoint.storage.type",
                    other,
                    "only the file-based storage types hdfs, ckpt and localfile have these settings",
                )
                .into())
            }
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

/// A validated file-based storage configuration, built by [`StorageSettings::plan`]: what
/// `ckpt config check` shows and what [`FileStoragePlan::open`] builds the storage from.
#[derive(Debug, Clone)]
pub struct FileStoragePlan {
    /// The storage type: `hdfs` (the general storage) or `localfile`.
    pub identifier: &'static str,
    /// Retention, checksum and temporary-file grace.
    pub options: FileStorageOptions,
    /// Root of the file system (`file:///`, `hdfs://ns`, `s3a://bucket`...).
    pub root: Path,
    /// The namespace directory, fully qualified.
    pub namespace: Path,
    /// The Hadoop configuration the file system is built with (print it redacted).
    pub hadoop: Configuration,
    /// The plugin-config mapping of the general storage (`None` for `localfile`).
    pub plugin: Option<PluginConfig>,
    /// Misspelt or ignored keys and other things worth telling the user.
    pub warnings: Vec<String>,
}

impl FileStoragePlan {
    /// Builds the storage: creates the file system (the first step that may contact it).
    pub async fn open(&self, filesystems: &FileSystemRegistry) -> CheckpointResult<FileStorage> {
        let fs = filesystems.get(&self.root, &self.hadoop).await?;
        Ok(FileStorage::new(
            fs,
            self.namespace.clone(),
            self.options.clone(),
        ))
    }
}

/// Checks the values of ckpt's own keys that the file systems read when they are built, so that
/// a bad value fails validation rather than only the first command that reaches the backend.
#[cfg_attr(
    not(any(feature = "hdfs", feature = "s3", feature = "oss")),
    allow(unused_variables)
)]
fn check_ckpt_values(conf: &Configuration) -> Result<(), ConfError> {
    #[cfg(any(feature = "hdfs", feature = "s3", feature = "oss"))]
    crate::fs::retry::RetryPolicy::from_conf(conf)?;
    #[cfg(feature = "hdfs")]
    conf.get_size(crate::fs::hdfs::REPLAY_BUFFER_KEY, 0)?;
    #[cfg(feature = "hdfs")]
    crate::fs::hdfs::config::call_timeout(conf)?;
    Ok(())
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
        let plan = self.plan(settings)?;
        for warning in &plan.warnings {
            warn!("{warning}");
        }
        plan.open(&settings.filesystems).await
    }

    /// Validates the settings (see [`StorageSettings::plan`]).
    pub fn plan(&self, settings: &StorageSettings) -> CheckpointResult<FileStoragePlan> {
        let options = settings.file_storage_options()?;
        let plugin =
            PluginConfig::load(&settings.plugin_config, settings.hadoop_conf_dir.as_deref())?;
        check_ckpt_values(&plugin.hadoop)?;
        settings
            .filesystems
            .check(&plugin.default_fs, &plugin.hadoop)?;
        Ok(FileStoragePlan {
            identifier: "hdfs",
            options,
            root: plugin.default_fs.clone(),
            namespace: plugin.namespace.clone(),
            hadoop: plugin.hadoop.clone(),
            warnings: plugin.warnings.clone(),
            plugin: Some(plugin),
        })
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

/// ckpt's own SeaTunnel plugin (`type: ckpt`, the jar of `bindings/seatunnel`): the same
/// storage and plugin-config as [`HdfsStorageFactory`] under its own identifier, so the `ckpt`
/// command reads the `seatunnel.yaml` the engine runs with that plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct CkptStorageFactory;

impl CkptStorageFactory {
    /// Validates the settings (see [`StorageSettings::plan`]).
    pub fn plan(&self, settings: &StorageSettings) -> CheckpointResult<FileStoragePlan> {
        let mut plan = HdfsStorageFactory.plan(settings)?;
        plan.identifier = CKPT_IDENTIFIER;
        Ok(plan)
    }
}

#[async_trait]
impl CheckpointStorageFactory for CkptStorageFactory {
    fn identifier(&self) -> &str {
        CKPT_IDENTIFIER
    }

    async fn create(
        &self,
        settings: &StorageSettings,
    ) -> CheckpointResult<Arc<dyn CheckpointStorage>> {
        Ok(Arc::new(
            HdfsStorageFactory.create_file_storage(settings).await?,
        ))
    }
}

impl FileStorage {
    /// Opens the general storage (SeaTunnel's `hdfs` plugin, and ckpt's own `ckpt` plugin) from
    /// a flat plugin-config map, the `seatunnel.engine.checkpoint.storage.plugin-config` of
    /// `seatunnel.yaml`: `storage.type` (local, hdfs, s3, oss), `namespace`, `fs.defaultFS`,
    /// `seatunnel.hadoop.*`, the S3/OSS keys and ckpt's own `ckpt.*` keys, validated exactly as
    /// [`StorageSettings::plan`] does, with `HADOOP_CONF_DIR` from the environment. Warnings
    /// (misspelt or ignored keys) are logged.
    ///
    /// `max_retained` keeps at most that many checkpoints per job and pipeline; `None` leaves
    /// retention to the caller (SeaTunnel's checkpoint coordinator deletes superseded
    /// checkpoints itself). `Some(0)` is a configuration error.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use ckpt::checkpoint::{CheckpointStorage, FileStorage, PipelineState};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let plugin_config = BTreeMap::from([
    ///     ("storage.type".to_string(), "local".to_string()),
    ///     ("namespace".to_string(), format!("{}/", dir.path().display())),
    /// ]);
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// runtime.block_on(async {
    ///     let storage = FileStorage::from_plugin_config(plugin_config, None).await?;
    ///     let state = PipelineState {
    ///         job_id: "42".into(),
    ///         pipeline_id: 1,
    ///         checkpoint_id: 7,
    ///         states: vec![1, 2, 3].into(),
    ///     };
    ///     storage.store_checkpoint(&state).await?;
    ///     let latest = storage.get_latest_checkpoint_by_pipeline("42", 1).await?;
    ///     assert_eq!(latest.map(|s| s.checkpoint_id), Some(7));
    ///     Ok::<_, ckpt::checkpoint::CheckpointError>(())
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_plugin_config(
        plugin_config: BTreeMap<String, String>,
        max_retained: Option<usize>,
    ) -> CheckpointResult<FileStorage> {
        let settings = StorageSettings::new(plugin_config, max_retained.unwrap_or(1));
        let mut plan = HdfsStorageFactory.plan(&settings)?;
        plan.options.max_retained = max_retained;
        for warning in &plan.warnings {
            warn!("{warning}");
        }
        plan.open(&settings.filesystems).await
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
        let plan = self.plan(settings)?;
        for warning in &plan.warnings {
            warn!("{warning}");
        }
        plan.open(&settings.filesystems).await
    }

    /// Validates the settings (see [`StorageSettings::plan`]).
    pub fn plan(&self, settings: &StorageSettings) -> CheckpointResult<FileStoragePlan> {
        let options = settings.file_storage_options()?;
        let plugin = &settings.plugin_config;
        let mut warnings = check_plugin_keys(
            plugin.keys().map(String::as_str),
            "the localfile storage ignores it",
        )?;
        warnings.extend(check_plugin_values(
            plugin.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ));
        check_ckpt_values(&Configuration::from_pairs(plugin.clone()))?;
        let root = Path::parse("file:///")?;
        let namespace = resolve_namespace(plugin, LOCALFILE_DEFAULT_NAMESPACE, &root)?;
        Ok(FileStoragePlan {
            identifier: "localfile",
            options,
            root,
            namespace,
            hadoop: Configuration::new(),
            plugin: None,
            warnings,
        })
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

    /// The built-ins: `hdfs`, `localfile` and `ckpt` (the general storage under ckpt's plugin name).
    pub fn with_builtins() -> Self {
        let mut registry = Self::new();
        registry
            .factories
            .insert("hdfs".into(), Arc::new(HdfsStorageFactory));
        registry
            .factories
            .insert("localfile".into(), Arc::new(LocalFileStorageFactory));
        registry
            .factories
            .insert(CKPT_IDENTIFIER.into(), Arc::new(CkptStorageFactory));
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
