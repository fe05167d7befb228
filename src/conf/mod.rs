//! Hadoop-style configuration: a string map with typed getters, site-file loading, the
//! SeaTunnel plugin-config mapping and redaction of secrets.

mod file;
mod keys;
mod lint;
mod plugin;
mod redact;
mod seatunnel_plugin;
mod site;
mod value;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use file::{MAX_CONFIG_FILE_BYTES, ReadFileError, read_config_file};
pub use keys::{CKPT_KEYS, check_plugin_keys, closest_key};
pub use lint::{
    IMPLEMENTED_PROXY_PROVIDERS, PROXY_PROVIDER_PREFIX, QuoteEnd, StrayQuote, check_plugin_values,
    check_proxy_provider, check_value, stray_quote, without_stray_quote,
};
pub use plugin::{
    DEFAULT_NAMESPACE, HADOOP_KEY_PREFIX, KERBEROS_KEYTAB_KEY, KERBEROS_PRINCIPAL_KEY,
    KerberosLogin, PluginConfig, StorageType, resolve_namespace,
};
pub use redact::{
    HADOOP_SENSITIVE_KEY_PATTERNS, REDACTED, is_secret_key, redact_authority, redact_log_text,
    redact_url, redact_urls_in, redact_value,
};
pub use seatunnel_plugin::{
    KeyComparison, SEATUNNEL_PLUGIN_VERSION, SeatunnelReading, compare_keys, seatunnel_reading,
};
pub use site::{load_site_file, load_site_files, parse_site_xml};
pub use value::{parse_bool, parse_duration, parse_size};

/// A configuration error that names the key (and the file, when one is involved).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// A required key is missing.
    #[error("configuration key {key} is required: {hint}")]
    Missing {
        /// The key.
        key: String,
        /// What to set it to.
        hint: String,
    },
    /// A key has a value that cannot be used.
    #[error("configuration key {key} has an invalid value {value}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// The value, already redacted when the key is a secret.
        value: String,
        /// Why it is invalid and what is expected.
        reason: String,
    },
    /// A key of ckpt's own `ckpt.*` family that ckpt does not know: most likely a typo, which
    /// would otherwise be ignored silently.
    #[error(
        "unknown configuration key {key}{}: keys starting with ckpt. are ckpt's own, and the known ones are {known}",
        closest.as_ref().map(|c| format!(" (did you mean {c}?)")).unwrap_or_default()
    )]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The known key closest to it, if any is close.
        closest: Option<String>,
        /// The known keys of the family, comma-separated.
        known: String,
    },
    /// A site file could not be read or parsed.
    #[error("{file}: {reason}")]
    File {
        /// The file.
        file: String,
        /// What went wrong.
        reason: String,
    },
}

impl ConfError {
    /// The key (or, for [`ConfError::File`], the file) the error is about.
    pub fn subject(&self) -> &str {
        match self {
            ConfError::Missing { key, .. }
            | ConfError::Invalid { key, .. }
            | ConfError::UnknownKey { key, .. } => key,
            ConfError::File { file, .. } => file,
        }
    }

    /// Builds [`ConfError::Invalid`], redacting the value when the key names a secret.
    pub fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Self {
        ConfError::Invalid {
            key: key.to_string(),
            value: format!("{:?}", redact_value(key, value)),
            reason: reason.into(),
        }
    }
}

/// A Hadoop-style configuration: keys to string values (key case preserved).
///
/// `Debug` and `Display` redact the values of secret keys (see [`is_secret_key`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    entries: BTreeMap<String, String>,
}

