//! The SeaTunnel `plugin-config` mapping: from the flat map a user writes under
//! `seatunnel.engine.checkpoint.storage.plugin-config` to the effective Hadoop configuration,
//! the file system root and the checkpoint namespace.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::keys::{PLUGIN_KEYS, check_plugin_keys};
use super::lint::{check_plugin_values, check_value};
use super::{ConfError, Configuration, load_site_file, load_site_files};
use crate::fs::Path;

/// Prefix that carries raw Hadoop keys through plugin-config (`seatunnel.hadoop.X` → `X`).
pub const HADOOP_KEY_PREFIX: &str = "seatunnel.hadoop.";
/// Hadoop-configuration key carrying the Kerberos client principal to the HDFS backend.
pub const KERBEROS_PRINCIPAL_KEY: &str = "ckpt.kerberos.principal";
/// Hadoop-configuration key carrying the Kerberos keytab path to the HDFS backend.
pub const KERBEROS_KEYTAB_KEY: &str = "ckpt.kerberos.keytab";
/// The namespace used when plugin-config sets none (Java's default).
pub const DEFAULT_NAMESPACE: &str = "/seatunnel/checkpoint/";

/// Which file system the general (`hdfs`) checkpoint storage writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    /// Local disk (`file://`).
    Local,
    /// HDFS (`hdfs://`).
    Hdfs,
    /// Amazon S3 or a compatible store (`s3a://`, `s3://`).
    S3,
    /// Aliyun OSS (`oss://`).
    Oss,
}

impl StorageType {
    /// Parses `storage.type` case-insensitively.
    pub fn parse(value: &str) -> Result<StorageType, ConfError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(StorageType::Local),
            "hdfs" => Ok(StorageType::Hdfs),
            "s3" => Ok(StorageType::S3),
            "oss" => Ok(StorageType::Oss),
            _ => Err(ConfError::invalid(
                "storage.type",
                value,
                "expected one of local, hdfs, s3, oss",
            )),
        }
    }
}

impl fmt::Display for StorageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageType::Local => "local",
            StorageType::Hdfs => "hdfs",
            StorageType::S3 => "s3",
            StorageType::Oss => "oss",
        })
    }
}

/// Kerberos login from a keytab, as plugin-config asks for it. `Debug` redacts the keytab path.
#[derive(Clone, PartialEq, Eq)]
pub struct KerberosLogin {
    /// The client principal, e.g. `seatunnel/host@REALM`.
    pub principal: String,
    /// The keytab file (its path only; the content is never read into configuration).
    pub keytab: PathBuf,
}

impl std::fmt::Debug for KerberosLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosLogin")
            .field("principal", &self.principal)
            .field("keytab", &super::REDACTED)
            .finish()
    }
}

/// The effective settings of the general (`hdfs`) checkpoint storage plugin.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The file system to use.
    pub storage_type: StorageType,
    /// Root of the file system: `file:///`, `hdfs://ns`, `s3a://bucket`, `oss://bucket`.
    pub default_fs: Path,
    /// The namespace directory, fully qualified (no trailing `/`).
    pub namespace: Path,
    /// The effective Hadoop configuration handed to the backend (secrets redacted when printed).
    pub hadoop: Configuration,
    /// Kerberos keytab login, when both principal and keytab are set.
    pub kerberos: Option<KerberosLogin>,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
}

impl PluginConfig {
    /// Maps plugin-config, reading the site files it points to: `HADOOP_CONF_DIR` (given as
    /// `hadoop_conf_dir`) then `hdfs_site_path`, both only for `storage.type: hdfs`.
    pub fn load(
        plugin: &BTreeMap<String, String>,
        hadoop_conf_dir: Option<&std::path::Path>,
    ) -> Result<PluginConfig, ConfError> {
        let storage_type = storage_type_of(plugin)?;
        let mut site = Configuration::new();
        if storage_type == StorageType::Hdfs {
            if let Some(dir) = hadoop_conf_dir {
                site.merge(&load_site_files(dir)?);
            }
            if let Some(file) = plugin_value(plugin, "hdfs_site_path") {
                site.merge(&load_site_file(std::path::Path::new(file))?);
            }
        }
        Self::from_map(plugin, &site)
    }

