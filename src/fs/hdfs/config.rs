//! Pure configuration logic of the HDFS backend: which NameNodes a URI names, the HA checks
//! that turn an unknown nameservice into a clear error, and the options handed to hdfs-native.

use crate::conf::{ConfError, Configuration, HADOOP_KEY_PREFIX};
use crate::fs::{FsError, FsResult, Path};

/// Configuration key: the size of the in-memory replay buffer of one HDFS writer. A write or
/// close that fails with a retryable error (NameNode failover, DataNode pipeline failure) is
/// replayed from this buffer into a fresh file; a file larger than this is not replayed and the
/// error is returned to the caller instead. Whole-file writes (`FileSystem::write`, which is how
/// checkpoints are stored) replay from the caller's buffer at any size.
pub const REPLAY_BUFFER_KEY: &str = "ckpt.hdfs.write.replay-buffer";
/// Default of [`REPLAY_BUFFER_KEY`]: 64 MiB.
pub const DEFAULT_REPLAY_BUFFER: u64 = 64 << 20;

/// Configuration key: the longest one NameNode call may take (connect, request and reply,
/// hdfs-native's own failover between NameNodes included) before ckpt gives up on it, drops
/// the client's connections and tries again under `ckpt.retry.*`. A NameNode that accepts
/// connections but never answers (a half-open connection, a hung process) cannot hang a
/// store beyond it. Each call is also cut at the end of the operation's time budget.
pub const CALL_TIMEOUT_KEY: &str = "ckpt.hdfs.namenode.call-timeout";
/// Default of [`CALL_TIMEOUT_KEY`]: 15 s.
pub const DEFAULT_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Reads [`CALL_TIMEOUT_KEY`] (Hadoop durations; a bare number is milliseconds; more than 0).
pub fn call_timeout(conf: &Configuration) -> Result<std::time::Duration, ConfError> {
    let timeout = conf.get_duration(
        CALL_TIMEOUT_KEY,
        std::time::Duration::from_millis(1),
        DEFAULT_CALL_TIMEOUT,
    )?;
    if timeout.is_zero() {
        return Err(ConfError::invalid(
            CALL_TIMEOUT_KEY,
            "0",
            "a duration longer than 0 (e.g. 15s)",
        ));
    }
    Ok(timeout)
}

/// hdfs-native's own failover loop: how many times it moves to another NameNode in one call.
const FAILOVER_MAX_ATTEMPTS: &str = "dfs.client.failover.max.attempts";

/// How new files are laid out: `dfs.replication` and `dfs.blocksize` of the client
/// configuration, which Hadoop's client sends with every create; `None` (unset) leaves the
/// choice to the NameNode's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileLayout {
    /// Replicas of each block.
    pub replication: Option<u32>,
    /// Block size in bytes.
    pub block_size: Option<u64>,
}

impl FileLayout {
    /// Reads `dfs.replication` (1 to 32767, as HDFS stores it in 16 bits) and `dfs.blocksize`
    /// (Hadoop sizes such as `128m`).
    pub fn from_conf(conf: &Configuration) -> Result<FileLayout, ConfError> {
        let replication = match conf.get(REPLICATION_KEY) {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|r| (1..=i16::MAX as u32).contains(r))
                    .ok_or_else(|| ConfError::Invalid {
                        key: REPLICATION_KEY.to_string(),
                        value: v.to_string(),
                        reason: "expected a replication factor from 1 to 32767".to_string(),
                    })?,
            ),
        };
        let block_size = match conf.contains(BLOCK_SIZE_KEY) {
            false => None,
            true => Some(conf.get_size(BLOCK_SIZE_KEY, 0)?),
        };
        Ok(FileLayout {
            replication,
            block_size,
        })
    }
}

/// Hadoop's client key for the replication of new files.
const REPLICATION_KEY: &str = "dfs.replication";
/// Hadoop's client key for the block size of new files.
const BLOCK_SIZE_KEY: &str = "dfs.blocksize";

/// Where an `hdfs://` authority points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HdfsTarget {
    /// One NameNode at `host:port`.
    NameNode {
        /// `host:port`.
        address: String,
    },
    /// An HA nameservice and its NameNodes (`(id, host:port)`, in configuration order).
    NameService {
        /// The logical name.
        nameservice: String,
        /// The NameNodes.
        namenodes: Vec<(String, String)>,
    },
}

