//! What SeaTunnel's own checkpoint-storage-hdfs plugin (2.3.8) makes of a plugin-config, next
//! to what ckpt makes of it, key by key: the comparison `ckpt config check` prints.
//!
//! [`seatunnel_reading`] is a model of the plugin's `HdfsStorage.getConfiguration` and its
//! `LocalConfiguration`, `HdfsConfiguration`, `S3Configuration` and `OssConfiguration`;
//! `tests/compat_config.rs` checks it against the real plugin for every seed sample. Pure: no
//! I/O (a `hdfs_site_path` file is named, not read).

use std::collections::BTreeMap;

use super::keys::CKPT_KEYS;
use super::lint::{PROXY_PROVIDER_PREFIX, check_proxy_provider};
use super::plugin::{HADOOP_KEY_PREFIX, PluginConfig, StorageType};
use super::redact::redact_value;

/// The SeaTunnel version whose plugin [`seatunnel_reading`] models.
pub const SEATUNNEL_PLUGIN_VERSION: &str = "2.3.8";

/// The namespace SeaTunnel's plugin uses when `namespace` is blank.
const SEATUNNEL_DEFAULT_NAMESPACE: &str = "/seatunnel/checkpoint/";

/// What SeaTunnel's hdfs checkpoint storage plugin builds from a plugin-config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeatunnelReading {
    /// The file system configuration class it picks (`local`, `hdfs`, `s3`, `oss`).
    pub storage_type: String,
    /// Every Hadoop key it sets (values as given; redact before printing).
    pub hadoop: BTreeMap<String, String>,
    /// Whether it logs in to Kerberos from a keytab.
    pub kerberos_login: bool,
    /// The namespace directory it writes under.
    pub namespace: String,
    /// Why the plugin refuses the configuration, if it does (its exception message).
    pub error: Option<String>,
}

/// One plugin-config key: what SeaTunnel's plugin does with it and what ckpt does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyComparison {
    /// The plugin-config key.
    pub key: String,
    /// Its value, redacted when the key names a secret.
    pub value: String,
    /// What SeaTunnel's plugin does with it.
    pub seatunnel: String,
    /// What ckpt does with it.
    pub ckpt: String,
    /// Why the two differ; `None` when they do the same.
    pub difference: Option<String>,
}