    /// Pure mapping: plugin-config over already loaded site configuration. Layering, lowest
    /// first: `site`, then `seatunnel.hadoop.X` keys (prefix stripped), then other explicit keys.
    pub fn from_map(
        plugin: &BTreeMap<String, String>,
        site: &Configuration,
    ) -> Result<PluginConfig, ConfError> {
        let storage_type = storage_type_of(plugin)?;
        let mut warnings = check_plugin_keys(
            plugin.keys().map(String::as_str),
            "it is passed to the file system as a Hadoop key",
        )?;
        warnings.extend(check_plugin_values(
            plugin.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ));
        for (key, value) in site.iter() {
            let overridden = plugin.contains_key(key)
                || plugin.contains_key(&format!("{HADOOP_KEY_PREFIX}{key}"));
            if !overridden {
                warnings.extend(check_value(
                    &format!("{key} (from the Hadoop site files)"),
                    key,
                    value,
                ));
            }
        }
        let mut hadoop = site.clone();
        for (key, value) in plugin {
            if let Some(stripped) = key.strip_prefix(HADOOP_KEY_PREFIX) {
                if stripped.is_empty() {
                    warnings.push(format!(
                        "plugin-config key {key} names no Hadoop key; ignored"
                    ));
                } else {
                    hadoop.set(stripped, value.clone());
                }
            }
        }
        for (key, value) in plugin {
            if !key.starts_with(HADOOP_KEY_PREFIX) && !PLUGIN_KEYS.contains(&key.as_str()) {
                hadoop.set(key.clone(), value.clone());
            }
        }
        let get = |key: &str| plugin_value(plugin, key);

        let default_fs = match storage_type {
            StorageType::Local => {
                let fs = get("fs.defaultFS").unwrap_or("file:///");
                let path = parse_fs_uri("fs.defaultFS", fs)?;
                if path.scheme() != Some("file") {
                    return Err(ConfError::invalid(
                        "fs.defaultFS",
                        fs,
                        "storage.type local needs a file:/// URI (use storage.type hdfs, s3 or oss for other schemes)",
                    ));
                }
                path
            }
            StorageType::Hdfs => {
                let fs = hadoop.require(
                    "fs.defaultFS",
                    "set it in plugin-config (e.g. fs.defaultFS: hdfs://namenode:8020 or hdfs://<nameservice>), \
                     in core-site.xml under HADOOP_CONF_DIR, or in the file named by hdfs_site_path",
                )?;
                parse_fs_uri("fs.defaultFS", fs)?
            }
            StorageType::S3 => bucket_root("s3.bucket", get("s3.bucket"), &["s3a", "s3"], "s3a")?,
            StorageType::Oss => bucket_root("oss.bucket", get("oss.bucket"), &["oss"], "oss")?,
        };
        hadoop.set("fs.defaultFS", default_fs.to_string());

        let namespace = resolve_namespace(plugin, DEFAULT_NAMESPACE, &default_fs)?;

        let kerberos = kerberos_login(plugin)?;
        match &kerberos {
            Some(_) if storage_type != StorageType::Hdfs => warnings.push(format!(
                "kerberosPrincipal/kerberosKeytab are only used with storage.type hdfs; ignored for {storage_type}"
            )),
            Some(login) => {
                hadoop.set("hadoop.security.authentication", "kerberos");
                hadoop.set(KERBEROS_PRINCIPAL_KEY, login.principal.clone());
                hadoop.set(KERBEROS_KEYTAB_KEY, login.keytab.display().to_string());
            }
            None => {}
        }
        Ok(PluginConfig {
            storage_type,
            default_fs,
            namespace,
            hadoop,
            kerberos: kerberos.filter(|_| storage_type == StorageType::Hdfs),
            warnings,
        })
    }

    /// The namespace as Java writes it: the path with one trailing `/`.
    pub fn namespace_display(&self) -> String {
        let s = self.namespace.to_string();
        if s.ends_with('/') { s } else { format!("{s}/") }
    }
}

/// The `namespace` of plugin-config on the file system `root`: `default` when the key is
/// absent; an error when it is blank (an explicit `""`), relative (it would silently land at
/// the root of the file system), or on another file system than `root`.
pub fn resolve_namespace(
    plugin: &BTreeMap<String, String>,
    default: &str,
    root: &Path,
) -> Result<Path, ConfError> {
    let text = match plugin.get("namespace") {
        None => default,
        Some(v) if v.trim().is_empty() => {
            return Err(ConfError::invalid(
                "namespace",
                v,
                format!(
                    "the namespace is empty; give a directory, or remove the key (or leave it without a value) for the default {default}"
                ),
            ));
        }
        Some(v) => v.trim(),
    };
    let path =
        Path::parse(text).map_err(|e| ConfError::invalid("namespace", text, e.to_string()))?;
    if path.scheme().is_none() && !path.is_absolute() {
        return Err(ConfError::invalid(
            "namespace",
            text,
            format!(
                "a relative namespace is not allowed (it would silently start at the root of {root}); give an absolute path (starting with /) or a full URI such as {}",
                root.join(text)
                    .map(|p| p.to_string())
                    .unwrap_or_else(|_| format!("{root}seatunnel/checkpoint/"))
            ),
        ));
    }
    let namespace = path.qualify(root);
    if namespace.scheme() != root.scheme() || namespace.authority() != root.authority() {
        return Err(ConfError::invalid(
            "namespace",
            text,
            format!("the namespace must be on the configured file system {root}"),
        ));
    }
    Ok(namespace)
}

