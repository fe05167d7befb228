//! `seatunnel.yaml`: the `seatunnel.engine.checkpoint` block, with the Java engine's defaults
//! and validation. Errors name the YAML path and line; unknown keys in the checkpoint block
//! are warnings, like the Java engine's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path as StdPath;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::checkpoint::StorageSettings;

/// Default checkpoint interval (Java: 300000 ms).
pub const DEFAULT_INTERVAL_MS: u64 = 300_000;
/// Default checkpoint timeout (Java: 30000 ms).
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Smallest interval and timeout the Java engine accepts.
pub const MIN_INTERVAL_MS: u64 = 10;
/// Default `storage.type` (Java: `localfile`).
pub const DEFAULT_STORAGE_TYPE: &str = "localfile";
/// Default `storage.max-retained` (Java: 20).
pub const DEFAULT_MAX_RETAINED: usize = 20;

/// Why a `seatunnel.yaml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Invalid YAML or a value of the wrong type or range.
    #[error("{file}: {path}: {message}")]
    Invalid {
        /// The file (or `<embedded default>`).
        file: String,
        /// The YAML path, e.g. `seatunnel.engine.checkpoint.interval`.
        path: String,
        /// What is wrong, with the line and column.
        message: String,
    },
}

/// The engine's checkpoint configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointConfig {
    /// Time between checkpoints.
    #[serde(serialize_with = "as_millis")]
    pub interval: Duration,
    /// Time a checkpoint may take.
    #[serde(serialize_with = "as_millis")]
    pub timeout: Duration,
    /// The storage.
    pub storage: StorageConfig,
}

/// `seatunnel.engine.checkpoint.storage`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct StorageConfig {
    /// The storage plugin identifier (`hdfs`, `localfile`, or a registered plugin).
    #[serde(rename = "type")]
    pub storage_type: String,
    /// Checkpoints kept per job and pipeline.
    pub max_retained: usize,
    /// The flat plugin configuration; scalar values as text.
    #[serde(serialize_with = "redacted_map")]
    pub plugin_config: BTreeMap<String, String>,
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("storage_type", &self.storage_type)
            .field("max_retained", &self.max_retained)
            .field("plugin_config", &redact(&self.plugin_config))
            .finish()
    }
}

impl StorageConfig {
    /// The settings a storage factory takes, with the built-in file systems.
    pub fn settings(&self) -> StorageSettings {
        StorageSettings::new(self.plugin_config.clone(), self.max_retained)
    }
}

/// A loaded configuration and the warnings found while loading it.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The checkpoint configuration.
    pub checkpoint: CheckpointConfig,
    /// Unknown keys and ignored values, each naming its YAML path.
    pub warnings: Vec<String>,
}

fn redact(map: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    crate::conf::Configuration::from_pairs(map.clone()).redacted()
}

fn redacted_map<S: serde::Serializer>(
    map: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    redact(map).serialize(s)
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[derive(Deserialize, Default)]
struct RawRoot {
    seatunnel: Option<RawSeatunnel>,
}

#[derive(Deserialize, Default)]
struct RawSeatunnel {
    engine: Option<RawEngine>,
}

#[derive(Deserialize, Default)]
struct RawEngine {
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize, Default)]
struct RawCheckpoint {
    #[serde(default, deserialize_with = "millis")]
    interval: Option<u64>,
    #[serde(default, deserialize_with = "millis")]
    timeout: Option<u64>,
    storage: Option<RawStorage>,
}

#[derive(Deserialize, Default)]
struct RawStorage {
    #[serde(rename = "type")]
    storage_type: Option<String>,
    #[serde(rename = "max-retained", default, deserialize_with = "max_retained")]
    max_retained: Option<usize>,
    #[serde(rename = "plugin-config")]
    plugin_config: Option<BTreeMap<String, Option<Scalar>>>,
}

/// A plugin-config value: any YAML scalar, kept as text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s,
        }
    }
}

/// Accepts a whole number of at least `min` (or nothing); errors carry the value's position.
struct AtLeast {
    min: u64,
    key: &'static str,
    why: &'static str,
}

impl<'de> de::Visitor<'de> for AtLeast {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a whole number of at least {} for {}",
            self.min, self.key
        )
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_i64(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        if v >= self.min {
            Ok(Some(v))
        } else {
            Err(E::custom(format!(
                "{} must be at least {} (got {v}): {}",
                self.key, self.min, self.why
            )))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!(
                "{} must be at least {} (got {v}): {}",
                self.key, self.min, self.why
            ))),
        }
    }
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_option(AtLeast {
        min: MIN_INTERVAL_MS,
        key: "interval and timeout",
        why: "milliseconds, the Java engine's minimum is 10",
    })
}

fn max_retained<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = d.deserialize_option(AtLeast {
        min: 1,
        key: "max-retained",
        why: "it is how many checkpoints per pipeline are kept",
    })?;
    value
        .map(usize::try_from)
        .transpose()
        .map_err(de::Error::custom)
}

/// Loads a `seatunnel.yaml` file.
pub fn load_file(file: &StdPath) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.display().to_string(),
        source,
    })?;
    parse(&text, &file.display().to_string())
}

