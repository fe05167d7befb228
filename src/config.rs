//! `seatunnel.yaml`: the `seatunnel.engine.checkpoint` block, with the Java engine's defaults
//! and validation. Errors name the YAML path and line; unknown keys in the checkpoint block
//! are warnings, like the Java engine's.

use std::collections::{BTreeMap, HashSet};
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
/// Largest interval and timeout: the Java engine keeps them in a `long`.
pub const MAX_INTERVAL_MS: u64 = i64::MAX as u64;
/// Largest `storage.max-retained`: the Java engine keeps it in an `int`.
pub const MAX_MAX_RETAINED: u64 = i32::MAX as u64;

/// Why a `seatunnel.yaml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read (missing, not a regular file, too large, not UTF-8).
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: crate::conf::ReadFileError,
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
    /// `schema-change-timeout`: time a schema-change checkpoint may take (Java: 30000 ms). The
    /// engine's coordinator uses it; the storage does not.
    #[serde(serialize_with = "as_millis")]
    pub schema_change_timeout: Duration,
    /// `retain-after-job-cancelled`: whether the engine keeps a cancelled job's checkpoints
    /// (Java: false, it deletes them). The engine applies it; ckpt's commands never delete a job
    /// by themselves.
    pub retain_after_job_cancelled: bool,
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
#[serde(expecting = "a mapping with the key seatunnel")]
struct RawRoot {
    seatunnel: Option<RawSeatunnel>,
}

#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping with the key engine")]
struct RawSeatunnel {
    engine: Option<RawEngine>,
}

#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping with the key checkpoint")]
struct RawEngine {
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping of checkpoint settings (interval, timeout, storage)")]
struct RawCheckpoint {
    #[serde(default, deserialize_with = "millis")]
    interval: Option<u64>,
    #[serde(default, deserialize_with = "millis")]
    timeout: Option<u64>,
    #[serde(rename = "schema-change-timeout", default, deserialize_with = "millis")]
    schema_change_timeout: Option<u64>,
    #[serde(rename = "retain-after-job-cancelled")]
    retain_after_job_cancelled: Option<bool>,
    storage: Option<RawStorage>,
}

#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping of storage settings (type, max-retained, plugin-config)")]
struct RawStorage {
    #[serde(rename = "type")]
    storage_type: Option<String>,
    #[serde(rename = "max-retained", default, deserialize_with = "max_retained")]
    max_retained: Option<usize>,
    #[serde(rename = "plugin-config")]
    plugin_config: Option<PluginMap>,
}

/// `plugin-config`: a flat mapping of keys to scalar values (or no value).
struct PluginMap(BTreeMap<String, Option<Scalar>>);

impl<'de> Deserialize<'de> for PluginMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> de::Visitor<'de> for MapVisitor {
            type Value = PluginMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of plugin-config keys to values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<PluginMap, E> {
                Ok(PluginMap(BTreeMap::new()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<PluginMap, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Option<Scalar>>()? {
                    entries.insert(key, value);
                }
                Ok(PluginMap(entries))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// A plugin-config value: any YAML scalar, kept as text.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl de::Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a single value (text, number or boolean), not a list or mapping")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// Accepts a whole number from `min` to `max` (or nothing); errors carry the value's position.
struct InRange {
    min: u64,
    max: u64,
    key: &'static str,
    why: &'static str,
}

impl InRange {
    fn out_of_range<E: de::Error>(&self, got: impl fmt::Display) -> E {
        E::custom(format!(
            "{} must be between {} and {} (got {got}): {}",
            self.key, self.min, self.max, self.why
        ))
    }
}

impl<'de> de::Visitor<'de> for InRange {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a whole number between {} and {} for {}",
            self.min, self.max, self.key
        )
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // `any`, not `i64`: numbers beyond i64 then reach visit_u128 and get the range message.
        d.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        if (self.min..=self.max).contains(&v) {
            Ok(Some(v))
        } else {
            Err(self.out_of_range(v))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self.out_of_range(v)),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self.out_of_range(v)),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self.out_of_range(v)),
        }
    }
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_option(InRange {
        min: MIN_INTERVAL_MS,
        max: MAX_INTERVAL_MS,
        key: "interval, timeout and schema-change-timeout",
        why: "milliseconds, the Java engine's minimum is 10",
    })
}