fn plugin_value<'a>(plugin: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    plugin.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn storage_type_of(plugin: &BTreeMap<String, String>) -> Result<StorageType, ConfError> {
    match plugin_value(plugin, "storage.type") {
        Some(v) => StorageType::parse(v),
        None => Ok(StorageType::Local),
    }
}

fn kerberos_login(plugin: &BTreeMap<String, String>) -> Result<Option<KerberosLogin>, ConfError> {
    let get = |key: &str| plugin_value(plugin, key);
    let principal = get("kerberosPrincipal");
    let keytab_key = if get("kerberosKeytabFilePath").is_some() {
        "kerberosKeytabFilePath"
    } else {
        "kerberosKeytab"
    };
    let keytab = get(keytab_key);
    match (principal, keytab) {
        (None, None) => Ok(None),
        (Some(principal), Some(keytab)) => Ok(Some(KerberosLogin {
            principal: principal.to_string(),
            keytab: PathBuf::from(keytab),
        })),
        (Some(_), None) => Err(ConfError::Missing {
            key: "kerberosKeytabFilePath".to_string(),
            hint: "kerberosPrincipal is set; also set kerberosKeytabFilePath (or kerberosKeytab) to the keytab file"
                .to_string(),
        }),
        (None, Some(_)) => Err(ConfError::Missing {
            key: "kerberosPrincipal".to_string(),
            hint: format!("{keytab_key} is set; also set kerberosPrincipal to the principal in that keytab"),
        }),
    }
}

fn parse_fs_uri(key: &str, value: &str) -> Result<Path, ConfError> {
    let path = Path::parse(value).map_err(|e| ConfError::invalid(key, value, e.to_string()))?;
    if path.scheme().is_none() {
        return Err(ConfError::invalid(
            key,
            value,
            "expected a URI with a scheme, e.g. hdfs://namenode:8020, hdfs://nameservice or file:///",
        ));
    }
    Ok(path.root())
}

/// Accepts `scheme://bucket`, `scheme://bucket/` and a bare `bucket`.
fn bucket_root(
    key: &str,
    value: Option<&str>,
    schemes: &[&str],
    default_scheme: &str,
) -> Result<Path, ConfError> {
    let forms = schemes
        .iter()
        .map(|s| format!("{s}://your-bucket"))
        .collect::<Vec<_>>()
        .join(", ");
    let value = value.ok_or_else(|| ConfError::Missing {
        key: key.to_string(),
        hint: format!("set it to the bucket name ({forms} or your-bucket)"),
    })?;
    let text = if value.contains(':') || value.contains('/') {
        value.to_string()
    } else {
        format!("{default_scheme}://{value}")
    };
    let bad = |reason: String| ConfError::invalid(key, value, reason);
    let path =
        Path::parse(&text).map_err(|e| bad(format!("{e}; expected {forms} or your-bucket")))?;
    let scheme = path.scheme().unwrap_or("");
    if !schemes.contains(&scheme) || !text.contains("://") {
        return Err(bad(format!("expected {forms} or a bare bucket name")));
    }
    let bucket = path.authority().unwrap_or("");
    if !path.is_root() {
        return Err(bad(
            "name only the bucket here and put any prefix in namespace".to_string(),
        ));
    }
    if !valid_bucket_name(bucket) {
        return Err(bad(
            "a bucket name has 3 to 63 lower-case letters, digits, '.' or '-' and starts and ends with a letter or digit"
                .to_string(),
        ));
    }
    Ok(path)
}

