//! Pure logic of `viewfs://`: Hadoop's client-side mount table read from the configuration,
//! and the mapping of view paths to target paths and back. No I/O.
//!
//! Keys, as in Hadoop's `ViewFileSystem` (`<c>` is the cluster, the authority of
//! `viewfs://<c>/`; `viewfs:///` means the cluster named by
//! `fs.viewfs.mounttable.default.name.key`, itself `default` when unset):
//!
//! | key | meaning |
//! |---|---|
//! | `fs.viewfs.mounttable.<c>.link./view/path` | `/view/path` and everything under it is served by the target URI (e.g. `hdfs://ns1/data`) |
//! | `fs.viewfs.mounttable.<c>.linkFallback` | paths under no link (and outside the mount points' parents) are served by this target |
//! | `fs.viewfs.mounttable.<c>.homedir` | accepted; ckpt always uses absolute paths |
//!
//! `linkMerge`, `linkMergeSlash`, `linkNfly` and `linkRegx` are refused with an error naming
//! the key. The parents of mount points are the table's read-only internal directories.

use std::collections::BTreeSet;

use crate::conf::Configuration;
use crate::fs::{FsError, FsResult, Path};

/// Prefix of every mount-table key.
pub const MOUNTTABLE_PREFIX: &str = "fs.viewfs.mounttable";
/// Names the cluster that `viewfs:///` (no authority) means.
pub const DEFAULT_CLUSTER_KEY: &str = "fs.viewfs.mounttable.default.name.key";
/// The cluster `viewfs:///` means when [`DEFAULT_CLUSTER_KEY`] is unset.
pub const DEFAULT_CLUSTER: &str = "default";

/// Link kinds Hadoop knows that ckpt does not serve.
const UNSUPPORTED_LINK_KINDS: &[&str] = &["linkMergeSlash", "linkMerge", "linkNfly", "linkRegx"];

/// One `link.<source>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The view path it mounts, normalised (`/a/b`), never `/`.
    pub source: String,
    /// The target URI, qualified (`hdfs://ns1/data`).
    pub target: Path,
    /// The configuration key it came from, for error messages.
    pub key: String,
}

/// The mount table of one viewfs cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountTable {
    cluster: String,
    links: Vec<Link>,
    fallback: Option<Path>,
}

/// Where a view path lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<'a> {
    /// On a link's target (the path is the link's source or beneath it).
    Link {
        /// The link.
        link: &'a Link,
        /// The path on the target.
        target: Path,
    },
    /// A read-only internal directory of the table (a proper ancestor of some link source).
    Internal {
        /// The names of the entries the table itself puts in it (sorted).
        children: Vec<String>,
        /// The same directory on the fallback target, when there is one.
        fallback: Option<Path>,
    },
    /// Under no link: served by `linkFallback`.
    Fallback {
        /// The fallback target (the `linkFallback` URI).
        base: &'a Path,
        /// The path on it.
        target: Path,
    },
    /// Under no link, and there is no fallback.
    Unmounted,
}

impl MountTable {
    /// The cluster a `viewfs://` root names: its authority, or the default cluster.
    pub fn cluster_of(root: &Path, conf: &Configuration) -> String {
        match root.authority() {
            Some(cluster) => cluster.to_string(),
            None => conf
                .get(DEFAULT_CLUSTER_KEY)
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .unwrap_or(DEFAULT_CLUSTER)
                .to_string(),
        }
    }

