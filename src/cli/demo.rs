//! `ckpt demo`: a small simulated engine on the configured storage.
//!
//! Three jobs with several pipelines store checkpoints on an interval with retention; the
//! newest file of one pipeline is then truncated; the engine "restarts" (a new storage from the
//! same configuration) and restores every pipeline, falling back past the damaged file.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use ckpt::checkpoint::{CheckpointStorage, FileStorage, PipelineState, Restore};
use ckpt::fs::Path;

use super::commands::print_restores;
use super::{Failure, Output, Prepared, open_storage};

/// The demo's jobs and their pipelines.
const JOBS: [(&str, &[i32]); 3] = [
    ("900001", &[1, 2]),
    ("900002", &[1, 2, 3]),
    ("900003", &[1]),
];
/// The pipeline whose newest checkpoint the demo damages.
const DAMAGED: (&str, i32) = ("900002", 2);

/// Deterministic engine state for a checkpoint, a few KiB.
fn engine_state(job: &str, pipeline: i32, checkpoint: i64) -> Bytes {
    let header =
        format!("demo engine state job={job} pipeline={pipeline} checkpoint={checkpoint};");
    let mut data = header.into_bytes();
    let mut x = (pipeline as u64) << 32 | checkpoint as u64;
    while data.len() < 4096 + checkpoint as usize * 64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        data.push((x >> 56) as u8);
    }
    Bytes::from(data)
}

#[derive(Serialize)]
struct DemoReport {
    namespace: String,
    max_retained: usize,
    stored: usize,
    pruned: usize,
    damaged: String,
    restored: usize,
    skipped: usize,
    all_states_match: bool,
}

/// Runs the demo; exit code 0 when every pipeline restored the state it should have.
pub async fn run(
    storage: &FileStorage,
    prepared: &Prepared,
    rounds: u32,
    interval_ms: u64,
    out: Output,
) -> Result<u8, Failure> {
    if rounds < 2 {
        return Err(Failure::usage(
            "--rounds must be at least 2 so a fallback exists",
        ));
    }
    let max_retained = prepared.loaded.checkpoint.storage.max_retained;
    out.hint(format!(
        "demo on {} (max-retained {max_retained}, {rounds} rounds every {interval_ms} ms)",
        storage.namespace()
    ))?;
    for (job, _) in JOBS {
        storage.delete_job(job).await?;
    }

    let total: u64 = JOBS.iter().map(|(_, p)| p.len() as u64).sum::<u64>() * u64::from(rounds);
    let bar = out.progress(total, "storing checkpoints");
    let (mut stored, mut pruned) = (0usize, 0usize);
    for round in 1..=i64::from(rounds) {
        for (job, pipelines) in JOBS {
            for &pipeline in pipelines {
                let result = storage
                    .store_checkpoint(&PipelineState {
                        job_id: job.to_string(),
                        pipeline_id: pipeline,
                        checkpoint_id: round,
                        states: engine_state(job, pipeline, round),
                    })
                    .await?;
                stored += 1;
                pruned += result.pruned.len();
                bar.inc(1);
            }
        }
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
    }
    bar.finish_and_clear();

    // Damage the newest checkpoint of one pipeline: a write torn in half.
    let newest = storage
        .list_checkpoints(DAMAGED.0)
        .await?
        .into_iter()
        .find(|e| e.name.pipeline_id == DAMAGED.1)
        .ok_or_else(|| Failure {
            code: 1,
            message: "the demo found no checkpoint to damage".into(),
        })?;
    let damaged_path = Path::parse(&newest.path).map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })?;
    let fs = storage.file_system();
    let original = fs.read(&damaged_path).await.map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })?;
    fs.write(&damaged_path, original.slice(..original.len() / 2), true)
        .await
        .map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?;

    // "Restart": a new storage instance from the same configuration, then restore.
    let restarted = open_storage(prepared).await?;
    let mut restores: Vec<(String, Restore)> = Vec::new();
    for (job, _) in JOBS {
        for r in restarted.restore_job(job).await? {
            restores.push((job.to_string(), r));
        }
    }
    let mut expected: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (job, pipelines) in JOBS {
        for &p in pipelines {
            let newest = i64::from(rounds) - i64::from((job, p) == DAMAGED);
            expected.insert((job.to_string(), p), newest);
        }
    }
    let all_states_match = restores.len() == expected.len()
        && restores.iter().all(|(job, r)| {
            let want = expected.get(&(job.clone(), r.pipeline_id)).copied();
            match (&r.state, want) {
                (Some(s), Some(c)) => {
                    s.checkpoint_id == c && s.states == engine_state(job, r.pipeline_id, c)
                }
                _ => false,
            }
        });
    let report = DemoReport {
        namespace: storage.namespace().to_string(),
        max_retained,
        stored,
        pruned,
        damaged: damaged_path.to_string(),
        restored: restores.iter().filter(|(_, r)| r.state.is_some()).count(),
        skipped: restores.iter().map(|(_, r)| r.skipped.len()).sum(),
        all_states_match,
    };
    if out.json {
        out.json(&report)?;
    } else {
        out.line(format!(
            "stored {stored} checkpoints for {} pipelines of {} jobs; retention pruned {pruned}",
            expected.len(),
            JOBS.len()
        ))?;
        out.line(format!(
            "damaged {} (truncated to {} bytes)",
            report.damaged,
            original.len() / 2
        ))?;
        out.line("restarted and restored:")?;
        for (job, _) in JOBS {
            out.line(format!("job {job}"))?;
            let mine: Vec<Restore> = restores
                .iter()
                .filter(|(j, _)| j == job)
                .map(|(_, r)| r.clone())
                .collect();
            print_restores(&mine, out)?;
        }
        out.line(if all_states_match {
            "every pipeline restored the state it stored; the damaged one fell back to its previous checkpoint"
        } else {
            "MISMATCH: some pipeline did not restore the expected state"
        })?;
        out.hint(format!(
            "inspect with: ckpt jobs, ckpt list {}, ckpt verify",
            DAMAGED.0
        ))?;
    }
    Ok(if all_states_match { 0 } else { 1 })
}