/// Models SeaTunnel 2.3.8's `HdfsStorage.getConfiguration(plugin-config)`.
pub fn seatunnel_reading(plugin: &BTreeMap<String, String>) -> SeatunnelReading {
    let namespace = plugin
        .get("namespace")
        .filter(|v| !v.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| SEATUNNEL_DEFAULT_NAMESPACE.to_string());
    // `FileConfiguration.valueOf(storage.type.toUpperCase())`: no trimming.
    let raw_type = plugin
        .get("storage.type")
        .map(String::as_str)
        .unwrap_or("LOCAL");
    let storage_type = raw_type.to_uppercase().to_ascii_lowercase();
    let mut reading = SeatunnelReading {
        storage_type: storage_type.clone(),
        hadoop: BTreeMap::new(),
        kerberos_login: false,
        namespace,
        error: None,
    };
    let get = |key: &str| plugin.get(key).map(String::as_str);
    let disable_cache = get("disable.cache")
        .unwrap_or("TRUE")
        .eq_ignore_ascii_case("true")
        .to_string();
    let hadoop = &mut reading.hadoop;
    let mut set = |k: &str, v: &str| {
        hadoop.insert(k.to_string(), v.to_string());
    };
    match storage_type.as_str() {
        "local" => {
            set("fs.file.impl", "org.apache.hadoop.fs.LocalFileSystem");
            set("fs.defaultFS", get("fs.defaultFS").unwrap_or("file:///"));
            set("fs.file.impl.disable.cache", &disable_cache);
        }
        "hdfs" => {
            let Some(fs) = get("fs.defaultFS") else {
                reading.error = Some("fs.defaultFS is required".to_string());
                return reading;
            };
            set("fs.defaultFS", fs);
            set(
                "fs.hdfs.impl",
                "org.apache.hadoop.hdfs.DistributedFileSystem",
            );
            if seatunnel_logs_in(plugin) {
                set("hadoop.security.authentication", "kerberos");
                reading.kerberos_login = true;
            }
            set("fs.hdfs.impl.disable.cache", &disable_cache);
            for (key, value) in plugin {
                if key.starts_with(HADOOP_KEY_PREFIX) {
                    set(&key.replace(HADOOP_KEY_PREFIX, ""), value);
                }
            }
        }
        "s3" => {
            let Some(bucket) = get("s3.bucket") else {
                reading.error = Some("s3.bucket is required".to_string());
                return reading;
            };
            let protocol = s3_protocol(bucket);
            set("fs.defaultFS", bucket);
            let impl_class = if protocol == "s3a" {
                "org.apache.hadoop.fs.s3a.S3AFileSystem"
            } else {
                "org.apache.hadoop.fs.s3native.NativeS3FileSystem"
            };
            set(&format!("fs.{protocol}.impl"), impl_class);
            set(&format!("fs.{protocol}.impl.disable.cache"), &disable_cache);
            let prefix = format!("fs.{protocol}.");
            for (key, value) in plugin {
                if key.starts_with(&prefix) {
                    set(key, value);
                }
            }
        }
        "oss" => {
            let Some(bucket) = get("oss.bucket") else {
                reading.error = Some("oss.bucket is required".to_string());
                return reading;
            };
            set("fs.defaultFS", bucket);
            set(
                "fs.oss.impl",
                "org.apache.hadoop.fs.aliyun.oss.AliyunOSSFileSystem",
            );
            set("fs.oss.impl.disable.cache", &disable_cache);
            for (key, value) in plugin {
                if key.starts_with("fs.oss.") {
                    set(key, value);
                }
            }
        }
        _ => {
            reading.error = Some(format!(
                "No enum constant org.apache.seatunnel.engine.checkpoint.storage.hdfs.common.FileConfiguration.{}",
                raw_type.to_uppercase()
            ));
        }
    }
    reading
}

/// SeaTunnel logs in only when both `kerberosPrincipal` and `kerberosKeytabFilePath` are set
/// and not blank (`kerberosKeytab` is not read by its code).
fn seatunnel_logs_in(plugin: &BTreeMap<String, String>) -> bool {
    let set = |k: &str| plugin.get(k).is_some_and(|v| !v.trim().is_empty());
    set("kerberosPrincipal") && set("kerberosKeytabFilePath")
}

/// `S3Configuration`: `s3a` when the bucket starts with `s3a`, otherwise `s3n`.
fn s3_protocol(bucket: &str) -> &'static str {
    if bucket.starts_with("s3a") {
        "s3a"
    } else {
        "s3n"
    }
}

/// Compares, key by key, what SeaTunnel's plugin and ckpt do with each plugin-config key.
pub fn compare_keys(
    plugin: &BTreeMap<String, String>,
    seatunnel: &SeatunnelReading,
    ckpt: &PluginConfig,
) -> Vec<KeyComparison> {
    plugin
        .iter()
        .map(|(key, value)| {
            let (seatunnel_does, ckpt_does, difference) = compare_key(key, plugin, seatunnel, ckpt);
            KeyComparison {
                key: key.clone(),
                value: redact_value(key, value).into_owned(),
                seatunnel: seatunnel_does,
                ckpt: ckpt_does,
                difference,
            }
        })
        .collect()
}

