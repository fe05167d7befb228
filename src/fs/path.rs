//! Hadoop-style paths: `scheme://authority/absolute/path`, pure logic with no I/O.

use std::fmt;

use super::error::{FsError, FsResult};

/// A file system path with an optional scheme and authority, like Hadoop's `Path`.
///
/// The path part is always normalised: absolute paths start with `/`, there are no empty,
/// `.` or `..` segments and no trailing `/` (except the root itself). A path that climbs
/// above the root with `..` is rejected, so a path can never escape the tree it names.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    scheme: Option<String>,
    authority: Option<String>,
    path: String,
}

impl Path {
    /// Parses `scheme://authority/path`, `scheme:/path`, `/absolute` or `relative/path`.
    ///
    /// `//authority/path` without a scheme keeps its authority, as Hadoop's `Path` does: it is
    /// printed back as `//authority/path` and qualifies to the default scheme with that
    /// authority (see [`Path::qualify`]).
    pub fn parse(input: &str) -> FsResult<Path> {
        let invalid = |reason: &str| FsError::InvalidPath {
            path: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if trimmed.contains('\0') {
            return Err(invalid("the path contains a NUL character"));
        }
        let (scheme, rest) = match split_scheme(trimmed) {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, trimmed),
        };
        let (authority, raw_path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                let authority = &after[..end];
                let path = if end == after.len() {
                    "/"
                } else {
                    &after[end..]
                };
                let authority = (!authority.is_empty()).then(|| authority.to_string());
                (authority, path)
            }
            None => (None, rest),
        };
        if scheme.is_some() && !raw_path.starts_with('/') {
            return Err(invalid(
                "a path with a scheme must be absolute (scheme://authority/path)",
            ));
        }
        let path = normalize(raw_path).map_err(|reason| invalid(&reason))?;
        Ok(Path {
            scheme,
            authority,
            path,
        })
    }

    /// The URI scheme (`hdfs`, `file`, `s3a`...), lower case, if any.
    pub fn scheme(&self) -> Option<&str> {
        self.scheme.as_deref()
    }

    /// The authority (`host:port`, nameservice or bucket), if any.
    pub fn authority(&self) -> Option<&str> {
        self.authority.as_deref()
    }

    /// The normalised path part, e.g. `/seatunnel/checkpoint/1`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// True when the path part starts with `/`.
    pub fn is_absolute(&self) -> bool {
        self.path.starts_with('/')
    }

    /// True for the root directory `/`.
    pub fn is_root(&self) -> bool {
        self.path == "/"
    }

    /// The last segment of the path; empty for the root.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// The parent directory, or `None` for the root and for a single relative segment.
    pub fn parent(&self) -> Option<Path> {
        if self.is_root() {
            return None;
        }
        let idx = self.path.rfind('/')?;
        let parent = if idx == 0 {
            "/".to_string()
        } else {
            self.path[..idx].to_string()
        };
        Some(Path {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            path: parent,
        })
    }

    /// Appends a relative path (one or more segments) to this path.
    pub fn join(&self, child: &str) -> FsResult<Path> {
        if child.starts_with('/') || split_scheme(child).is_some() {
            return Err(FsError::InvalidPath {
                path: child.to_string(),
                reason: format!("cannot append an absolute path to {self}"),
            });
        }
        let combined = if self.path.ends_with('/') {
            format!("{}{child}", self.path)
        } else {
            format!("{}/{child}", self.path)
        };
        let path = normalize(&combined).map_err(|reason| FsError::InvalidPath {
            path: combined.clone(),
            reason,
        })?;
        if !is_within(&self.path, &path) {
            return Err(FsError::InvalidPath {
                path: child.to_string(),
                reason: format!("climbs out of {self}"),
            });
        }
        Ok(Path {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            path,
        })
    }

    /// Makes this path fully qualified against `default_fs` (the value of `fs.defaultFS`).
    ///
    /// A path with a scheme is returned as is; a path without one takes the scheme of
    /// `default_fs`, and its authority unless it names its own (`//authority/path`, as
    /// Hadoop's `Path.makeQualified` does); a relative path is taken relative to the root of
    /// `default_fs`.
    pub fn qualify(&self, default_fs: &Path) -> Path {
        if self.scheme.is_some() {
            return self.clone();
        }
        let path = if self.is_absolute() {
            self.path.clone()
        } else {
            format!("/{}", self.path)
        };
        Path {
            scheme: default_fs.scheme.clone(),
            authority: self
                .authority
                .clone()
                .or_else(|| default_fs.authority.clone()),
            path,
        }
    }

    /// The root of the file system this path lives on (same scheme and authority, path `/`).
    pub fn root(&self) -> Path {
        Path {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            path: "/".to_string(),
        }
    }

    /// True when `self` equals `ancestor` or lies beneath it (same scheme and authority).
    pub fn starts_with(&self, ancestor: &Path) -> bool {
        if self.scheme != ancestor.scheme || self.authority != ancestor.authority {
            return false;
        }
        ancestor.is_root()
            || self.path == ancestor.path
            || self
                .path
                .strip_prefix(&ancestor.path)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.scheme, &self.authority) {
            // A password in the authority is never shown (no backend uses one).
            (Some(scheme), Some(authority)) => write!(
                f,
                "{scheme}://{}{}",
                crate::conf::redact_authority(authority),
                self.path
            ),
            (Some(scheme), None) => write!(f, "{scheme}://{}", self.path),
            // `//authority/path` without a scheme: Hadoop's `Path.toString` keeps the
            // authority, so the text parses back to the same path.
            (None, Some(authority)) => write!(
                f,
                "//{}{}",
                crate::conf::redact_authority(authority),
                self.path
            ),
            // A relative path whose first segment looks like `scheme:` (`job.:x`) would parse
            // back as a scheme; `./` keeps it relative, as it is.
            (None, None) if split_scheme(&self.path).is_some() => write!(f, "./{}", self.path),
            (None, None) => f.write_str(&self.path),
        }
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