    /// Reads the mount table of `cluster` from `conf`.
    ///
    /// Errors ([`FsError::Config`], naming the key): no link and no fallback; a link source
    /// that is not an absolute path or is `/`; a target that is not a URI with a scheme;
    /// a `viewfs` target; a link nested in another; an unsupported link kind.
    pub fn from_conf(cluster: &str, conf: &Configuration) -> FsResult<MountTable> {
        let prefix = format!("{MOUNTTABLE_PREFIX}.{cluster}.");
        let mut links = Vec::new();
        let mut fallback = None;
        for (key, value) in conf.iter() {
            let Some(suffix) = key.strip_prefix(&prefix) else {
                continue;
            };
            if let Some(source) = suffix.strip_prefix("link.") {
                let source = link_source(key, source)?;
                let target = link_target(key, value)?;
                links.push(Link {
                    source,
                    target,
                    key: key.to_string(),
                });
            } else if suffix == "linkFallback" {
                fallback = Some(link_target(key, value)?);
            } else if let Some(kind) = UNSUPPORTED_LINK_KINDS
                .iter()
                .find(|kind| suffix == **kind || suffix.starts_with(&format!("{kind}.")))
            {
                return Err(FsError::Config {
                    key: key.to_string(),
                    message: format!(
                        "{kind} mount links are not supported by ckpt's viewfs; \
                         use link.<path> entries and at most one linkFallback"
                    ),
                });
            } else if suffix != "homedir" && suffix != "name.key" {
                tracing::warn!(key, "unknown viewfs mount-table key; ignored");
            }
        }
        links.sort_by(|a, b| a.source.cmp(&b.source));
        for pair in links.windows(2) {
            let (outer, inner) = (&pair[0], &pair[1]);
            if is_under(&inner.source, &outer.source) {
                return Err(FsError::Config {
                    key: inner.key.clone(),
                    message: format!(
                        "{} lies inside the mount point {} ({}); links cannot be nested",
                        inner.source, outer.source, outer.key
                    ),
                });
            }
        }
        if links.is_empty() && fallback.is_none() {
            return Err(FsError::Config {
                key: format!("{prefix}link./<path>"),
                message: format!(
                    "viewfs://{cluster}/ has no mount table: set {prefix}link./<path> \
                     (e.g. {prefix}link./seatunnel: hdfs://<nameservice>/seatunnel) or \
                     {prefix}linkFallback, with the seatunnel.hadoop. prefix in plugin-config \
                     or in core-site.xml"
                ),
            });
        }
        Ok(MountTable {
            cluster: cluster.to_string(),
            links,
            fallback,
        })
    }

    /// The cluster name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The links, sorted by source.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The fallback target, if any.
    pub fn fallback(&self) -> Option<&Path> {
        self.fallback.as_ref()
    }

    /// Every target URI (links, then the fallback).
    pub fn targets(&self) -> impl Iterator<Item = &Path> {
        self.links
            .iter()
            .map(|l| &l.target)
            .chain(self.fallback.iter())
    }

    /// Where the normalised absolute view path `path` lives.
    pub fn resolve(&self, path: &str) -> FsResult<Resolution<'_>> {
        if let Some(link) = self.links.iter().find(|l| is_under(path, &l.source)) {
            let target = below(&link.target, &path[link.source.len()..])?;
            return Ok(Resolution::Link { link, target });
        }
        let children: BTreeSet<String> = self
            .links
            .iter()
            .filter_map(|l| child_towards(path, &l.source))
            .collect();
        let fallback = match &self.fallback {
            Some(base) => Some((base, below(base, path)?)),
            None => None,
        };
        if !children.is_empty() {
            return Ok(Resolution::Internal {
                children: children.into_iter().collect(),
                fallback: fallback.map(|(_, target)| target),
            });
        }
        Ok(match fallback {
            Some((base, target)) => Resolution::Fallback { base, target },
            None => Resolution::Unmounted,
        })
    }

    /// The view path (`/a/b`) of `target`, a path on the target `base` that was mounted at
    /// `source` (`/` for the fallback); `None` when `target` is not under `base`.
    pub fn view_path(source: &str, base: &Path, target: &Path) -> Option<String> {
        if !target.starts_with(base) {
            return None;
        }
        let rest = if base.is_root() {
            target.path()
        } else {
            &target.path()[base.path().len()..]
        };
        let rest = rest.trim_start_matches('/');
        Some(match (source, rest) {
            (s, "") => s.to_string(),
            ("/", r) => format!("/{r}"),
            (s, r) => format!("{s}/{r}"),
        })
    }
}

/// `path` equals `ancestor` or lies beneath it (both normalised, absolute).
fn is_under(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// When `dir` is a proper ancestor of `source`, the name of `dir`'s entry on the way to it.
fn child_towards(dir: &str, source: &str) -> Option<String> {
    if dir == source || !is_under(source, dir) {
        return None;
    }
    let rest = if dir == "/" {
        &source[1..]
    } else {
        &source[dir.len() + 1..]
    };
    rest.split('/').next().map(str::to_string)
}

/// `base` extended by the view-path remainder `rest` (`""` or `/x/y`).
fn below(base: &Path, rest: &str) -> FsResult<Path> {
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        Ok(base.clone())
    } else {
        base.join(rest)
    }
}

fn link_source(key: &str, source: &str) -> FsResult<String> {
    let invalid = |reason: String| FsError::Config {
        key: key.to_string(),
        message: reason,
    };
    if !source.starts_with('/') {
        return Err(invalid(format!(
            "the mount point {source:?} must be an absolute path (link./data)"
        )));
    }
    let parsed = Path::parse(source).map_err(|e| invalid(e.to_string()))?;
    if parsed.scheme().is_some() {
        return Err(invalid(format!(
            "the mount point {source:?} must be a plain path"
        )));
    }
    if parsed.is_root() {
        return Err(invalid(
            "a link cannot mount /; use linkFallback for everything under no other link"
                .to_string(),
        ));
    }
    Ok(parsed.path().to_string())
}