fn max_retained<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = d.deserialize_option(InRange {
        min: 1,
        max: MAX_MAX_RETAINED,
        key: "max-retained",
        why: "it is how many checkpoints per pipeline are kept",
    })?;
    value
        .map(usize::try_from)
        .transpose()
        .map_err(de::Error::custom)
}

/// Walks a whole YAML document and fails on the first mapping that has a key twice (YAML
/// forbids it; serde would keep the last value or report an internal field name).
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

/// Reads one mapping key and fails when `seen` has it already. The check runs inside the
/// key's own deserialization so that the error carries the duplicate's line, not the mapping's.
struct UniqueKey<'a>(&'a mut HashSet<String>);

impl UniqueKey<'_> {
    fn check<E: de::Error>(self, key: String) -> Result<(), E> {
        if self.0.contains(&key) {
            return Err(E::custom(format!(
                "duplicate key {key:?}: a key may appear only once in a mapping"
            )));
        }
        self.0.insert(key);
        Ok(())
    }
}

impl<'de> de::DeserializeSeed<'de> for UniqueKey<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for UniqueKey<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.check("~".to_string())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.check("~".to_string())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    // Complex keys (lists, mappings, tagged values) are only checked inside.
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        NoDuplicateKeys.visit_seq(seq).map(|_| ())
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        NoDuplicateKeys.visit_map(map).map(|_| ())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        NoDuplicateKeys.visit_enum(data).map(|_| ())
    }
}

impl<'de> de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self, D::Error> {
        NoDuplicateKeys::deserialize(d)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = HashSet::new();
        while map.next_key_seed(UniqueKey(&mut seen))?.is_some() {
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self, A::Error> {
        // A tagged value (`!tag value`): check the value.
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant::<NoDuplicateKeys>(variant)
    }
}