impl Configuration {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a configuration from key/value pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut conf = Self::new();
        for (k, v) in pairs {
            conf.set(k, v);
        }
        conf
    }

    /// Sets a key, replacing any previous value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(key.into(), value.into());
    }

    /// Sets a key only when it is not set yet.
    pub fn set_if_unset(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries
            .entry(key.into())
            .or_insert_with(|| value.into());
    }

    /// Removes a key, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.remove(key)
    }

    /// Copies every entry of `other` into `self`, `other` winning on conflicts.
    pub fn merge(&mut self, other: &Configuration) {
        for (k, v) in &other.entries {
            self.entries.insert(k.clone(), v.clone());
        }
    }

    /// The raw value of a key, trimmed; `None` when unset or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of a key, or [`ConfError::Missing`] with the given hint.
    pub fn require(&self, key: &str, hint: &str) -> Result<&str, ConfError> {
        self.get(key).ok_or_else(|| ConfError::Missing {
            key: key.to_string(),
            hint: hint.to_string(),
        })
    }

    /// True when the key has a non-blank value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// All entries in key order (values not redacted: do not print them).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.entries
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries with secret values replaced by [`REDACTED`], for printing.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone(), redact_value(k, v).into_owned()))
            .collect()
    }

    /// A boolean (`true`/`false`, case-insensitive), or `default` when unset.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool, ConfError> {
        self.typed(key, default, parse_bool, "expected true or false")
    }

    /// A size in bytes with Hadoop suffixes (`64M`, `1g`, `512k`, plain bytes), or `default`.
    pub fn get_size(&self, key: &str, default: u64) -> Result<u64, ConfError> {
        self.typed(
            key,
            default,
            parse_size,
            "expected a size such as 64M, 1G or 1048576 (below 16 EiB)",
        )
    }

    /// A duration with Hadoop suffixes (`10s`, `500ms`, `2m`, `1h`, `1d`); a bare number is in
    /// `bare_unit`. `default` when unset.
    pub fn get_duration(
        &self,
        key: &str,
        bare_unit: Duration,
        default: Duration,
    ) -> Result<Duration, ConfError> {
        self.typed(
            key,
            default,
            |v| parse_duration(v, bare_unit),
            "expected a duration such as 500ms, 10s, 2m or 1h: a whole number from 0 to 4294967295 with an optional unit ns, us, ms, s, m, h or d",
        )
    }

    /// An unsigned integer, or `default` when unset.
    pub fn get_u64(&self, key: &str, default: u64) -> Result<u64, ConfError> {
        self.typed(
            key,
            default,
            |v| v.parse().ok(),
            "expected a whole number from 0 to 18446744073709551615",
        )
    }

    /// A comma-separated list with blanks dropped; empty when unset.
    pub fn get_list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn typed<T>(
        &self,
        key: &str,
        default: T,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<T, ConfError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse(v).ok_or_else(|| ConfError::invalid(key, v, expected)),
        }
    }
}

impl fmt::Debug for Configuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.redacted()).finish()
    }
}

impl fmt::Display for Configuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in self.redacted() {
            writeln!(f, "{k} = {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_and_errors_name_the_key() {
        let conf = Configuration::from_pairs([
            ("a.size", "64M"),
            ("a.bool", "TRUE"),
            ("a.dur", "10s"),
            ("a.bad", "ten"),
            ("a.list", " x, ,y "),
            ("fs.s3a.secret.key", "hunter2"),
        ]);
        assert_eq!(conf.get_size("a.size", 0).unwrap(), 64 << 20);
        assert!(conf.get_bool("a.bool", false).unwrap());
        assert_eq!(
            conf.get_duration("a.dur", Duration::from_millis(1), Duration::ZERO)
                .unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(conf.get_size("missing", 7).unwrap(), 7);
        assert_eq!(conf.get_list("a.list"), vec!["x", "y"]);
        let err = conf.get_u64("a.bad", 0).unwrap_err().to_string();
        assert!(err.contains("a.bad") && err.contains("ten"), "{err}");
        let huge =
            Configuration::from_pairs([("n", "99999999999999999999"), ("d", "99999999999s")]);
        let err = huge.get_u64("n", 0).unwrap_err().to_string();
        assert!(err.contains("from 0 to 18446744073709551615"), "{err}");
        let err = huge
            .get_duration("d", Duration::from_millis(1), Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(err.contains("from 0 to 4294967295"), "{err}");
        let err = conf
            .get_u64("fs.s3a.secret.key", 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fs.s3a.secret.key") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn debug_and_display_redact_secrets() {
        let conf = Configuration::from_pairs([
            ("fs.s3a.access.key", "AKIAEXAMPLE"),
            ("fs.s3a.secret.key", "s3cr3t"),
            ("fs.oss.accessKeySecret", "oss-s3cr3t"),
            ("fs.s3a.session.token", "tok"),
            ("fs.defaultFS", "hdfs://ns"),
        ]);
        for text in [format!("{conf:?}"), conf.to_string()] {
            for secret in ["AKIAEXAMPLE", "s3cr3t", "oss-s3cr3t", "tok\""] {
                assert!(!text.contains(secret), "{secret} leaked in {text}");
            }
            assert!(text.contains("hdfs://ns"));
        }
    }

    #[test]
    fn prefix_iteration() {
        let conf =
            Configuration::from_pairs([("fs.s3a.a", "1"), ("fs.s3a.b", "2"), ("fs.s3b", "3")]);
        let keys: Vec<_> = conf.with_prefix("fs.s3a.").map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["fs.s3a.a", "fs.s3a.b"]);
    }
}