/// Parses `seatunnel.yaml` text; `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<LoadedConfig, ConfigError> {
    let mut warnings = Vec::new();
    let raw: RawRoot = if text.trim().is_empty() {
        RawRoot::default()
    } else {
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let mut unknown = Vec::new();
        // Option layers show up as `?` segments; drop them to get the YAML path.
        let mut record = |path: serde_ignored::Path<'_>| {
            let text = path.to_string();
            unknown.push(
                text.split('.')
                    .filter(|s| *s != "?")
                    .collect::<Vec<_>>()
                    .join("."),
            );
        };
        let ignoring = serde_ignored::Deserializer::new(deserializer, &mut record);
        let parsed: Option<RawRoot> = serde_path_to_error::deserialize(ignoring).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::Invalid {
                file: source.to_string(),
                path: if path == "." {
                    "(document)".to_string()
                } else {
                    path
                },
                message: e.into_inner().to_string(),
            }
        })?;
        for path in unknown {
            if path.starts_with("seatunnel.engine.checkpoint") {
                warnings.push(format!("{source}: unknown key {path} ignored"));
            }
        }
        parsed.unwrap_or_default()
    };
    let checkpoint = raw
        .seatunnel
        .and_then(|s| s.engine)
        .and_then(|e| e.checkpoint)
        .unwrap_or_default();
    let storage = checkpoint.storage.unwrap_or_default();
    let mut plugin_config = BTreeMap::new();
    for (key, value) in storage.plugin_config.unwrap_or_default() {
        match value {
            Some(v) => {
                plugin_config.insert(key, v.into_text());
            }
            None if key == "namespace" => {}
            None => warnings.push(format!(
                "{source}: seatunnel.engine.checkpoint.storage.plugin-config.{key} has no value; ignored"
            )),
        }
    }
    let storage_type = storage
        .storage_type
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| DEFAULT_STORAGE_TYPE.to_string());
    Ok(LoadedConfig {
        checkpoint: CheckpointConfig {
            interval: Duration::from_millis(checkpoint.interval.unwrap_or(DEFAULT_INTERVAL_MS)),
            timeout: Duration::from_millis(checkpoint.timeout.unwrap_or(DEFAULT_TIMEOUT_MS)),
            storage: StorageConfig {
                storage_type,
                max_retained: storage.max_retained.unwrap_or(DEFAULT_MAX_RETAINED),
                plugin_config,
            },
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_an_empty_file() {
        let loaded = parse("", "empty.yaml").unwrap();
        assert_eq!(loaded.checkpoint.interval, Duration::from_millis(300_000));
        assert_eq!(loaded.checkpoint.timeout, Duration::from_millis(30_000));
        assert_eq!(loaded.checkpoint.storage.storage_type, "localfile");
        assert_eq!(loaded.checkpoint.storage.max_retained, 20);
        let other_keys = parse("seatunnel:\n  engine:\n    backup-count: 1\n", "x.yaml").unwrap();
        assert!(other_keys.warnings.is_empty(), "{:?}", other_keys.warnings);
    }

    #[test]
    fn reads_values_and_stringifies_scalars() {
        let yaml = "seatunnel:\n  engine:\n    checkpoint:\n      interval: 6000\n      timeout: 7000\n      storage:\n        type: hdfs\n        max-retained: 3\n        plugin-config:\n          storage.type: s3\n          fs.s3a.path.style.access: true\n          fs.s3a.multipart.size: 104857600\n";
        let c = parse(yaml, "s.yaml").unwrap().checkpoint;
        assert_eq!(c.interval, Duration::from_millis(6000));
        assert_eq!(c.storage.max_retained, 3);
        assert_eq!(c.storage.plugin_config["fs.s3a.path.style.access"], "true");
        assert_eq!(
            c.storage.plugin_config["fs.s3a.multipart.size"],
            "104857600"
        );
    }

    #[test]
    fn errors_name_path_and_line() {
        let yaml = "seatunnel:\n  engine:\n    checkpoint:\n      interval: soon\n";
        let err = parse(yaml, "bad.yaml").unwrap_err().to_string();
        assert!(
            err.contains("bad.yaml") && err.contains("seatunnel.engine.checkpoint.interval"),
            "{err}"
        );
        assert!(err.contains("line 4"), "{err}");
        let zero =
            "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        max-retained: 0\n";
        let err = parse(zero, "z.yaml").unwrap_err().to_string();
        assert!(
            err.contains("max-retained") && err.contains("line 5"),
            "{err}"
        );
        let small = "seatunnel:\n  engine:\n    checkpoint:\n      timeout: 5\n";
        assert!(
            parse(small, "t.yaml")
                .unwrap_err()
                .to_string()
                .contains("minimum")
        );
        let syntax = "seatunnel:\n  engine: [\n";
        assert!(
            parse(syntax, "s.yaml")
                .unwrap_err()
                .to_string()
                .contains("line")
        );
    }

    #[test]
    fn unknown_checkpoint_keys_warn() {
        let yaml = "seatunnel:\n  engine:\n    checkpoint:\n      intervall: 5\n      storage:\n        typ: hdfs\n";
        let loaded = parse(yaml, "u.yaml").unwrap();
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("seatunnel.engine.checkpoint.intervall"));
    }

    #[test]
    fn debug_redacts_plugin_secrets() {
        let yaml = "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        plugin-config:\n          fs.s3a.secret.key: sup3rs3cret\n";
        let c = parse(yaml, "r.yaml").unwrap().checkpoint;
        assert!(!format!("{c:?}").contains("sup3rs3cret"));
        assert!(!serde_json::to_string(&c).unwrap().contains("sup3rs3cret"));
    }
}