/// Turns a YAML error into [`ConfigError::Invalid`] with the YAML path once (serde_yaml_ng
/// starts its messages with its own copy of the path).
fn invalid(source: &str, e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> ConfigError {
    let path = e.path().to_string();
    let mut message = e.into_inner().to_string();
    if path != "." {
        // The YAML library's path may stop at an ancestor (e.g. for a bad map value).
        let ends = path
            .char_indices()
            .filter(|(_, c)| *c == '.' || *c == '[')
            .map(|(i, _)| i)
            .chain([path.len()]);
        let mut prefixes: Vec<&str> = ends.filter_map(|i| path.get(..i)).collect();
        prefixes.reverse();
        if let Some(rest) = prefixes
            .iter()
            .find_map(|p| message.strip_prefix(&format!("{p}: ")))
        {
            message = rest.to_string();
        }
    }
    ConfigError::Invalid {
        file: source.to_string(),
        path: if path == "." {
            "(document)".to_string()
        } else {
            path
        },
        message,
    }
}

/// Loads a `seatunnel.yaml` file: a regular file of at most
/// [`MAX_CONFIG_FILE_BYTES`](crate::conf::MAX_CONFIG_FILE_BYTES).
pub fn load_file(file: &StdPath) -> Result<LoadedConfig, ConfigError> {
    let text = crate::conf::read_config_file(file).map_err(|source| ConfigError::Read {
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
        serde_path_to_error::deserialize::<_, NoDuplicateKeys>(
            serde_yaml_ng::Deserializer::from_str(text),
        )
        .map_err(|e| invalid(source, e))?;
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
        let parsed: Option<RawRoot> =
            serde_path_to_error::deserialize(ignoring).map_err(|e| invalid(source, e))?;
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
    for (key, value) in storage.plugin_config.map(|m| m.0).unwrap_or_default() {
        match value {
            Some(Scalar(v)) => {
                plugin_config.insert(key, v);
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
            schema_change_timeout: Duration::from_millis(
                checkpoint
                    .schema_change_timeout
                    .unwrap_or(DEFAULT_TIMEOUT_MS),
            ),
            retain_after_job_cancelled: checkpoint.retain_after_job_cancelled.unwrap_or(false),
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

    /// Issue 9: keys of current SeaTunnel engines are known, not "unknown key ignored".
    #[test]
    fn newer_engine_checkpoint_keys_are_known() {
        let yaml = "seatunnel:\n  engine:\n    checkpoint:\n      schema-change-timeout: 45000\n      retain-after-job-cancelled: true\n";
        let loaded = parse(yaml, "new.yaml").unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(
            loaded.checkpoint.schema_change_timeout,
            Duration::from_millis(45_000)
        );
        assert!(loaded.checkpoint.retain_after_job_cancelled);
        let defaults = parse("seatunnel:\n  engine:\n    checkpoint: {}\n", "d.yaml").unwrap();
        assert_eq!(
            defaults.checkpoint.schema_change_timeout,
            Duration::from_millis(30_000)
        );
        assert!(!defaults.checkpoint.retain_after_job_cancelled);
        let bad = parse(
            "seatunnel:\n  engine:\n    checkpoint:\n      schema-change-timeout: 5\n",
            "b.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("schema-change-timeout"), "{bad}");
        let bad = parse(
            "seatunnel:\n  engine:\n    checkpoint:\n      retain-after-job-cancelled: maybe\n",
            "b.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("retain-after-job-cancelled"), "{bad}");
    }

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
    fn duplicate_keys_anywhere_are_errors_with_the_duplicates_line() {
        for (yaml, key, line) in [
            ("a: 1\na: 2\n", "\"a\"", "line 2"),
            ("seatunnel:\n  x:\n    - {k: 1, k: 2}\n", "\"k\"", "line 3"),
            (
                "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        plugin-config:\n          k: 1\n          'k': 2\n",
                "\"k\"",
                "line 7",
            ),
            ("1: a\n1: b\n", "\"1\"", "line 2"),
        ] {
            let err = parse(yaml, "d.yaml").unwrap_err().to_string();
            assert!(
                err.contains("duplicate key") && err.contains(key) && err.contains(line),
                "{yaml}: {err}"
            );
        }
        // The same key in different mappings is fine.
        parse("a:\n  k: 1\nb:\n  k: 1\n", "ok.yaml").unwrap();
    }

    #[test]
    fn numbers_out_of_range_say_the_range_and_types_use_plain_words() {
        let storage = |body: &str| {
            format!("seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        {body}\n")
        };
        for (yaml, want) in [
            (
                storage("max-retained: 99999999999999999999"),
                "between 1 and 2147483647",
            ),
            (storage("max-retained: -1"), "between 1 and 2147483647"),
            (
                storage("max-retained: 2147483648"),
                "between 1 and 2147483647",
            ),
            (
                "seatunnel:\n  engine:\n    checkpoint:\n      interval: 9223372036854775808\n"
                    .to_string(),
                "between 10 and 9223372036854775807",
            ),
            (
                storage("plugin-config: [a]"),
                "a mapping of plugin-config keys",
            ),
            (
                storage("plugin-config: {a: {b: c}}"),
                "a single value (text, number or boolean)",
            ),
            (
                "seatunnel: [1]\n".to_string(),
                "a mapping with the key engine",
            ),
        ] {
            let err = parse(&yaml, "n.yaml").unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
            for internal in ["Raw", "struct", "untagged", "Scalar", "u128", "i128"] {
                assert!(!err.contains(internal), "{internal} in {err}");
            }
        }
        let max = storage("max-retained: 2147483647");
        assert_eq!(
            parse(&max, "m.yaml")
                .unwrap()
                .checkpoint
                .storage
                .max_retained,
            2147483647
        );
        // Large numbers in plugin-config stay text for the backend to judge.
        let big = storage("plugin-config: {fs.s3a.multipart.size: 99999999999999999999}");
        assert_eq!(
            parse(&big, "b.yaml")
                .unwrap()
                .checkpoint
                .storage
                .plugin_config["fs.s3a.multipart.size"],
            "99999999999999999999"
        );
    }

    #[test]
    fn the_yaml_path_is_printed_once() {
        let yaml = "seatunnel:\n  engine:\n    checkpoint:\n      storage:\n        plugin-config:\n          a: [1]\n";
        let err = parse(yaml, "p.yaml").unwrap_err().to_string();
        assert_eq!(
            err.matches("seatunnel.engine.checkpoint.storage.plugin-config")
                .count(),
            1,
            "{err}"
        );
        assert!(
            err.starts_with("p.yaml: seatunnel.engine.checkpoint.storage.plugin-config.a: "),
            "{err}"
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
