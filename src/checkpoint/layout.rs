//! The on-storage layout of checkpoints, exactly as the Java engine writes it: pure functions.
//!
//! A checkpoint lives at `<namespace><jobId>/<millis>-<random>-<pipelineId>-<checkpointId>.ser`;
//! while being written it is `<…>.sertmp`. The newest checkpoint of a pipeline is the file with
//! the largest `millis` (not the largest checkpoint id); among equal `millis` the smallest file
//! name wins, which is what the Java engine picks on HDFS, whose listings are sorted by name.

use std::cmp::Ordering;
use std::fmt;

use super::CheckpointError;

/// Extension of a committed checkpoint file (Java's `FILE_FORMAT`).
pub const CHECKPOINT_SUFFIX: &str = ".ser";
/// Extension of a checkpoint file being written with the tmp + rename protocol.
pub const TEMP_SUFFIX: &str = ".sertmp";
/// Java draws the random part from `0..1000`.
pub const RANDOM_RANGE: u32 = 1000;

/// The parsed name of a checkpoint file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct CheckpointFileName {
    /// Wall-clock milliseconds when the checkpoint was stored: the sort key.
    pub millis: u64,
    /// Random part in `0..1000`, avoiding collisions within one millisecond.
    pub random: u32,
    /// The pipeline.
    pub pipeline_id: i32,
    /// The checkpoint.
    pub checkpoint_id: i64,
}

impl CheckpointFileName {
    /// Parses a committed file name (`1699999999999-42-1-7.ser`); `None` for anything else,
    /// including temporary files.
    pub fn parse(name: &str) -> Option<CheckpointFileName> {
        let stem = name.strip_suffix(CHECKPOINT_SUFFIX)?;
        Self::parse_stem(stem)
    }

    /// Parses a temporary file name (`…-7.sertmp`).
    pub fn parse_temp(name: &str) -> Option<CheckpointFileName> {
        Self::parse_stem(name.strip_suffix(TEMP_SUFFIX)?)
    }

    fn parse_stem(stem: &str) -> Option<CheckpointFileName> {
        let mut parts = stem.split('-');
        let millis = decimal(parts.next()?)?;
        let random = decimal(parts.next()?)?;
        let pipeline_id = decimal(parts.next()?)?;
        let checkpoint_id = decimal(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(CheckpointFileName {
            millis,
            random,
            pipeline_id,
            checkpoint_id,
        })
    }

    /// The committed file name.
    pub fn file_name(&self) -> String {
        format!("{self}{CHECKPOINT_SUFFIX}")
    }

    /// The temporary file name used while writing.
    pub fn temp_name(&self) -> String {
        format!("{self}{TEMP_SUFFIX}")
    }

    /// Orders by newness: newest first (largest millis), then by file name as Java's HDFS
    /// listing would see them (the smaller name is seen first and wins a tie).
    pub fn newest_first(a: &CheckpointFileName, b: &CheckpointFileName) -> Ordering {
        b.millis
            .cmp(&a.millis)
            .then_with(|| a.file_name().cmp(&b.file_name()))
    }
}

impl fmt::Display for CheckpointFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-{}",
            self.millis, self.random, self.pipeline_id, self.checkpoint_id
        )
    }
}

/// Parses a non-negative decimal number with no sign, spaces or other characters.
fn decimal<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn invalid_id(what: &'static str, value: impl ToString, max: i64) -> CheckpointError {
    CheckpointError::InvalidId {
        what,
        value: value.to_string(),
        max,
    }
}

/// Validates a job id: a decimal number that fits a Java `long`; nothing that could address a
/// path outside the namespace.
pub fn validate_job_id(job_id: &str) -> Result<(), CheckpointError> {
    match decimal::<i64>(job_id) {
        Some(_) => Ok(()),
        None => Err(invalid_id("job id", job_id, i64::MAX)),
    }
}

/// Validates a pipeline id (non-negative `int`).
pub fn validate_pipeline_id(pipeline_id: i32) -> Result<(), CheckpointError> {
    if pipeline_id < 0 {
        return Err(invalid_id("pipeline id", pipeline_id, i32::MAX.into()));
    }
    Ok(())
}

/// Validates a checkpoint id (non-negative `long`).
pub fn validate_checkpoint_id(checkpoint_id: i64) -> Result<(), CheckpointError> {
    if checkpoint_id < 0 {
        return Err(invalid_id("checkpoint id", checkpoint_id, i64::MAX));
    }
    Ok(())
}

/// Parses a pipeline id given as text (CLI, Java-style string ids).
pub fn parse_pipeline_id(text: &str) -> Result<i32, CheckpointError> {
    decimal(text).ok_or_else(|| invalid_id("pipeline id", text, i32::MAX.into()))
}