impl std::str::FromStr for Path {
    type Err = FsError;
    fn from_str(s: &str) -> FsResult<Path> {
        Path::parse(s)
    }
}

/// Splits `scheme:rest` when the text before the first `:` is a valid URI scheme.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let colon = input.find(':')?;
    let scheme = &input[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    // A single letter before ':' would be a Windows drive; no scheme is one letter long.
    let valid = first.is_ascii_alphabetic()
        && scheme.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| (scheme, &input[colon + 1..]))
}

/// Pairs each object key listed under `src_prefix` with its key under `dst_prefix` (the
/// directory rename of object stores). The keys come from the server's listing: one outside
/// `src_prefix` is a [`FsError::Backend`] error, never a slice out of bounds.
#[cfg(any(feature = "s3", feature = "oss"))]
pub(crate) fn rebase_keys(
    scheme: &str,
    keys: &[String],
    src_prefix: &str,
    dst_prefix: &str,
) -> FsResult<Vec<(String, String)>> {
    keys.iter()
        .map(|k| match k.strip_prefix(src_prefix) {
            Some(rest) => Ok((k.clone(), format!("{dst_prefix}{rest}"))),
            None => Err(FsError::Backend {
                scheme: scheme.to_string(),
                message: format!(
                    "the listing of {src_prefix:?} returned the key {k:?}, which is not under it; \
                     nothing was renamed (check the bucket's endpoint or any proxy in between)"
                ),
                retryable: false,
            }),
        })
        .collect()
}

/// True when the normalised `path` is `base` or lies beneath it, segment by segment (a text
/// prefix would take `/ns/jobx` for a child of `/ns/job`).
fn is_within(base: &str, path: &str) -> bool {
    fn segments(p: &str) -> Vec<&str> {
        p.split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect()
    }
    base.starts_with('/') == path.starts_with('/') && segments(path).starts_with(&segments(base))
}

