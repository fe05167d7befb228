//! Crash consistency on an HA MiniDFSCluster (hdfs-testenv `ha`, started once for this test
//! binary): `ckpt store`, `ckpt prune` and `ckpt delete` are SIGKILLed at random moments
//! (uniform over 0..1.5x the measured duration of the same command) while the NameNodes fail
//! over between rounds and, in some rounds, during the killed command; after every kill fresh
//! `ckpt` processes and the library check what survived against a model of every state handed
//! to `ckpt store` (the rules are listed in `tests/common/crash.rs`).
//!
//! Counts are of commands really terminated by SIGKILL. Short mode (CI): 50 store kills and 50
//! prune/delete kills (prune, whole-job delete and checkpoint delete in turn), about two minutes.
//! Long mode: `CKPT_CRASH_ROUNDS=5000 cargo test --all-features --test crash_hdfs` (a sixth of it
//! for each of the two tests). A failure prints `CKPT_CRASH_SEED=...` to replay the same
//! choices. Fails when the cluster cannot start, unless `CKPT_ALLOW_SKIP=1`.

#![cfg(feature = "hdfs")]

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::crash::{self, Harness, JobModel, Timing, Typical};
use common::hdfs_env::{HdfsEnv, shared};
use rand::Rng;

const MAX_RETAINED: usize = 3;
const PIPELINES: i32 = 2;
const TEMP_GRACE: Duration = Duration::from_millis(500);

static CLUSTER: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();

/// The harness, with the local directory (configurations, states files) it works in.
fn harness(env: &HdfsEnv, test: &str) -> (tempfile::TempDir, Harness) {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_path_buf();
    let namespace = format!("/ckpt/{}/", common::conformance::unique(test));
    let hdfs_site = env
        .info
        .conf_dir
        .join("hdfs-site.xml")
        .display()
        .to_string();
    let h = Harness::new(
        &dir,
        &[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", &env.info.default_fs),
            ("hdfs_site_path", &hdfs_site),
            ("namespace", &namespace),
        ],
        MAX_RETAINED,
        TEMP_GRACE,
        crash::seed(test),
        None,
    );
    eprintln!("{test}: namespace {}", h.namespace());
    (work, h)
}

/// Fails the NameNodes over (active <-> standby) between two rounds.
fn failover(env: &'static HdfsEnv, h: &mut Harness) {
    let reply = env.must("failover");
    h.stats.failovers += 1;
    eprintln!("failover: {reply}");
}

#[test]
fn store_killed_at_random_moments_with_failovers() {
    let Some(env) = shared(&CLUSTER, "ha") else {
        return;
    };
    let test = "store_killed_at_random_moments_with_failovers";
    let (_work, mut h) = harness(env, test);
    let mut m = JobModel::new("733912283451392002");
    let mut timing = Timing::measure(&mut h, &mut m, 1, &[4 << 10, 256 << 10, 4 << 20]);
    let kills = crash::scaled(50);
    while h.more_kills_needed(kills) {
        let round = h.stats.rounds;
        let pipeline = h.rng.random_range(1..=PIPELINES);
        let len = crash::random_len(&mut h.rng, 22.0);
        let delay = h.kill_delay(timing.of(len));
        match round % 10 {
            4 => failover(env, &mut h),
            9 => {
                // The NameNodes switch while the store runs and is killed.
                std::thread::scope(|s| {
                    let switch = s.spawn(|| env.must("failover"));
                    h.store_round(&mut m, pipeline, len, Some(delay));
                    eprintln!("failover during a store: {}", switch.join().unwrap());
                });
                h.stats.failovers += 1;
                continue;
            }
            _ => {}
        }
        // Stores overlapping a failover are left out of the estimate: they are slower.
        if let Some(took) = h.store_round(&mut m, pipeline, len, Some(delay)) {
            timing.observe(len, took);
        }
        if h.stats.rounds.is_multiple_of(25) {
            h.prune_completely(&m, &format!("after {} store rounds", h.stats.rounds));
        }
    }
    h.prune_completely(&m, "after the last store round");
    eprintln!(
        "store durations by size at the end: {:?}",
        timing.estimates()
    );
    h.report(test);
    let s = &h.stats;
    assert!(s.killed > 0 && s.completed > 0, "{s:?}");
    assert!(m.acked() > 0);
}

#[test]
fn prune_and_delete_killed_at_random_moments_with_failovers() {
    let Some(env) = shared(&CLUSTER, "ha") else {
        return;
    };
    let test = "prune_and_delete_killed_at_random_moments_with_failovers";
    let (_work, mut h) = harness(env, test);
    let kills = crash::scaled(50);
    // Typical durations: prune, delete of a whole job, delete of checkpoints.
    let mut typical = [Typical::default(), Typical::default(), Typical::default()];
    let mut job = 940_000u64;
    while h.more_kills_needed(kills) {
        job += 1;
        if job.is_multiple_of(12) {
            failover(env, &mut h);
        }
        let mut m = JobModel::new(job.to_string());
        h.populate(&mut m, PIPELINES, 6);
        let kind = (job % 3) as usize;
        let kill = typical[kind].next_kill(&mut h);
        let took = match kind {
            0 => h.prune_round(&m, kill),
            1 => h.delete_round(&mut m, None, kill),
            _ => {
                let mut ids = h.present_ids(&m, 1);
                let keep_first = ids.first().copied();
                ids.retain(|_| h.rng.random_bool(0.6));
                if ids.is_empty() {
                    ids.extend(keep_first);
                }
                h.delete_round(&mut m, Some((1, ids)), kill)
            }
        };
        typical[kind].add(kill.is_none(), took);
        h.drop_job(&m);
    }
    h.report(test);
    assert!(h.stats.killed > 0, "{:?}", h.stats);
}
