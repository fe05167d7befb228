//! The plugin-config keys ckpt knows, and the check that reports misspelt ones: an unknown
//! `ckpt.*` key is an error (the family is ckpt's own), any other unknown key a warning naming
//! the closest known key. Hadoop keys (known prefixes such as `fs.` or `dfs.`) pass silently.

use super::ConfError;

/// Plugin-config keys consumed by the mapping itself (not passed to the file system).
pub(crate) const PLUGIN_KEYS: &[&str] = &[
    "namespace",
    "storage.type",
    "s3.bucket",
    "oss.bucket",
    "kerberosPrincipal",
    "kerberosKeytabFilePath",
    "kerberosKeytab",
    "hdfs_site_path",
    "disable.cache",
];

/// ckpt's own keys: storage options, retries, HDFS writes and Kerberos.
pub const CKPT_KEYS: &[&str] = &[
    "ckpt.checksum",
    "ckpt.temp-grace",
    "ckpt.retry.max-elapsed",
    "ckpt.retry.max-attempts",
    "ckpt.retry.initial-backoff",
    "ckpt.retry.max-backoff",
    "ckpt.hdfs.write.replay-buffer",
    "ckpt.hdfs.namenode.call-timeout",
    "ckpt.kerberos.krb5-conf",
    "ckpt.kerberos.principal",
    "ckpt.kerberos.keytab",
];

/// File-system keys ckpt reads that are not under a Hadoop prefix, or that are worth
/// suggesting when misspelt.
const FS_KEYS: &[&str] = &["fs.defaultFS", "krb5_path", "java.security.krb5.conf"];

/// Prefixes of Hadoop configuration keys: passed to the file system without a word.
const HADOOP_PREFIXES: &[&str] = &[
    super::HADOOP_KEY_PREFIX,
    "fs.",
    "dfs.",
    "hadoop.",
    "ipc.",
    "io.",
    "ha.",
    "net.",
    "rpc.",
    "file.",
    "ftp.",
    "security.",
    "java.",
    "yarn.",
    "mapreduce.",
];

/// The prefix of ckpt's own keys.
const CKPT_PREFIX: &str = "ckpt.";

/// Checks plugin-config keys: `Err` for an unknown `ckpt.*` key, a warning for every other key
/// ckpt does not know and that has no Hadoop prefix (or differs from a known key only in
/// case). `unknown_fate` says what happens to such a key, e.g. "it is passed to the file
/// system as a Hadoop key".
pub fn check_plugin_keys<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    unknown_fate: &str,
) -> Result<Vec<String>, ConfError> {
    let mut warnings = Vec::new();
    let known: Vec<&str> = PLUGIN_KEYS
        .iter()
        .chain(CKPT_KEYS)
        .chain(FS_KEYS)
        .copied()
        .collect();
    for key in keys {
        if known.contains(&key) {
            continue;
        }
        if key.to_ascii_lowercase().starts_with(CKPT_PREFIX) {
            return Err(ConfError::UnknownKey {
                key: key.to_string(),
                closest: closest_key(key, CKPT_KEYS).map(str::to_string),
                known: CKPT_KEYS.join(", "),
            });
        }
        let same_but_case = known.iter().find(|k| k.eq_ignore_ascii_case(key));
        if let Some(k) = same_but_case {
            warnings.push(format!(
                "plugin-config key {key} is not a key ckpt knows (did you mean {k}? keys are case-sensitive); {unknown_fate}"
            ));
            continue;
        }
        if HADOOP_PREFIXES.iter().any(|p| key.starts_with(p)) {
            continue;
        }
        let hint = closest_key(key, &known)
            .map(|k| format!(" (did you mean {k}?)"))
            .unwrap_or_default();
        warnings.push(format!(
            "plugin-config key {key} is not a key ckpt knows{hint}; {unknown_fate}"
        ));
    }
    Ok(warnings)
}

/// The candidate closest to `key` by edit distance (case-insensitive, transpositions count
/// once), if it is close enough to be a likely typo.
pub fn closest_key<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let key = key.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&key, &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(distance, c)| *distance <= 2 || distance * 3 <= c.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FATE: &str = "passed on";

    #[test]
    fn typos_get_the_closest_key() {
        assert_eq!(closest_key("namepsace", PLUGIN_KEYS), Some("namespace"));
        assert_eq!(
            closest_key("ckpt.temp-gracee", CKPT_KEYS),
            Some("ckpt.temp-grace")
        );
        assert_eq!(
            closest_key("kerberosKeytabPath", PLUGIN_KEYS),
            Some("kerberosKeytabFilePath")
        );
        assert_eq!(closest_key("K1", PLUGIN_KEYS), None);
        assert_eq!(closest_key("ckpt.whatever", CKPT_KEYS), None);
    }

    #[test]
    fn unknown_ckpt_keys_are_errors_and_other_unknown_keys_warnings() {
        let err = check_plugin_keys(["ckpt.checksum", "CKPT.checksums"], FATE)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CKPT.checksums") && err.contains("did you mean ckpt.checksum?"),
            "{err}"
        );
        let warnings = check_plugin_keys(
            [
                "namepsace",
                "K1",
                "fs.defaultfs",
                "fs.s3a.endpoint",
                "dfs.replication",
                "seatunnel.hadoop.anything",
                "krb5_path",
            ],
            FATE,
        )
        .unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("namepsace") && warnings[0].contains("did you mean namespace?")
        );
        assert!(warnings[1].contains("K1") && !warnings[1].contains("did you mean"));
        assert!(warnings[2].contains("did you mean fs.defaultFS? keys are case-sensitive"));
        assert!(warnings.iter().all(|w| w.ends_with(FATE)));
    }

    #[test]
    fn every_ckpt_key_constant_is_known() {
        for key in [
            crate::checkpoint::CHECKSUM_KEY,
            crate::checkpoint::TEMP_GRACE_KEY,
            crate::fs::retry::MAX_ELAPSED_KEY,
            crate::fs::retry::MAX_ATTEMPTS_KEY,
            crate::fs::retry::INITIAL_BACKOFF_KEY,
            crate::fs::retry::MAX_BACKOFF_KEY,
            super::super::KERBEROS_PRINCIPAL_KEY,
            super::super::KERBEROS_KEYTAB_KEY,
        ] {
            assert!(CKPT_KEYS.contains(&key), "{key}");
        }
        #[cfg(feature = "hdfs")]
        assert!(CKPT_KEYS.contains(&crate::fs::hdfs::REPLAY_BUFFER_KEY));
        assert!(CKPT_KEYS.contains(&crate::fs::hdfs::CALL_TIMEOUT_KEY));
        #[cfg(feature = "kerberos")]
        for key in crate::fs::kerberos::KRB5_CONF_KEYS {
            assert!(CKPT_KEYS.contains(&key) || FS_KEYS.contains(&key), "{key}");
        }
    }
}
