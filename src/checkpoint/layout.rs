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

/// Validates a job id: a decimal number that fits a Java `long`; nothing that could address a
/// path outside the namespace.
pub fn validate_job_id(job_id: &str) -> Result<(), CheckpointError> {
    match decimal::<i64>(job_id) {
        Some(_) => Ok(()),
        None => Err(CheckpointError::InvalidId {
            what: "job id",
            value: job_id.to_string(),
        }),
    }
}

/// Validates a pipeline id (non-negative `int`).
pub fn validate_pipeline_id(pipeline_id: i32) -> Result<(), CheckpointError> {
    if pipeline_id < 0 {
        return Err(CheckpointError::InvalidId {
            what: "pipeline id",
            value: pipeline_id.to_string(),
        });
    }
    Ok(())
}

/// Validates a checkpoint id (non-negative `long`).
pub fn validate_checkpoint_id(checkpoint_id: i64) -> Result<(), CheckpointError> {
    if checkpoint_id < 0 {
        return Err(CheckpointError::InvalidId {
            what: "checkpoint id",
            value: checkpoint_id.to_string(),
        });
    }
    Ok(())
}

/// Parses a pipeline id given as text (CLI, Java-style string ids).
pub fn parse_pipeline_id(text: &str) -> Result<i32, CheckpointError> {
    decimal(text).ok_or_else(|| CheckpointError::InvalidId {
        what: "pipeline id",
        value: text.to_string(),
    })
}

/// Parses a checkpoint id given as text.
pub fn parse_checkpoint_id(text: &str) -> Result<i64, CheckpointError> {
    decimal(text).ok_or_else(|| CheckpointError::InvalidId {
        what: "checkpoint id",
        value: text.to_string(),
    })
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

/// The files retention removes: for every pipeline, all but the newest `max_retained`.
pub fn retention_victims(
    files: &[CheckpointFileName],
    max_retained: usize,
) -> Vec<CheckpointFileName> {
    pipelines(files)
        .into_iter()
        .flat_map(|p| {
            newest_first_for_pipeline(files, p)
                .into_iter()
                .skip(max_retained)
        })
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

        /// Model: per pipeline, sort newest first and keep N; victims and survivors partition the input.
        #[test]
        fn retention_keeps_newest_n(files in proptest::collection::vec(arb_name(), 0..40), n in 1usize..6) {
            let mut files = files;
            files.sort_by_key(|f| f.file_name());
            files.dedup();
            let victims = retention_victims(&files, n);
            let survivors: Vec<_> = files.iter().filter(|f| !victims.contains(f)).copied().collect();
            for p in pipelines(&files) {
                let kept: Vec<_> = survivors.iter().filter(|f| f.pipeline_id == p).collect();
                let total = files.iter().filter(|f| f.pipeline_id == p).count();
                prop_assert_eq!(kept.len(), total.min(n));
                // Every survivor is at least as new as every victim of the same pipeline.
                for v in victims.iter().filter(|f| f.pipeline_id == p) {
                    for k in &kept {
                        prop_assert_ne!(CheckpointFileName::newest_first(k, v), Ordering::Greater);
                    }
                }
                // The latest checkpoint always survives.
                let latest = latest_for_pipeline(&files, p).unwrap();
                prop_assert!(survivors.contains(&latest));
            }
        }
    }
}