/// Normalises a path part: collapses separators, resolves `.` and `..`, drops the trailing `/`.
fn normalize(raw: &str) -> Result<String, String> {
    let absolute = raw.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err("the path climbs above its root with '..'".to_string());
                }
            }
            other => segments.push(other),
        }
    }
    let joined = segments.join("/");
    Ok(match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_full_uris() {
        let p = Path::parse("hdfs://ns1/seatunnel/checkpoint/").unwrap();
        assert_eq!(p.scheme(), Some("hdfs"));
        assert_eq!(p.authority(), Some("ns1"));
        assert_eq!(p.path(), "/seatunnel/checkpoint");
        assert_eq!(p.to_string(), "hdfs://ns1/seatunnel/checkpoint");
        let local = Path::parse("file:///tmp/x").unwrap();
        assert_eq!(local.authority(), None);
        assert_eq!(local.to_string(), "file:///tmp/x");
        assert_eq!(Path::parse("file:/tmp/x").unwrap(), local);
        assert_eq!(Path::parse("s3a://bucket").unwrap().path(), "/");
    }

    #[test]
    fn qualifies_against_default_fs() {
        let fs = Path::parse("hdfs://127.0.0.1:9000").unwrap();
        let p = Path::parse("/a/b").unwrap().qualify(&fs);
        assert_eq!(p.to_string(), "hdfs://127.0.0.1:9000/a/b");
        let rel = Path::parse("a/b").unwrap().qualify(&fs);
        assert_eq!(rel.to_string(), "hdfs://127.0.0.1:9000/a/b");
        let other = Path::parse("file:///x").unwrap();
        assert_eq!(other.qualify(&fs), other);
    }

    #[test]
    fn a_relative_path_with_a_colon_in_its_first_segment_prints_back_relative() {
        // The fuzzer's find: `b/../job.:x` normalised to `job.:x`, which parsed as scheme `job.`.
        let p = Path::parse("b//../jobjO1.:.sertmp").unwrap();
        assert_eq!((p.scheme(), p.path()), (None, "jobjO1.:.sertmp"));
        assert_eq!(p.to_string(), "./jobjO1.:.sertmp");
        assert_eq!(Path::parse(&p.to_string()).unwrap(), p);
        // A colon after the first slash is not a scheme: printed as it is.
        assert_eq!(Path::parse("a/b:c").unwrap().to_string(), "a/b:c");
    }

    #[test]
    fn an_authority_without_a_scheme_is_kept_as_hadoop_keeps_it() {
        // The fuzzer's find: the authority was parsed but not printed.
        let p = Path::parse("//\x0f").unwrap();
        assert_eq!(
            (p.scheme(), p.authority(), p.path()),
            (None, Some("\x0f"), "/")
        );
        assert_eq!(p.to_string(), "//\x0f/");
        assert_eq!(Path::parse(&p.to_string()).unwrap(), p);
        let p = Path::parse("//nn2:8020/a/b/").unwrap();
        assert_eq!(p.to_string(), "//nn2:8020/a/b");
        // Qualified: the default scheme, its own authority (Hadoop's makeQualified).
        let fs = Path::parse("hdfs://ns1").unwrap();
        assert_eq!(p.qualify(&fs).to_string(), "hdfs://nn2:8020/a/b");
        assert!(!p.qualify(&fs).starts_with(&fs));
        // `//` and `///x` name no authority.
        assert_eq!(Path::parse("//").unwrap().to_string(), "/");
        assert_eq!(Path::parse("///x").unwrap().to_string(), "/x");
        assert_eq!(
            Path::parse("///x").unwrap().qualify(&fs).to_string(),
            "hdfs://ns1/x"
        );
    }

    #[test]
    fn rejects_escapes_and_garbage() {
        assert!(Path::parse("/../etc").is_err());
        assert!(Path::parse("").is_err());
        assert!(Path::parse("hdfs:relative").is_err());
        let base = Path::parse("/ns/job").unwrap();
        assert!(base.join("../../etc").is_err());
        assert!(base.join("/abs").is_err());
        assert_eq!(base.join("a/./b").unwrap().path(), "/ns/job/a/b");
    }

    #[test]
    fn join_containment_compares_components_not_text() {
        // `/ns/jobx` starts with the text `/ns/job` but is not inside it.
        let base = Path::parse("/ns/job").unwrap();
        assert!(base.join("../jobx").is_err());
        assert!(base.join("../job2/x").is_err());
        assert!(base.join("..").is_err());
        assert_eq!(base.join("x/../y").unwrap().path(), "/ns/job/y");
        assert_eq!(base.join(".").unwrap(), base);
        let uri = Path::parse("s3a://b/ns/job").unwrap();
        assert!(uri.join("../jobx/1.ser").is_err());
        let root = Path::parse("hdfs://nn/").unwrap();
        assert_eq!(root.join("a/../b").unwrap().to_string(), "hdfs://nn/b");
        let relative = Path::parse("ns/job").unwrap();
        assert!(relative.join("../jobx").is_err());
        assert_eq!(relative.join("x").unwrap().path(), "ns/job/x");
    }

    #[test]
    fn parent_name_and_ancestry() {
        let p = Path::parse("s3a://b/x/y.ser").unwrap();
        assert_eq!(p.name(), "y.ser");
        assert_eq!(p.parent().unwrap().to_string(), "s3a://b/x");
        assert_eq!(
            p.parent().unwrap().parent().unwrap().to_string(),
            "s3a://b/"
        );
        assert!(p.starts_with(&Path::parse("s3a://b/x").unwrap()));
        assert!(!p.starts_with(&Path::parse("s3a://b/x/y").unwrap()));
        assert!(!p.starts_with(&Path::parse("s3a://c/x").unwrap()));
        assert!(Path::parse("/").unwrap().parent().is_none());
    }

    #[cfg(any(feature = "s3", feature = "oss"))]
    #[test]
    fn rebasing_keys_refuses_keys_outside_the_listed_prefix() {
        let keys = vec!["ns/1/a.ser".to_string(), "ns/1/sub/b".to_string()];
        assert_eq!(
            rebase_keys("s3a", &keys, "ns/1/", "ns/2/").unwrap(),
            vec![
                ("ns/1/a.ser".to_string(), "ns/2/a.ser".to_string()),
                ("ns/1/sub/b".to_string(), "ns/2/sub/b".to_string()),
            ]
        );
        // Shorter than the prefix, a sibling, and a prefix ending inside a multi-byte character:
        // a server (or a proxy) answering with any of these must not crash the rename.
        for odd in ["ns", "ns/10/x", "ns/\u{e9}", "other/1/x"] {
            let keys = vec!["ns/1/a".to_string(), odd.to_string()];
            let err = rebase_keys("oss", &keys, "ns/1/", "ns/2/").unwrap_err();
            assert!(
                matches!(
                    &err,
                    FsError::Backend {
                        retryable: false,
                        ..
                    }
                ),
                "{odd}: {err:?}"
            );
            assert!(err.to_string().contains(odd), "{err}");
        }
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(segs in proptest::collection::vec("[a-z0-9_.-]{1,8}", 0..6)) {
            let segs: Vec<_> = segs.into_iter().filter(|s| s != "." && s != "..").collect();
            let text = format!("hdfs://nn:8020/{}", segs.join("/"));
            let p = Path::parse(&text).unwrap();
            prop_assert_eq!(Path::parse(&p.to_string()).unwrap(), p.clone());
            for s in &segs {
                let child = p.join(s).unwrap();
                prop_assert_eq!(child.parent().unwrap(), p.clone());
                prop_assert_eq!(child.name(), s.as_str());
            }
        }

        /// Whatever parses prints back to itself (text without surrounding whitespace, which
        /// parsing trims; no `user:password@`, which printing redacts).
        #[test]
        fn any_parsed_path_prints_back_to_itself(
            scheme in proptest::option::of("[a-z][a-z0-9+.-]{1,5}:"),
            slashes in "/{0,3}",
            rest in "[^@\\x00]{0,16}",
        ) {
            let text = format!("{}{slashes}{rest}", scheme.unwrap_or_default());
            if let Ok(p) = Path::parse(&text) {
                let shown = p.to_string();
                if shown.trim() == shown {
                    prop_assert_eq!(Path::parse(&shown).ok(), Some(p), "{}", shown);
                }
            }
        }
    }
}