/// Parses a checkpoint id given as text.
pub fn parse_checkpoint_id(text: &str) -> Result<i64, CheckpointError> {
    decimal(text).ok_or_else(|| invalid_id("checkpoint id", text, i64::MAX))
}

/// The newest file of `pipeline_id` among `files`, as Java chooses it.
pub fn latest_for_pipeline(
    files: &[CheckpointFileName],
    pipeline_id: i32,
) -> Option<CheckpointFileName> {
    files
        .iter()
        .filter(|f| f.pipeline_id == pipeline_id)
        .min_by(|a, b| CheckpointFileName::newest_first(a, b))
        .copied()
}

/// The files of one pipeline, newest first.
pub fn newest_first_for_pipeline(
    files: &[CheckpointFileName],
    pipeline_id: i32,
) -> Vec<CheckpointFileName> {
    let mut mine: Vec<_> = files
        .iter()
        .filter(|f| f.pipeline_id == pipeline_id)
        .copied()
        .collect();
    mine.sort_by(CheckpointFileName::newest_first);
    mine
}

/// The distinct pipelines present, ascending.
pub fn pipelines(files: &[CheckpointFileName]) -> Vec<i32> {
    let mut ids: Vec<i32> = files.iter().map(|f| f.pipeline_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The files of one pipeline that retention removes.
///
/// `files` are the pipeline's files newest first; `readable[i]` says whether `files[i]` decodes
/// (it may cover only a prefix: retention stops reading once it has found enough readable
/// files). The rule:
/// - the newest `max_retained` *readable* files are kept (at least one, whatever the setting);
///   unreadable files are not counted among them;
/// - unreadable files newer than the oldest kept readable file are kept too (for inspection,
///   and because a Java `localfile` writer may still be writing one in place);
/// - everything older than the oldest kept readable file is removed, readable or not;
/// - `protected` (the checkpoint just stored) is never removed, even when other writers' files
///   sort newer;
/// - with fewer readable files than `max_retained`, nothing is removed.
pub fn retention_victims(
    files: &[CheckpointFileName],
    readable: &[bool],
    max_retained: usize,
    protected: Option<&CheckpointFileName>,
) -> Vec<CheckpointFileName> {
    let wanted = max_retained.max(1);
    let mut found = 0;
    let Some(oldest_kept) = readable.iter().position(|&ok| {
        found += usize::from(ok);
        ok && found == wanted
    }) else {
        return Vec::new();
    };
    files
        .get(oldest_kept + 1..)
        .unwrap_or_default()
        .iter()
        .filter(|f| Some(*f) != protected)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(millis: u64, random: u32, pipeline_id: i32, checkpoint_id: i64) -> CheckpointFileName {
        CheckpointFileName {
            millis,
            random,
            pipeline_id,
            checkpoint_id,
        }
    }

    #[test]
    fn parses_java_names() {
        let n = CheckpointFileName::parse("1699999999999-42-1-7.ser").unwrap();
        assert_eq!(n, name(1699999999999, 42, 1, 7));
        assert_eq!(n.file_name(), "1699999999999-42-1-7.ser");
        assert_eq!(n.temp_name(), "1699999999999-42-1-7.sertmp");
        assert_eq!(
            CheckpointFileName::parse_temp("1-2-3-4.sertmp"),
            Some(name(1, 2, 3, 4))
        );
        for bad in [
            "1-2-3-4.sertmp",
            "1-2-3.ser",
            "1-2-3-4-5.ser",
            "a-2-3-4.ser",
            "1-2--3-4.ser",
            "1-2-+3-4.ser",
            "1-2-3-4.ser.bak",
            ".1-2-3-4.ser.ckpt-tmp",
            "",
            "notes.txt",
            "1-2-99999999999-4.ser",
        ] {
            assert_eq!(CheckpointFileName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn latest_is_by_millis_not_checkpoint_id() {
        let files = [name(100, 1, 1, 9), name(200, 5, 1, 3), name(150, 0, 2, 4)];
        assert_eq!(latest_for_pipeline(&files, 1), Some(name(200, 5, 1, 3)));
        assert_eq!(latest_for_pipeline(&files, 2), Some(name(150, 0, 2, 4)));
        assert_eq!(latest_for_pipeline(&files, 3), None);
    }

    #[test]
    fn ids_are_validated() {
        assert!(validate_job_id("123").is_ok());
        for bad in ["../1", "1/2", "", "-1", "1 ", "99999999999999999999", "abc"] {
            assert!(validate_job_id(bad).is_err(), "{bad}");
        }
        assert!(validate_pipeline_id(-1).is_err());
        assert!(validate_checkpoint_id(-5).is_err());
        assert_eq!(parse_pipeline_id("3").unwrap(), 3);
        assert!(parse_checkpoint_id("../4").is_err());
    }

    fn arb_name() -> impl Strategy<Value = CheckpointFileName> {
        (0u64..50, 0u32..1000, 0i32..4, 0i64..100).prop_map(|(m, r, p, c)| name(m, r, p, c))
    }

    proptest! {
        #[test]
        fn names_roundtrip(n in (any::<u64>(), 0u32..1000, 0i32..=i32::MAX, 0i64..=i64::MAX)) {
            let n = name(n.0, n.1, n.2, n.3);
            prop_assert_eq!(CheckpointFileName::parse(&n.file_name()), Some(n));
            prop_assert_eq!(CheckpointFileName::parse_temp(&n.temp_name()), Some(n));
            prop_assert_eq!(CheckpointFileName::parse(&n.temp_name()), None);
        }

        /// Model: Java's loop over a name-sorted listing keeping the first strictly larger millis.
        #[test]
        fn latest_matches_the_java_loop(files in proptest::collection::vec(arb_name(), 0..30), p in 0i32..4) {
            let mut listing: Vec<String> = files.iter().map(|f| f.file_name()).collect();
            listing.sort();
            let mut best: Option<(u64, String)> = None;
            for file in &listing {
                let f = CheckpointFileName::parse(file).unwrap();
                if f.pipeline_id == p && best.as_ref().is_none_or(|(m, _)| f.millis > *m) {
                    best = Some((f.millis, file.clone()));
                }
            }
            let ours = latest_for_pipeline(&files, p).map(|f| f.file_name());
            prop_assert_eq!(ours, best.map(|(_, n)| n));
        }

        /// Model: the newest N readable files survive, nothing newer than the oldest of them is
        /// removed, the protected file always survives, and with fewer than N readable files
        /// nothing is removed.
        #[test]
        fn retention_keeps_newest_readable_n(
            files in proptest::collection::vec((0u64..50, 0u32..1000, any::<bool>()), 0..40),
            n in 0usize..6,
            protect in any::<proptest::sample::Index>(),
            checked in any::<proptest::sample::Index>(),
        ) {
            let mut files: Vec<(CheckpointFileName, bool)> =
                files.into_iter().map(|(m, r, ok)| (name(m, r, 1, i64::from(r)), ok)).collect();
            files.sort_by(|a, b| CheckpointFileName::newest_first(&a.0, &b.0));
            files.dedup_by_key(|f| f.0);
            let names: Vec<_> = files.iter().map(|f| f.0).collect();
            let flags: Vec<bool> = files.iter().map(|f| f.1).collect();
            // Readability may be known for a prefix only; the outcome must not depend on it
            // as long as the prefix reaches the N-th readable file.
            let wanted = n.max(1);
            let needed = flags.iter().scan(0, |seen, ok| { *seen += usize::from(*ok); Some(*seen) })
                .position(|seen| seen == wanted).map_or(flags.len(), |i| i + 1);
            let prefix = if flags.is_empty() { 0 } else { needed.max(checked.index(flags.len() + 1)) };
            let prefix = prefix.min(flags.len());
            let protected = (!names.is_empty()).then(|| names[protect.index(names.len())]);
            let victims = retention_victims(&names, &flags[..prefix], n, protected.as_ref());
            prop_assert_eq!(&victims, &retention_victims(&names, &flags, n, protected.as_ref()));
            let readable_total = flags.iter().filter(|ok| **ok).count();
            if readable_total < wanted {
                prop_assert!(victims.is_empty());
            }
            let kept_readable = files.iter().filter(|(f, ok)| *ok && !victims.contains(f)).count();
            prop_assert!(kept_readable >= readable_total.min(wanted));
            if let Some(p) = protected {
                prop_assert!(!victims.contains(&p));
            }
            if let Some((newest_readable, _)) = files.iter().find(|(_, ok)| *ok) {
                prop_assert!(!victims.contains(newest_readable));
            }
            // Victims are exactly the files older than the oldest kept readable one.
            for (i, f) in names.iter().enumerate() {
                let newer_readable = flags[..=i].iter().filter(|ok| **ok).count();
                let beyond = newer_readable > wanted || (newer_readable == wanted && !flags[i]);
                prop_assert_eq!(victims.contains(f), beyond && Some(*f) != protected, "file {}", i);
            }
        }

        #[test]
        fn out_of_range_ids_name_the_range(text in "[1-9][0-9]{19,24}") {
            let message = parse_checkpoint_id(&text).unwrap_err().to_string();
            prop_assert!(message.contains("from 0 to 9223372036854775807"), "{}", message);
        }
    }
}