fn compare_key(
    key: &str,
    plugin: &BTreeMap<String, String>,
    st: &SeatunnelReading,
    ckpt: &PluginConfig,
) -> (String, String, Option<String>) {
    let ckpt_type = ckpt.storage_type;
    let st_type = st.storage_type.as_str();
    let same = |what: String| (what.clone(), what, None);
    match key {
        "namespace" => {
            let ckpt_ns = ckpt.namespace_display();
            let st_ns = &st.namespace;
            let differ =
                ckpt.namespace.path().trim_end_matches('/') != st_ns.trim().trim_end_matches('/');
            (
                format!("checkpoints under {st_ns}"),
                format!("checkpoints under {ckpt_ns}"),
                differ.then(|| {
                    "ckpt qualifies the namespace against the file system root and normalises it \
                     (see the README's configuration reference)"
                        .to_string()
                }),
            )
        }
        "storage.type" => (
            format!("selects the {st_type} file system"),
            format!("selects the {ckpt_type} file system"),
            (st_type != ckpt_type.to_string()).then(|| {
                "SeaTunnel upper-cases the value as it is; ckpt also trims it".to_string()
            }),
        ),
        "disable.cache" => (
            format!(
                "sets Hadoop key {}",
                st.hadoop
                    .keys()
                    .find(|k| k.ends_with(".impl.disable.cache"))
                    .map(String::as_str)
                    .unwrap_or("fs.<scheme>.impl.disable.cache")
            ),
            "accepted, no effect".to_string(),
            Some(
                "the key only works around the JVM's shared FileSystem cache being closed under \
                 the engine; ckpt keeps no such cache"
                    .to_string(),
            ),
        ),
        "kerberosPrincipal" | "kerberosKeytabFilePath" | "kerberosKeytab" => {
            kerberos_key(key, plugin, st, ckpt)
        }
        "hdfs_site_path" => {
            let applies = |hdfs: bool| {
                if hdfs {
                    "loads the file as Hadoop configuration"
                } else {
                    "ignored (read only for storage.type hdfs)"
                }
                .to_string()
            };
            let st_does = applies(st_type == "hdfs");
            let ckpt_does = applies(ckpt_type == StorageType::Hdfs);
            let diff = (st_does != ckpt_does).then(|| "the storage types differ".to_string());
            (st_does, ckpt_does, diff)
        }
        "s3.bucket" | "oss.bucket" => bucket_key(key, plugin, st, ckpt),
        _ if CKPT_KEYS.contains(&key) => (
            "ignored".to_string(),
            "ckpt option (see the README's configuration reference)".to_string(),
            Some(
                "ckpt's own key: SeaTunnel's plugin does not read it, so one configuration serves both"
                    .to_string(),
            ),
        ),
        _ => {
            let st_key = hadoop_key_set_by_seatunnel(key, st_type, &st.hadoop)
                .filter(|_| st.error.is_none());
            let ckpt_key = key.strip_prefix(HADOOP_KEY_PREFIX).unwrap_or(key);
            let bucket_is_root =
                key == "fs.defaultFS" && matches!(ckpt_type, StorageType::S3 | StorageType::Oss);
            if bucket_is_root && st_key.is_none() {
                return same("ignored (the bucket is the file system root)".to_string());
            }
            let ckpt_sets = (!ckpt_key.is_empty() && !bucket_is_root).then_some(ckpt_key);
            let st_does = match &st_key {
                Some(k) => format!("sets Hadoop key {k}"),
                None => "ignored".to_string(),
            };
            let ckpt_does = match ckpt_sets {
                Some(k) => format!("sets Hadoop key {k} for the {ckpt_type} file system"),
                None if ckpt_key.is_empty() => "ignored (names no Hadoop key)".to_string(),
                None => "ignored (the bucket is the file system root)".to_string(),
            };
            // Both set the key, but a failover proxy provider ckpt does not implement (or one
            // Java cannot load) is behaviour, not text: say what each does with the class.
            let provider_note = ckpt_key
                .strip_prefix(PROXY_PROVIDER_PREFIX)
                .and_then(|ns| {
                    let value = plugin.get(key).map(String::as_str).unwrap_or("");
                    check_proxy_provider(key, ns, value)
                });
            let same_key = st_key.is_some() && st_key.as_deref() == ckpt_sets;
            let difference = provider_note
                .or_else(|| (!same_key).then(|| hadoop_key_difference(key, st, ckpt)));
            (st_does, ckpt_does, difference)
        }
    }
}