fn link_target(key: &str, value: &str) -> FsResult<Path> {
    let invalid = |reason: String| FsError::Config {
        key: key.to_string(),
        message: reason,
    };
    let value = value.trim();
    let target = Path::parse(value).map_err(|e| invalid(e.to_string()))?;
    match target.scheme() {
        None => Err(invalid(format!(
            "the target {value:?} needs a scheme and authority, e.g. hdfs://<nameservice>/data"
        ))),
        Some("viewfs") => Err(invalid(format!(
            "the target {value:?} is itself a viewfs URI; mount the real file system instead"
        ))),
        Some(_) => Ok(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(pairs: &[(&str, &str)]) -> FsResult<MountTable> {
        MountTable::from_conf("c", &Configuration::from_pairs(pairs.iter().copied()))
    }

    fn p(s: &str) -> Path {
        Path::parse(s).unwrap()
    }

    #[test]
    fn links_and_fallback_resolve() {
        let t = table(&[
            ("fs.viewfs.mounttable.c.link./data/ckpt", "hdfs://ns1/ckpt"),
            ("fs.viewfs.mounttable.c.link./logs", "hdfs://nn:8020/"),
            ("fs.viewfs.mounttable.c.linkFallback", "hdfs://ns2/rest"),
        ])
        .unwrap();
        match t.resolve("/data/ckpt/1/a.ser").unwrap() {
            Resolution::Link { link, target } => {
                assert_eq!(link.source, "/data/ckpt");
                assert_eq!(target, p("hdfs://ns1/ckpt/1/a.ser"));
            }
            other => panic!("{other:?}"),
        }
        match t.resolve("/data/ckpt").unwrap() {
            Resolution::Link { target, .. } => assert_eq!(target, p("hdfs://ns1/ckpt")),
            other => panic!("{other:?}"),
        }
        match t.resolve("/logs/x").unwrap() {
            Resolution::Link { target, .. } => assert_eq!(target, p("hdfs://nn:8020/x")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            t.resolve("/").unwrap(),
            Resolution::Internal {
                children: vec!["data".into(), "logs".into()],
                fallback: Some(p("hdfs://ns2/rest")),
            }
        );
        assert_eq!(
            t.resolve("/data").unwrap(),
            Resolution::Internal {
                children: vec!["ckpt".into()],
                fallback: Some(p("hdfs://ns2/rest/data")),
            }
        );
        // A sibling whose name only starts like a mount point is not under it.
        assert_eq!(
            t.resolve("/data/ckpt2").unwrap(),
            Resolution::Fallback {
                base: &p("hdfs://ns2/rest"),
                target: p("hdfs://ns2/rest/data/ckpt2")
            }
        );
    }

    #[test]
    fn without_fallback_other_paths_are_unmounted() {
        let t = table(&[("fs.viewfs.mounttable.c.link./a", "hdfs://ns1/a")]).unwrap();
        assert_eq!(t.resolve("/b").unwrap(), Resolution::Unmounted);
        assert_eq!(
            t.resolve("/").unwrap(),
            Resolution::Internal {
                children: vec!["a".into()],
                fallback: None
            }
        );
    }

    #[test]
    fn other_clusters_keys_are_not_read() {
        let err = table(&[("fs.viewfs.mounttable.other.link./a", "hdfs://ns1/a")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("fs.viewfs.mounttable.c.link./<path>"),
            "{text}"
        );
        assert!(text.contains("seatunnel.hadoop."), "{text}");
    }

    #[test]
    fn bad_tables_name_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("fs.viewfs.mounttable.c.link.data", "hdfs://ns/a")],
                "fs.viewfs.mounttable.c.link.data",
            ),
            (
                &[("fs.viewfs.mounttable.c.link./", "hdfs://ns/a")],
                "fs.viewfs.mounttable.c.link./",
            ),
            (
                &[("fs.viewfs.mounttable.c.link./a", "/no/scheme")],
                "fs.viewfs.mounttable.c.link./a",
            ),
            (
                &[("fs.viewfs.mounttable.c.link./a", "viewfs://c/b")],
                "fs.viewfs.mounttable.c.link./a",
            ),
            (
                &[("fs.viewfs.mounttable.c.linkMergeSlash", "hdfs://ns/")],
                "fs.viewfs.mounttable.c.linkMergeSlash",
            ),
            (
                &[(
                    "fs.viewfs.mounttable.c.linkNfly..minReplication=3./a",
                    "hdfs://x/a",
                )],
                "fs.viewfs.mounttable.c.linkNfly..minReplication=3./a",
            ),
            (
                &[
                    ("fs.viewfs.mounttable.c.link./a", "hdfs://ns/a"),
                    ("fs.viewfs.mounttable.c.link./a/b", "hdfs://ns/b"),
                ],
                "fs.viewfs.mounttable.c.link./a/b",
            ),
        ];
        for (pairs, key) in cases {
            match table(pairs) {
                Err(FsError::Config { key: got, message }) => {
                    assert_eq!(&got, key, "{message}")
                }
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn default_cluster() {
        let conf = Configuration::new();
        assert_eq!(MountTable::cluster_of(&p("viewfs:///x"), &conf), "default");
        assert_eq!(MountTable::cluster_of(&p("viewfs://prod/x"), &conf), "prod");
        let conf = Configuration::from_pairs([(DEFAULT_CLUSTER_KEY, "prod")]);
        assert_eq!(MountTable::cluster_of(&p("viewfs:///x"), &conf), "prod");
    }

    #[test]
    fn view_paths_map_back() {
        let base = p("hdfs://ns1/ckpt");
        assert_eq!(
            MountTable::view_path("/data/ckpt", &base, &p("hdfs://ns1/ckpt/1/x")),
            Some("/data/ckpt/1/x".into())
        );
        assert_eq!(
            MountTable::view_path("/data/ckpt", &base, &p("hdfs://ns1/ckpt")),
            Some("/data/ckpt".into())
        );
        assert_eq!(
            MountTable::view_path("/", &p("hdfs://ns1/"), &p("hdfs://ns1/a")),
            Some("/a".into())
        );
        assert_eq!(
            MountTable::view_path("/d", &base, &p("hdfs://ns1/ckpt2")),
            None
        );
        assert_eq!(
            MountTable::view_path("/d", &base, &p("hdfs://ns2/ckpt/x")),
            None
        );
    }

    fn segment() -> impl Strategy<Value = String> {
        "[a-c]{1,2}"
    }

    fn view_path() -> impl Strategy<Value = String> {
        prop::collection::vec(segment(), 1..5).prop_map(|s| format!("/{}", s.join("/")))
    }

    proptest! {
        // Whatever the table, a path under a link maps to the target and back to itself,
        // and a path under no link is internal, fallback or unmounted, never a link.
        #[test]
        fn resolution_round_trips(sources in prop::collection::btree_set(view_path(), 1..4),
                                  probe in view_path(), with_fallback in any::<bool>()) {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for (i, s) in sources.iter().enumerate() {
                pairs.push((format!("fs.viewfs.mounttable.c.link.{s}"), format!("hdfs://ns{i}/t{i}")));
            }
            if with_fallback {
                pairs.push(("fs.viewfs.mounttable.c.linkFallback".into(), "hdfs://fb/base".into()));
            }
            let conf = Configuration::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let nested = sources.iter().any(|a| sources.iter().any(|b| a != b && is_under(b, a)));
            let table = match MountTable::from_conf("c", &conf) {
                Ok(t) => { prop_assert!(!nested); t }
                Err(_) => { prop_assert!(nested); return Ok(()); }
            };
            match table.resolve(&probe).unwrap() {
                Resolution::Link { link, target } => {
                    prop_assert!(is_under(&probe, &link.source));
                    prop_assert_eq!(MountTable::view_path(&link.source, &link.target, &target), Some(probe.clone()));
                }
                Resolution::Internal { children, .. } => {
                    prop_assert!(!children.is_empty());
                    for c in children {
                        let child = if probe == "/" { format!("/{c}") } else { format!("{probe}/{c}") };
                        prop_assert!(sources.iter().any(|s| is_under(s, &child)));
                    }
                }
                Resolution::Fallback { base, target } => {
                    prop_assert_eq!(base, &p("hdfs://fb/base"));
                    prop_assert!(with_fallback);
                    prop_assert!(!sources.iter().any(|s| is_under(&probe, s) || is_under(s, &probe)));
                    prop_assert_eq!(MountTable::view_path("/", &p("hdfs://fb/base"), &target), Some(probe.clone()));
                }
                Resolution::Unmounted => {
                    prop_assert!(!with_fallback);
                    prop_assert!(!sources.iter().any(|s| is_under(&probe, s) || is_under(s, &probe)));
                }
            }
        }
    }
}