fn valid_bucket_name(bucket: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge_ok(bucket.chars().next())
        && edge_ok(bucket.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn local_default() {
        let pc = PluginConfig::from_map(&map(&[]), &Configuration::new()).unwrap();
        assert_eq!(pc.storage_type, StorageType::Local);
        assert_eq!(pc.namespace.to_string(), "file:///seatunnel/checkpoint");
        assert_eq!(pc.namespace_display(), "file:///seatunnel/checkpoint/");
    }

    #[test]
    fn hadoop_prefix_is_stripped_only_at_the_start_and_explicit_keys_win() {
        let pc = PluginConfig::from_map(
            &map(&[
                ("storage.type", "HDFS"),
                ("fs.defaultFS", "hdfs://usdp-bing"),
                ("seatunnel.hadoop.dfs.nameservices", "usdp-bing"),
                ("seatunnel.hadoop.x.seatunnel.hadoop.y", "v"),
                ("seatunnel.hadoop.dfs.replication", "2"),
                ("dfs.replication", "3"),
            ]),
            &Configuration::from_pairs([("dfs.nameservices", "from-site"), ("site.only", "1")]),
        )
        .unwrap();
        assert_eq!(pc.hadoop.get("dfs.nameservices"), Some("usdp-bing"));
        assert_eq!(pc.hadoop.get("x.seatunnel.hadoop.y"), Some("v"));
        assert_eq!(pc.hadoop.get("dfs.replication"), Some("3"));
        assert_eq!(pc.hadoop.get("site.only"), Some("1"));
        assert!(!pc.hadoop.contains("storage.type"));
        assert_eq!(pc.default_fs.to_string(), "hdfs://usdp-bing/");
    }

    #[test]
    fn hdfs_needs_default_fs() {
        let err = PluginConfig::from_map(&map(&[("storage.type", "hdfs")]), &Configuration::new())
            .unwrap_err();
        assert!(err.to_string().contains("fs.defaultFS"), "{err}");
        let from_site = PluginConfig::from_map(
            &map(&[("storage.type", "hdfs")]),
            &Configuration::from_pairs([("fs.defaultFS", "hdfs://nn:8020")]),
        )
        .unwrap();
        assert_eq!(from_site.default_fs.to_string(), "hdfs://nn:8020/");
    }

    #[test]
    fn namespace_gets_trailing_slash_and_must_stay_on_the_fs() {
        let pc = PluginConfig::from_map(
            &map(&[("storage.type", "local"), ("namespace", "/tmp/ckpt")]),
            &Configuration::new(),
        )
        .unwrap();
        assert_eq!(pc.namespace_display(), "file:///tmp/ckpt/");
        let err = PluginConfig::from_map(
            &map(&[("storage.type", "local"), ("namespace", "hdfs://nn/x/")]),
            &Configuration::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("namespace"));
        assert!(
            PluginConfig::from_map(&map(&[("namespace", "/a/../../b")]), &Configuration::new())
                .is_err()
        );
    }

    #[test]
    fn relative_or_empty_namespaces_are_errors() {
        for (namespace, needle) in [
            ("relative/ns", "absolute path"),
            ("ns", "file:///ns"),
            ("", "empty"),
            ("   ", "empty"),
        ] {
            let err =
                PluginConfig::from_map(&map(&[("namespace", namespace)]), &Configuration::new())
                    .unwrap_err()
                    .to_string();
            assert!(
                err.contains("namespace") && err.contains(needle),
                "{namespace:?}: {err}"
            );
        }
        let uri = PluginConfig::from_map(
            &map(&[("namespace", "file:///abs/ns")]),
            &Configuration::new(),
        )
        .unwrap();
        assert_eq!(uri.namespace_display(), "file:///abs/ns/");
    }

    #[test]
    fn misspelt_keys_warn_and_unknown_ckpt_keys_fail() {
        let pc = PluginConfig::from_map(
            &map(&[("namepsace", "/x"), ("dfs.replication", "2")]),
            &Configuration::new(),
        )
        .unwrap();
        assert_eq!(pc.warnings.len(), 1, "{:?}", pc.warnings);
        assert!(pc.warnings[0].contains("did you mean namespace?"));
        assert_eq!(pc.namespace_display(), "file:///seatunnel/checkpoint/");
        let err =
            PluginConfig::from_map(&map(&[("ckpt.temp-gracee", "1s")]), &Configuration::new())
                .unwrap_err();
        assert!(
            matches!(err, ConfError::UnknownKey { ref closest, .. } if closest.as_deref() == Some("ckpt.temp-grace")),
            "{err}"
        );
    }

    #[test]
    fn a_namespace_naming_another_authority_without_a_scheme_is_refused() {
        // `//other/ns` names the authority `other` (as in Hadoop), not the path /other/ns.
        let plugin = map(&[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", "hdfs://ns1"),
            ("namespace", "//other/ns"),
        ]);
        let err = PluginConfig::from_map(&plugin, &Configuration::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("must be on the configured file system"),
            "{err}"
        );
        let plugin = map(&[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", "hdfs://ns1"),
            ("namespace", "//ns1/ckpt"),
        ]);
        let pc = PluginConfig::from_map(&plugin, &Configuration::new()).unwrap();
        assert_eq!(pc.namespace_display(), "hdfs://ns1/ckpt/");
    }

    #[test]
    fn stray_quotes_in_site_values_warn_unless_plugin_config_overrides_them() {
        let site = Configuration::from_pairs([
            ("dfs.replication", "2\""),
            ("dfs.blocksize", "'1m"),
            ("dfs.client.failover.proxy.provider.ns", "x.Y"),
        ]);
        let pc = PluginConfig::from_map(&map(&[("seatunnel.hadoop.dfs.blocksize", "1m")]), &site)
            .unwrap();
        assert_eq!(pc.warnings.len(), 2, "{:?}", pc.warnings);
        assert!(
            pc.warnings[0]
                .contains("dfs.client.failover.proxy.provider.ns (from the Hadoop site files)")
                && pc.warnings[0].contains("does not implement"),
            "{}",
            pc.warnings[0]
        );
        assert!(
            pc.warnings[1].contains("dfs.replication (from the Hadoop site files)")
                && pc.warnings[1].contains("unbalanced \""),
            "{}",
            pc.warnings[1]
        );
    }

    #[test]
    fn buckets_in_every_spelling() {
        for (value, want) in [
            ("s3a://my-bucket", "s3a://my-bucket/"),
            ("s3://my-bucket", "s3://my-bucket/"),
            ("my-bucket", "s3a://my-bucket/"),
        ] {
            let pc = PluginConfig::from_map(
                &map(&[("storage.type", "s3"), ("s3.bucket", value)]),
                &Configuration::new(),
            )
            .unwrap();
            assert_eq!(pc.default_fs.to_string(), want);
        }
        for bad in [
            "s3a:/my-bucket",
            "http://my-bucket",
            "s3a://My_Bucket",
            "s3a://b/x",
            "oss://my-bucket",
        ] {
            let err = PluginConfig::from_map(
                &map(&[("storage.type", "s3"), ("s3.bucket", bad)]),
                &Configuration::new(),
            )
            .unwrap_err();
            assert!(err.to_string().contains("s3.bucket"), "{bad}: {err}");
        }
        let err = PluginConfig::from_map(&map(&[("storage.type", "s3")]), &Configuration::new())
            .unwrap_err();
        assert!(err.to_string().contains("s3.bucket"));
        let pc = PluginConfig::from_map(
            &map(&[("storage.type", "oss"), ("oss.bucket", "oss://b-1")]),
            &Configuration::new(),
        )
        .unwrap();
        assert_eq!(pc.default_fs.to_string(), "oss://b-1/");
    }

    #[test]
    fn kerberos_keys_and_alias() {
        let base = [("storage.type", "hdfs"), ("fs.defaultFS", "hdfs://nn:8020")];
        for keytab_key in ["kerberosKeytabFilePath", "kerberosKeytab"] {
            let mut m = map(&base);
            m.insert("kerberosPrincipal".into(), "ckpt@EXAMPLE.COM".into());
            m.insert(keytab_key.into(), "/etc/ckpt.keytab".into());
            let pc = PluginConfig::from_map(&m, &Configuration::new()).unwrap();
            let login = pc.kerberos.unwrap();
            assert_eq!(login.principal, "ckpt@EXAMPLE.COM");
            assert_eq!(login.keytab, PathBuf::from("/etc/ckpt.keytab"));
            assert!(!pc.hadoop.contains(keytab_key));
            assert_eq!(
                pc.hadoop.get(KERBEROS_PRINCIPAL_KEY),
                Some("ckpt@EXAMPLE.COM")
            );
            assert_eq!(pc.hadoop.get(KERBEROS_KEYTAB_KEY), Some("/etc/ckpt.keytab"));
            assert_eq!(
                pc.hadoop.get("hadoop.security.authentication"),
                Some("kerberos")
            );
        }
        let mut m = map(&base);
        m.insert("kerberosPrincipal".into(), "ckpt@EXAMPLE.COM".into());
        let err = PluginConfig::from_map(&m, &Configuration::new()).unwrap_err();
        assert!(err.to_string().contains("kerberosKeytabFilePath"), "{err}");
    }

    #[test]
    fn unknown_storage_type_lists_the_accepted_ones() {
        let err = PluginConfig::from_map(&map(&[("storage.type", "ftp")]), &Configuration::new())
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("storage.type") && text.contains("local, hdfs, s3, oss"),
            "{text}"
        );
    }
}
