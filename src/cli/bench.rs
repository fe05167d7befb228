//! `ckpt bench`: store and restore checkpoints on the configured storage and report latency,
//! throughput and peak memory. Numbers are for side-by-side comparison in one run, not absolutes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

use ckpt::checkpoint::{CheckpointStorage, FileStorage, PipelineState};

use super::output::{size, table};
use super::{Failure, Output};

/// The job id the bench writes under (deleted before and after).
const BENCH_JOB: &str = "990000000000000001";

#[derive(Serialize)]
struct Phase {
    operation: &'static str,
    count: usize,
    total_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    mib_per_s: f64,
}

#[derive(Serialize)]
struct BenchReport {
    namespace: String,
    state_bytes: usize,
    pipelines: i32,
    checkpoints_per_pipeline: i64,
    phases: Vec<Phase>,
    peak_rss_bytes: Option<u64>,
}

fn phase(
    operation: &'static str,
    mut samples: Vec<Duration>,
    bytes_each: usize,
    total: Duration,
) -> Phase {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .map(ms)
            .unwrap_or(0.0)
    };
    let moved = (bytes_each * samples.len()) as f64 / (1024.0 * 1024.0);
    Phase {
        operation,
        count: samples.len(),
        total_ms: ms(total),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: samples.last().copied().map(ms).unwrap_or(0.0),
        mib_per_s: if total.is_zero() {
            0.0
        } else {
            moved / total.as_secs_f64()
        },
    }
}

/// Peak resident memory of this process (Linux `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs the bench: `pipelines × checkpoints` stores of `state_bytes`, then one restore per
/// pipeline per round.
pub async fn run(
    storage: &FileStorage,
    state_bytes: usize,
    pipelines: i32,
    checkpoints: i64,
    out: Output,
) -> Result<u8, Failure> {
    if pipelines < 1 || checkpoints < 1 {
        return Err(Failure::usage(
            "--pipelines and --checkpoints must be at least 1",
        ));
    }
    storage.delete_job(BENCH_JOB).await?;
    let states = Bytes::from(
        (0..state_bytes)
            .map(|i| (i * 131 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    let bar = out.progress((pipelines as u64) * (checkpoints as u64) * 2, "bench");

    let mut store_samples = Vec::new();
    let started = Instant::now();
    for checkpoint in 1..=checkpoints {
        for pipeline in 1..=pipelines {
            let state = PipelineState {
                job_id: BENCH_JOB.to_string(),
                pipeline_id: pipeline,
                checkpoint_id: checkpoint,
                states: states.clone(),
            };
            let t = Instant::now();
            storage.store_checkpoint(&state).await?;
            store_samples.push(t.elapsed());
            bar.inc(1);
        }
    }
    let store_total = started.elapsed();

    let mut restore_samples = Vec::new();
    let started = Instant::now();
    for _ in 1..=checkpoints {
        for pipeline in 1..=pipelines {
            let t = Instant::now();
            let restored = storage.restore_latest(BENCH_JOB, pipeline).await?;
            restore_samples.push(t.elapsed());
            if restored.state.map(|s| s.states.len()) != Some(state_bytes) {
                return Err(Failure {
                    code: 1,
                    message: format!("bench: pipeline {pipeline} did not restore its state"),
                });
            }
            bar.inc(1);
        }
    }
    let restore_total = started.elapsed();
    bar.finish_and_clear();
    storage.delete_job(BENCH_JOB).await?;

    let report = BenchReport {
        namespace: storage.namespace().to_string(),
        state_bytes,
        pipelines,
        checkpoints_per_pipeline: checkpoints,
        phases: vec![
            phase("store", store_samples, state_bytes, store_total),
            phase(
                "restore_latest",
                restore_samples,
                state_bytes,
                restore_total,
            ),
        ],
        peak_rss_bytes: peak_rss(),
    };
    if out.json {
        out.json(&report)?;
    } else {
        let rows: Vec<Vec<String>> = report
            .phases
            .iter()
            .map(|p| {
                vec![
                    p.operation.to_string(),
                    p.count.to_string(),
                    format!("{:.2}", p.p50_ms),
                    format!("{:.2}", p.p99_ms),
                    format!("{:.2}", p.max_ms),
                    format!("{:.1}", p.mib_per_s),
                ]
            })
            .collect();
        out.line(format!(
            "{} states of {} on {}",
            pipelines as i64 * checkpoints,
            size(state_bytes as u64),
            report.namespace
        ))?;
        out.line(table(
            &["OPERATION", "COUNT", "P50 MS", "P99 MS", "MAX MS", "MIB/S"],
            &rows,
        ))?;
        if let Some(rss) = report.peak_rss_bytes {
            out.line(format!("peak RSS {}", size(rss)))?;
        }
    }
    Ok(0)
}