/// The Hadoop key SeaTunnel sets for a plugin-config key it passes through, if it does.
fn hadoop_key_set_by_seatunnel(
    key: &str,
    st_type: &str,
    hadoop: &BTreeMap<String, String>,
) -> Option<String> {
    match st_type {
        "local" | "hdfs" if key == "fs.defaultFS" => Some(key.to_string()),
        "local" => None,
        "hdfs" => key
            .starts_with(HADOOP_KEY_PREFIX)
            .then(|| key.replace(HADOOP_KEY_PREFIX, "")),
        "s3" | "oss" if key == "fs.defaultFS" => None,
        "s3" | "oss" => hadoop.contains_key(key).then(|| key.to_string()),
        _ => None,
    }
}

fn hadoop_key_difference(key: &str, st: &SeatunnelReading, ckpt: &PluginConfig) -> String {
    let st_type = st.storage_type.as_str();
    if st.error.is_some() {
        return "SeaTunnel's plugin refuses this configuration (see the seatunnel section)"
            .to_string();
    }
    if let Some(rest) = key.strip_prefix(HADOOP_KEY_PREFIX) {
        if st_type == "hdfs" {
            return format!(
                "SeaTunnel removes every occurrence of {HADOOP_KEY_PREFIX} from the key; ckpt strips \
                 only the leading one, giving {rest}"
            );
        }
        return format!(
            "SeaTunnel reads {HADOOP_KEY_PREFIX}* keys only for storage.type hdfs; ckpt applies \
             them for every storage type ({})",
            ckpt.storage_type
        );
    }
    if st_type == "s3" && key.starts_with("fs.s3a.") {
        return "s3.bucket does not start with s3a://, so SeaTunnel's plugin uses the s3n protocol \
                and passes only fs.s3n.* keys: this key has no effect there (and Hadoop 3 has no \
                s3n file system); ckpt reads the bucket as s3a:// and applies the key"
            .to_string();
    }
    if key == "fs.defaultFS" && matches!(st_type, "s3" | "oss") {
        return "the bucket is the file system root for both; SeaTunnel ignores fs.defaultFS"
            .to_string();
    }
    format!(
        "SeaTunnel's plugin passes on only its own prefix for storage.type {st_type} \
         ({}); ckpt passes every key it does not consume to the file system as a Hadoop key",
        match st_type {
            "hdfs" => "seatunnel.hadoop.*",
            "s3" => "fs.s3a.* or fs.s3n.*, by the bucket's scheme",
            "oss" => "fs.oss.*",
            _ => "none",
        }
    )
}

fn kerberos_key(
    key: &str,
    plugin: &BTreeMap<String, String>,
    st: &SeatunnelReading,
    ckpt: &PluginConfig,
) -> (String, String, Option<String>) {
    let st_does = if key == "kerberosKeytab" {
        "ignored (not a key of SeaTunnel's code: the seed page's documentation error)".to_string()
    } else if st.kerberos_login {
        "Kerberos login from the keytab, once at start".to_string()
    } else {
        "ignored (SeaTunnel logs in only when kerberosPrincipal and kerberosKeytabFilePath are both set, for storage.type hdfs)"
            .to_string()
    };
    let ckpt_does = match &ckpt.kerberos {
        Some(_) if key == "kerberosKeytab" && plugin.contains_key("kerberosKeytabFilePath") => {
            "ignored (kerberosKeytabFilePath is set)".to_string()
        }
        Some(_) => "Kerberos login from the keytab, renewed before the ticket expires".to_string(),
        None => {
            "ignored (Kerberos needs a principal and a keytab, for storage.type hdfs)".to_string()
        }
    };
    let difference = match (st.kerberos_login, ckpt.kerberos.is_some()) {
        (false, false) => None,
        (true, true) if key == "kerberosKeytab" => None,
        (true, true) => Some(
            "SeaTunnel logs in once and never renews (writes fail after the ticket lifetime); \
             ckpt renews the login"
                .to_string(),
        ),
        (false, true) => Some(
            "ckpt accepts kerberosKeytab as an alias of kerberosKeytabFilePath (upstream \
             documentation named it so); SeaTunnel's plugin ignores it and does not log in: set \
             kerberosKeytabFilePath for both"
                .to_string(),
        ),
        (true, false) => Some("the storage types differ".to_string()),
    };
    (st_does, ckpt_does, difference)
}