impl HdfsTarget {
    /// The NameNodes in words, for errors: `NameNode at h:p`, or `NameNode nn1 at h1:p1 and
    /// NameNode nn2 at h2:p2 of nameservice ns1`.
    pub fn describe(&self) -> String {
        match self {
            HdfsTarget::NameNode { address } => format!("NameNode at {address}"),
            HdfsTarget::NameService {
                nameservice,
                namenodes,
            } => {
                let each: Vec<String> = namenodes
                    .iter()
                    .map(|(id, address)| format!("NameNode {id} at {address}"))
                    .collect();
                format!("{} of nameservice {nameservice}", each.join(" and "))
            }
        }
    }

    /// How many NameNodes the target has.
    pub fn namenode_count(&self) -> usize {
        match self {
            HdfsTarget::NameNode { .. } => 1,
            HdfsTarget::NameService { namenodes, .. } => namenodes.len(),
        }
    }
}

/// Works out the NameNodes for `root` (`hdfs://host:port` or `hdfs://nameservice`) from
/// `conf`. A nameservice must have `dfs.ha.namenodes.<ns>` and one
/// `dfs.namenode.rpc-address.<ns>.<nn>` per NameNode; otherwise the error names exactly the
/// missing keys and where they can be set.
pub fn resolve_target(root: &Path, conf: &Configuration) -> FsResult<HdfsTarget> {
    let authority = root.authority().unwrap_or("").trim();
    if authority.is_empty() {
        return Err(FsError::Config {
            key: "fs.defaultFS".to_string(),
            message: format!(
                "{root} names no NameNode: use hdfs://host:port for one NameNode or hdfs://<nameservice> for HA"
            ),
        });
    }
    if authority.contains('@') {
        // `root` shows the password redacted.
        return Err(FsError::Config {
            key: "fs.defaultFS".to_string(),
            message: format!(
                "{root}: an HDFS URI carries no user name or password; write hdfs://host:port or hdfs://<nameservice> (Kerberos: kerberosPrincipal and kerberosKeytabFilePath)"
            ),
        });
    }
    if let Some((host, port)) = authority.rsplit_once(':') {
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(FsError::Config {
                key: "fs.defaultFS".to_string(),
                message: format!(
                    "{root}: expected hdfs://host:port (port 1-65535) or hdfs://<nameservice>"
                ),
            });
        }
        return Ok(HdfsTarget::NameNode {
            address: authority.to_string(),
        });
    }
    let ns = authority;
    let namenodes_key = format!("dfs.ha.namenodes.{ns}");
    let ids = conf.get_list(&namenodes_key);
    let mut missing = Vec::new();
    let mut namenodes = Vec::new();
    if ids.is_empty() {
        missing.push(namenodes_key.clone());
        missing.push(format!(
            "dfs.namenode.rpc-address.{ns}.<nn> for each NameNode"
        ));
    }
    for id in &ids {
        let key = format!("dfs.namenode.rpc-address.{ns}.{id}");
        match conf.get(&key) {
            Some(address) => namenodes.push((id.clone(), address.to_string())),
            None => missing.push(key),
        }
    }
    if !missing.is_empty() {
        let key = missing[0].clone();
        return Err(FsError::Config {
            key,
            message: format!(
                "hdfs://{ns} has no port, so it must be an HA nameservice, but {} {} not set. \
                 Set them in plugin-config with the {HADOOP_KEY_PREFIX} prefix (e.g. \
                 {HADOOP_KEY_PREFIX}{namenodes_key}: nn1,nn2 and \
                 {HADOOP_KEY_PREFIX}dfs.namenode.rpc-address.{ns}.nn1: host1:8020), in hdfs-site.xml \
                 under HADOOP_CONF_DIR, or in the file named by hdfs_site_path; \
                 for a single NameNode use hdfs://host:port instead",
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
            ),
        });
    }
    Ok(HdfsTarget::NameService {
        nameservice: ns.to_string(),
        namenodes,
    })
}

