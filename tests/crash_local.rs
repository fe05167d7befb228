//! Crash consistency on local disk: `ckpt store`, `ckpt prune` and `ckpt delete` are SIGKILLed
//! at random moments (uniform over 0..1.5x the measured duration of the same command), and after
//! every kill fresh `ckpt` processes and the library check what survived against a model of
//! every state handed to `ckpt store` (the rules are listed in `tests/common/crash.rs`):
//! acknowledged checkpoints are present and byte for byte intact unless `max-retained` newer
//! readable ones exist, nothing torn is listed or restored, retention keeps the newest readable
//! N, and a later `prune` removes every leftover temporary file.
//!
//! Counts are of commands really terminated by SIGKILL (a kill timer that fires after the command
//! exited does not count; that round is checked as a completed one). Short mode (CI): 300 store
//! kills, 50 prune kills, 50 prune kills with torn newest files, 50 delete kills (one to two
//! minutes with the debug binary on 2 cores). Long mode: `CKPT_CRASH_ROUNDS=5000 cargo test
//! --all-features --test crash_local` (store kills; the other counts become a sixth of it). A
//! failure prints `CKPT_CRASH_SEED=...`; set it to replay the same sizes, pipelines and kill
//! moments.

mod common;

use std::path::Path;
use std::time::Duration;

use common::crash::{self, Harness, JobModel, Timing, Typical};
use rand::Rng;

const MAX_RETAINED: usize = 2;
const PIPELINES: i32 = 2;
const TEMP_GRACE: Duration = Duration::from_millis(300);

fn harness(dir: &Path, test: &str) -> Harness {
    let ns = dir.join("ns");
    let namespace = format!("{}/", ns.display());
    Harness::new(
        &dir.join("work"),
        &[
            ("storage.type", "local"),
            ("fs.defaultFS", "file:///"),
            ("namespace", &namespace),
        ],
        MAX_RETAINED,
        TEMP_GRACE,
        crash::seed(test),
        Some(ns),
    )
}

#[test]
fn store_killed_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(dir.path(), "store_killed_at_random_moments");
    let mut m = JobModel::new("733912283451392001");
    let mut timing = Timing::measure(&mut h, &mut m, 1, &[4 << 10, 64 << 10, 1 << 20, 4 << 20]);
    let kills = crash::local_store_rounds();
    while h.more_kills_needed(kills) {
        let pipeline = h.rng.random_range(1..=PIPELINES);
        let len = crash::random_len(&mut h.rng, 22.0);
        let delay = h.kill_delay(timing.of(len));
        if let Some(took) = h.store_round(&mut m, pipeline, len, Some(delay)) {
            timing.observe(len, took);
        }
        if h.stats.rounds.is_multiple_of(60) {
            h.prune_completely(&m, &format!("after {} store rounds", h.stats.rounds));
        }
    }
    h.prune_completely(&m, "after the last store round");
    eprintln!(
        "store durations by size at the end: {:?}",
        timing.estimates()
    );
    h.report("store_killed_at_random_moments");
    let s = &h.stats;
    assert!(s.killed > 0 && s.completed > 0, "{s:?}");
    assert!(
        s.committed_unacked + s.left_temp_files > 0,
        "no kill landed between the start of a write and the acknowledgement: {s:?}"
    );
    assert!(m.acked() > 0);
}

#[test]
fn prune_killed_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(dir.path(), "prune_killed_at_random_moments");
    let kills = crash::scaled(50);
    let mut typical = Typical::default();
    let mut job = 910_000;
    while h.more_kills_needed(kills) {
        job += 1;
        let mut m = JobModel::new(job.to_string());
        h.populate(&mut m, PIPELINES, 10);
        let kill = typical.next_kill(&mut h);
        typical.add(kill.is_none(), h.prune_round(&m, kill));
        h.drop_job(&m);
    }
    h.report("prune_killed_at_random_moments");
    assert!(h.stats.killed > 0, "{:?}", h.stats);
}

#[test]
fn delete_killed_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(dir.path(), "delete_killed_at_random_moments");
    let kills = crash::scaled(50);
    let mut typical = [Typical::default(), Typical::default()];
    let mut job = 920_000;
    while h.more_kills_needed(kills) {
        job += 1;
        let mut m = JobModel::new(job.to_string());
        h.populate(&mut m, PIPELINES, 8);
        let kind = (job % 2) as usize;
        let targets = (kind == 1).then(|| {
            let mut ids = h.present_ids(&m, 1);
            let keep_first = ids.first().copied();
            ids.retain(|_| h.rng.random_bool(0.6));
            if ids.is_empty() {
                ids.extend(keep_first);
            }
            (1, ids)
        });
        let kill = typical[kind].next_kill(&mut h);
        let took = h.delete_round(&mut m, targets, kill);
        typical[kind].add(kill.is_none(), took);
        h.drop_job(&m);
    }
    h.report("delete_killed_at_random_moments");
    assert!(h.stats.killed > 0, "{:?}", h.stats);
}

/// As `prune_killed_at_random_moments`, with the newest files of pipeline 1 left unreadable
/// (empty or cut in half, named newer than every stored checkpoint), as a writer that crashed
/// while writing in place leaves them: retention must keep the newest readable N anyway.
#[test]
fn prune_with_torn_newest_files_killed_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(
        dir.path(),
        "prune_with_torn_newest_files_killed_at_random_moments",
    );
    let kills = crash::scaled(50);
    let mut typical = Typical::default();
    let mut job = 930_000;
    while h.more_kills_needed(kills) {
        job += 1;
        let mut m = JobModel::new(job.to_string());
        h.populate(&mut m, PIPELINES, 10);
        h.plant_torn(&mut m, 1, MAX_RETAINED);
        let kill = typical.next_kill(&mut h);
        typical.add(kill.is_none(), h.prune_round(&m, kill));
        h.drop_job(&m);
    }
    h.report("prune_with_torn_newest_files_killed_at_random_moments");
    assert!(h.stats.killed > 0, "{:?}", h.stats);
}