fn bucket_key(
    key: &str,
    plugin: &BTreeMap<String, String>,
    st: &SeatunnelReading,
    ckpt: &PluginConfig,
) -> (String, String, Option<String>) {
    let bucket = plugin.get(key).map(String::as_str).unwrap_or("");
    let used_by_st = (key == "s3.bucket" && st.storage_type == "s3")
        || (key == "oss.bucket" && st.storage_type == "oss");
    let used_by_ckpt = (key == "s3.bucket" && ckpt.storage_type == StorageType::S3)
        || (key == "oss.bucket" && ckpt.storage_type == StorageType::Oss);
    let st_does = if used_by_st {
        format!("sets Hadoop key fs.defaultFS to {bucket}")
    } else {
        "ignored".to_string()
    };
    let ckpt_does = if used_by_ckpt {
        format!("file system root {}", ckpt.default_fs)
    } else {
        "ignored".to_string()
    };
    let difference = if !used_by_st && !used_by_ckpt {
        None
    } else if key == "s3.bucket" && used_by_st && s3_protocol(bucket) == "s3n" {
        Some(format!(
            "without s3a:// SeaTunnel's plugin uses {bucket} (no scheme) as its file system and \
             the s3n protocol, which Hadoop 3 no longer has, so it cannot open the bucket; ckpt \
             reads a bare name as {}: write s3.bucket: s3a://<bucket> for both",
            ckpt.default_fs
        ))
    } else if key == "oss.bucket" && used_by_st && !bucket.starts_with("oss://") {
        Some(format!(
            "without oss:// SeaTunnel's plugin uses {bucket} (no scheme) as its file system; ckpt \
             reads a bare name as {}: write oss.bucket: oss://<bucket> for both",
            ckpt.default_fs
        ))
    } else {
        None
    };
    (st_does, ckpt_does, difference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::Configuration;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn compare(pairs: &[(&str, &str)]) -> Vec<KeyComparison> {
        let plugin = map(pairs);
        let ckpt = PluginConfig::from_map(&plugin, &Configuration::new()).unwrap();
        compare_keys(&plugin, &seatunnel_reading(&plugin), &ckpt)
    }

    fn row<'a>(rows: &'a [KeyComparison], key: &str) -> &'a KeyComparison {
        rows.iter().find(|r| r.key == key).unwrap()
    }

    #[test]
    fn local_is_the_default_and_sets_the_file_keys() {
        let r = seatunnel_reading(&map(&[("K1", "V1")]));
        assert_eq!(r.storage_type, "local");
        assert_eq!(
            r.hadoop,
            map(&[
                ("fs.defaultFS", "file:///"),
                ("fs.file.impl", "org.apache.hadoop.fs.LocalFileSystem"),
                ("fs.file.impl.disable.cache", "true"),
            ])
        );
        assert_eq!(r.namespace, "/seatunnel/checkpoint/");
    }

    #[test]
    fn hdfs_replaces_the_prefix_everywhere_and_logs_in_only_with_the_code_key() {
        let plugin = map(&[
            ("storage.type", "HDFS"),
            ("fs.defaultFS", "hdfs://ns"),
            ("seatunnel.hadoop.a.seatunnel.hadoop.b", "x"),
            ("kerberosPrincipal", "p"),
            ("kerberosKeytab", "k"),
            ("disable.cache", "false"),
        ]);
        let r = seatunnel_reading(&plugin);
        assert_eq!(r.hadoop.get("a.b").map(String::as_str), Some("x"));
        assert_eq!(
            r.hadoop
                .get("fs.hdfs.impl.disable.cache")
                .map(String::as_str),
            Some("false")
        );
        assert!(!r.kerberos_login);
        let mut with_code_key = plugin.clone();
        with_code_key.insert("kerberosKeytabFilePath".into(), "k".into());
        let r = seatunnel_reading(&with_code_key);
        assert!(r.kerberos_login);
        assert_eq!(
            r.hadoop
                .get("hadoop.security.authentication")
                .map(String::as_str),
            Some("kerberos")
        );
    }

    #[test]
    fn s3_without_s3a_uses_s3n_and_drops_the_s3a_keys() {
        let r = seatunnel_reading(&map(&[
            ("storage.type", "s3"),
            ("s3.bucket", "b"),
            ("fs.s3a.endpoint", "e"),
        ]));
        assert!(r.hadoop.contains_key("fs.s3n.impl"));
        assert!(!r.hadoop.contains_key("fs.s3a.endpoint"));
        let r = seatunnel_reading(&map(&[
            ("storage.type", "s3"),
            ("s3.bucket", "s3a://bucket1"),
            ("fs.s3a.endpoint", "e"),
        ]));
        assert_eq!(
            r.hadoop.get("fs.s3a.endpoint").map(String::as_str),
            Some("e")
        );
    }

    #[test]
    fn refusals_are_reported_as_the_plugin_words_them() {
        let r = seatunnel_reading(&map(&[("storage.type", "hdfs")]));
        assert_eq!(r.error.as_deref(), Some("fs.defaultFS is required"));
        let r = seatunnel_reading(&map(&[("storage.type", "cos")]));
        assert!(r.error.unwrap().ends_with("FileConfiguration.COS"));
    }

    #[test]
    fn every_difference_is_explained_and_agreement_has_none() {
        let rows = compare(&[
            ("storage.type", "s3"),
            ("s3.bucket", "your-bucket"),
            ("fs.s3a.endpoint", "e"),
            ("fs.s3a.secret.key", "hidden"),
            ("ckpt.checksum", "true"),
        ]);
        assert!(row(&rows, "storage.type").difference.is_none());
        assert!(
            row(&rows, "s3.bucket")
                .difference
                .as_deref()
                .unwrap()
                .contains("s3n")
        );
        assert!(row(&rows, "fs.s3a.endpoint").difference.is_some());
        assert_eq!(row(&rows, "fs.s3a.secret.key").value, crate::conf::REDACTED);
        assert!(row(&rows, "ckpt.checksum").difference.is_some());
        let rows = compare(&[
            ("storage.type", "s3"),
            ("s3.bucket", "s3a://bucket1"),
            ("fs.s3a.endpoint", "e"),
        ]);
        assert!(rows.iter().all(|r| r.difference.is_none()), "{rows:#?}");
        let rows = compare(&[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", "hdfs://ns"),
            ("seatunnel.hadoop.dfs.nameservices", "ns"),
            ("dfs.replication", "2"),
            ("kerberosPrincipal", "p"),
            ("kerberosKeytab", "/k"),
        ]);
        assert!(row(&rows, "fs.defaultFS").difference.is_none());
        assert!(
            row(&rows, "seatunnel.hadoop.dfs.nameservices")
                .difference
                .is_none()
        );
        assert!(row(&rows, "dfs.replication").difference.is_some());
        assert!(
            row(&rows, "kerberosKeytab")
                .difference
                .as_deref()
                .unwrap()
                .contains("alias")
        );
        // The seed page's HA sample: a proxy provider with a stray quote.
        let provider = "seatunnel.hadoop.dfs.client.failover.proxy.provider.ns";
        let quoted = "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider\"";
        let rows = compare(&[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", "hdfs://ns"),
            (provider, quoted),
        ]);
        assert!(
            row(&rows, provider)
                .difference
                .as_deref()
                .unwrap()
                .contains("stray")
        );
        let rows = compare(&[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", "hdfs://ns"),
            (provider, quoted.trim_end_matches('"')),
        ]);
        assert!(row(&rows, provider).difference.is_none());
    }

    #[test]
    fn local_fs_default_fs_is_set_by_both() {
        // LocalConfiguration takes fs.defaultFS from plugin-config (file:/// by default).
        let rows = compare(&[("storage.type", "local"), ("fs.defaultFS", "file:///")]);
        let row = row(&rows, "fs.defaultFS");
        assert_eq!(row.seatunnel, "sets Hadoop key fs.defaultFS");
        assert!(row.difference.is_none(), "{row:#?}");
    }

    #[test]
    fn the_namespace_compares_by_path() {
        let rows = compare(&[("namespace", "/a/b/")]);
        assert!(row(&rows, "namespace").difference.is_none(), "{rows:#?}");
    }
}