/// The options handed to hdfs-native: every key of the effective configuration (our layering
/// is final; hdfs-native is told to read no site files itself), plus defaults that leave
/// backoff to our retry layer: hdfs-native makes one sweep over the NameNodes per call
/// (`dfs.client.failover.max.attempts` = NameNodes - 1) unless the user set it.
pub fn client_options(conf: &Configuration, target: &HdfsTarget) -> Vec<(String, String)> {
    let mut effective = conf.clone();
    effective.set_if_unset(
        FAILOVER_MAX_ATTEMPTS,
        target.namenode_count().saturating_sub(1).to_string(),
    );
    effective
        .iter()
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// [`client_options`] with the NameNodes of an HA nameservice tried first from number
/// `rotation` (modulo their count) on: a client rebuilt after a NameNode stopped answering
/// starts with the next one, instead of the one that hung.
pub fn rotated_client_options(
    conf: &Configuration,
    target: &HdfsTarget,
    rotation: usize,
) -> Vec<(String, String)> {
    let mut options = client_options(conf, target);
    if let HdfsTarget::NameService {
        nameservice,
        namenodes,
    } = target
        && !namenodes.is_empty()
    {
        let key = format!("dfs.ha.namenodes.{nameservice}");
        let first = rotation % namenodes.len();
        let order: Vec<&str> = namenodes[first..]
            .iter()
            .chain(&namenodes[..first])
            .map(|(id, _)| id.as_str())
            .collect();
        options.retain(|(k, _)| *k != key);
        options.push((key, order.join(",")));
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(s: &str) -> Path {
        Path::parse(s).unwrap().root()
    }

    #[test]
    fn host_and_port_is_one_namenode() {
        let t = resolve_target(&root("hdfs://127.0.0.1:9000"), &Configuration::new()).unwrap();
        assert_eq!(
            t,
            HdfsTarget::NameNode {
                address: "127.0.0.1:9000".into()
            }
        );
        assert_eq!(t.namenode_count(), 1);
        let err = resolve_target(&root("hdfs://nn:http"), &Configuration::new()).unwrap_err();
        assert!(err.to_string().contains("fs.defaultFS"), "{err}");
    }

    #[test]
    fn nameservice_with_all_keys() {
        let conf = Configuration::from_pairs([
            ("dfs.ha.namenodes.usdp-bing", "nn1, nn2"),
            ("dfs.namenode.rpc-address.usdp-bing.nn1", "h1:8020"),
            ("dfs.namenode.rpc-address.usdp-bing.nn2", "h2:8020"),
        ]);
        let t = resolve_target(&root("hdfs://usdp-bing"), &conf).unwrap();
        assert_eq!(
            t,
            HdfsTarget::NameService {
                nameservice: "usdp-bing".into(),
                namenodes: vec![
                    ("nn1".into(), "h1:8020".into()),
                    ("nn2".into(), "h2:8020".into())
                ],
            }
        );
    }

    #[test]
    fn nameservice_without_keys_names_them() {
        let err = resolve_target(&root("hdfs://usdp-bing"), &Configuration::new()).unwrap_err();
        let text = err.to_string();
        for want in [
            "dfs.ha.namenodes.usdp-bing",
            "dfs.namenode.rpc-address.usdp-bing.<nn>",
            "seatunnel.hadoop.",
            "HADOOP_CONF_DIR",
            "hdfs_site_path",
            "hdfs://host:port",
        ] {
            assert!(text.contains(want), "missing {want:?} in {text}");
        }
        assert!(
            matches!(err, FsError::Config { ref key, .. } if key == "dfs.ha.namenodes.usdp-bing")
        );
    }

    #[test]
    fn nameservice_with_a_missing_rpc_address_names_only_that_key() {
        let conf = Configuration::from_pairs([
            ("dfs.ha.namenodes.ns", "nn1,nn2,nn3"),
            ("dfs.namenode.rpc-address.ns.nn2", "h2:8020"),
        ]);
        let err = resolve_target(&root("hdfs://ns"), &conf).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("dfs.namenode.rpc-address.ns.nn1"), "{text}");
        assert!(text.contains("dfs.namenode.rpc-address.ns.nn3"), "{text}");
        assert!(!text.contains("rpc-address.ns.nn2"), "{text}");
        assert!(!text.contains("dfs.ha.namenodes.ns "), "{text}");
    }

    #[test]
    fn options_carry_every_key_and_leave_backoff_to_us() {
        let conf = Configuration::from_pairs([("dfs.replication", " 2 "), ("x.y", "z")]);
        let target = HdfsTarget::NameService {
            nameservice: "ns".into(),
            namenodes: vec![("a".into(), "h:1".into()), ("b".into(), "h:2".into())],
        };
        let opts = client_options(&conf, &target);
        assert!(opts.contains(&("dfs.replication".into(), "2".into())));
        assert!(opts.contains(&("x.y".into(), "z".into())));
        assert!(opts.contains(&(FAILOVER_MAX_ATTEMPTS.into(), "1".into())));
        let user = Configuration::from_pairs([(FAILOVER_MAX_ATTEMPTS, "9")]);
        assert!(
            client_options(&user, &target).contains(&(FAILOVER_MAX_ATTEMPTS.into(), "9".into()))
        );
    }

    #[test]
    fn file_layout_is_the_client_replication_and_block_size() {
        assert_eq!(
            FileLayout::from_conf(&Configuration::new()).unwrap(),
            FileLayout::default()
        );
        let conf = Configuration::from_pairs([("dfs.replication", " 2 "), ("dfs.blocksize", "1m")]);
        assert_eq!(
            FileLayout::from_conf(&conf).unwrap(),
            FileLayout {
                replication: Some(2),
                block_size: Some(1 << 20)
            }
        );
        for bad in ["0", "two", "40000"] {
            let err = FileLayout::from_conf(&Configuration::from_pairs([("dfs.replication", bad)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains("dfs.replication"), "{err}");
        }
        let err = FileLayout::from_conf(&Configuration::from_pairs([("dfs.blocksize", "big")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dfs.blocksize"), "{err}");
    }

    /// The rows of `dfs.client.block.write.replace-datanode-on-failure.policy` in Hadoop's
    /// hdfs-default.xml, for the hdfs-native build ckpt uses (vendor/PATCHES.md): with r the
    /// replication and n the DataNodes left, DEFAULT adds one only if r >= 3 and either
    /// floor(r/2) >= n, or r > n and the stream is appended or hflushed; ALWAYS whenever one was
    /// removed; NEVER (and enable=false) never. Nothing is added when none or all are left.
    #[test]
    fn replace_datanode_policy_follows_hadoop_table() {
        use hdfs_native::{ReplaceDatanodeOnFailure, ReplaceDatanodePolicy as P};
        // (policy, r, n, append, hflushed, replace?)
        let rows = [
            // DEFAULT, plain create: the case of issue 8 (r=3, one DataNode lost: continue)
            (P::Default, 3, 2, false, false, false),
            (P::Default, 3, 1, false, false, true),
            (P::Default, 3, 2, true, false, true),
            (P::Default, 3, 2, false, true, true),
            (P::Default, 2, 1, false, false, false),
            (P::Default, 2, 1, true, true, false),
            (P::Default, 1, 0, true, true, false),
            (P::Default, 4, 2, false, false, true),
            (P::Default, 4, 3, false, false, false),
            (P::Default, 4, 3, true, false, true),
            (P::Default, 5, 2, false, false, true),
            (P::Default, 5, 3, false, false, false),
            (P::Default, 5, 4, false, true, true),
            (P::Default, 3, 3, true, true, false),
            (P::Default, 3, 0, true, true, false),
            (P::Always, 3, 2, false, false, true),
            (P::Always, 2, 1, false, false, true),
            (P::Always, 3, 3, false, false, false),
            (P::Always, 3, 0, false, false, false),
            (P::Never, 3, 1, true, true, false),
            (P::Never, 5, 1, false, false, false),
            (P::Disable, 3, 1, true, true, false),
        ];
        for (policy, r, n, append, hflushed, want) in rows {
            for best_effort in [false, true] {
                let p = ReplaceDatanodeOnFailure::new(policy, best_effort);
                assert_eq!(
                    p.should_replace(r, n, append, hflushed),
                    want,
                    "{policy:?} r={r} n={n} append={append} hflushed={hflushed}"
                );
                assert_eq!(p.is_best_effort(), best_effort);
            }
        }
    }

    #[test]
    fn namenodes_in_words_and_rotated() {
        let single = HdfsTarget::NameNode {
            address: "h:8020".into(),
        };
        assert_eq!(single.describe(), "NameNode at h:8020");
        let ha = HdfsTarget::NameService {
            nameservice: "ns1".into(),
            namenodes: vec![("nn1".into(), "h1:1".into()), ("nn2".into(), "h2:2".into())],
        };
        assert_eq!(
            ha.describe(),
            "NameNode nn1 at h1:1 and NameNode nn2 at h2:2 of nameservice ns1"
        );
        let conf = Configuration::from_pairs([("dfs.ha.namenodes.ns1", "nn1, nn2")]);
        let order = |rotation| {
            rotated_client_options(&conf, &ha, rotation)
                .into_iter()
                .filter(|(k, _)| k == "dfs.ha.namenodes.ns1")
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
        };
        assert_eq!(order(0), vec!["nn1,nn2"]);
        assert_eq!(order(1), vec!["nn2,nn1"]);
        assert_eq!(order(2), vec!["nn1,nn2"]);
        assert_eq!(
            rotated_client_options(&conf, &single, 1),
            client_options(&conf, &single)
        );
    }

    #[test]
    fn call_timeout_reads_hadoop_durations_and_refuses_zero() {
        assert_eq!(
            call_timeout(&Configuration::new()).unwrap(),
            DEFAULT_CALL_TIMEOUT
        );
        let conf = Configuration::from_pairs([(CALL_TIMEOUT_KEY, "2s")]);
        assert_eq!(
            call_timeout(&conf).unwrap(),
            std::time::Duration::from_secs(2)
        );
        for bad in ["0", "soon", "-1s"] {
            let err = call_timeout(&Configuration::from_pairs([(CALL_TIMEOUT_KEY, bad)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(CALL_TIMEOUT_KEY), "{bad}: {err}");
        }
    }
}
