//! One function per subcommand.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path as StdPath;

use bytes::Bytes;
use serde::Serialize;

use ckpt::checkpoint::layout::{self, CheckpointFileName};
use ckpt::checkpoint::{CheckpointStorage, FileStorage, PipelineState, Restore, VerifyStatus};

use super::output::{size, table, time_of};
use super::{Cli, Command, ConfigAction, Failure, Output, Prepared, bench, demo, open_storage};

/// Runs the chosen subcommand on the prepared configuration; `Ok` carries the exit code.
pub async fn dispatch(cli: &Cli, prepared: &Prepared, out: Output) -> Result<u8, Failure> {
    for warning in &prepared.loaded.warnings {
        out.hint(format!("warning: {warning}"))?;
    }
    if let Command::Config {
        action: ConfigAction::Check,
    } = &cli.command
    {
        return config_check(prepared, out);
    }
    let storage = open_storage(prepared).await?;
    match &cli.command {
        Command::Jobs => jobs(&storage, out).await,
        Command::List { job } => list(&storage, job, out).await,
        Command::Latest { job, pipeline } => latest(&storage, job, pipeline.as_deref(), out).await,
        Command::Show {
            job,
            pipeline,
            checkpoint,
            states_out,
        } => {
            show(
                &storage,
                job,
                pipeline,
                checkpoint,
                states_out.as_deref(),
                out,
            )
            .await
        }
        Command::Store {
            job,
            pipeline,
            checkpoint,
            from,
        } => store(&storage, job, pipeline, checkpoint, from, out).await,
        Command::Delete {
            job,
            pipeline,
            checkpoints,
        } => delete(&storage, job, pipeline.as_deref(), checkpoints, out).await,
        Command::Prune { job } => prune(&storage, job.as_deref(), out).await,
        Command::Verify => verify(&storage, out).await,
        Command::Demo {
            rounds,
            interval_ms,
        } => demo::run(&storage, prepared, *rounds, *interval_ms, out).await,
        Command::Bench {
            size,
            pipelines,
            checkpoints,
        } => bench::run(&storage, *size, *pipelines, *checkpoints, out).await,
        Command::Config { .. } => Ok(0),
    }
}

#[derive(Serialize)]
struct JobSummary {
    job_id: String,
    pipelines: Vec<i32>,
    checkpoints: usize,
    bytes: u64,
    latest_millis: Option<u64>,
    /// Why the job directory could not be listed (the job is reported, not fatal).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn jobs(storage: &FileStorage, out: Output) -> Result<u8, Failure> {
    let mut summaries = Vec::new();
    for job_id in storage.list_jobs().await? {
        let (entries, error) = match storage.list_checkpoints(&job_id).await {
            Ok(entries) => (entries, None),
            Err(e) => match e.unreadable_job_reason() {
                Some(reason) => (Vec::new(), Some(reason)),
                None => return Err(e.into()),
            },
        };
        let names: Vec<CheckpointFileName> = entries.iter().map(|e| e.name).collect();
        summaries.push(JobSummary {
            pipelines: layout::pipelines(&names),
            checkpoints: entries.len(),
            bytes: entries.iter().map(|e| e.len).sum(),
            latest_millis: entries.first().map(|e| e.name.millis),
            job_id,
            error,
        });
    }
    let unreadable = summaries.iter().filter(|s| s.error.is_some()).count();
    if out.json {
        out.json(&summaries)?;
    } else if summaries.is_empty() {
        out.hint(format!("no jobs under {}", storage.namespace()))?;
    } else {
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                vec![
                    s.job_id.clone(),
                    s.pipelines
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    s.checkpoints.to_string(),
                    size(s.bytes),
                    match &s.error {
                        Some(_) => "(unreadable)".to_string(),
                        None => s.latest_millis.map(time_of).unwrap_or_default(),
                    },
                ]
            })
            .collect();
        out.line(table(
            &["JOB", "PIPELINES", "CHECKPOINTS", "SIZE", "LATEST"],
            &rows,
        ))?;
        for s in summaries.iter().filter(|s| s.error.is_some()) {
            out.line(format!(
                "unreadable job {}: {}",
                s.job_id,
                s.error.as_deref().unwrap_or_default()
            ))?;
        }
    }
    Ok(if unreadable > 0 { 1 } else { 0 })
}

async fn list(storage: &FileStorage, job: &str, out: Output) -> Result<u8, Failure> {
    let entries = storage.list_checkpoints(job).await?;
    if out.json {
        out.json(&entries)?;
        return Ok(0);
    }
    if entries.is_empty() {
        out.hint(format!(
            "no checkpoints for job {job} under {}",
            storage.namespace()
        ))?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.name.pipeline_id.to_string(),
                e.name.checkpoint_id.to_string(),
                time_of(e.name.millis),
                size(e.len),
                e.path.clone(),
            ]
        })
        .collect();
    out.line(table(
        &["PIPELINE", "CHECKPOINT", "STORED", "SIZE", "FILE"],
        &rows,
    ))?;
    Ok(0)
}

#[derive(Serialize)]
struct RestoreView<'a> {
    pipeline_id: i32,
    checkpoint_id: Option<i64>,
    path: Option<&'a str>,
    integrity: Option<ckpt::checkpoint::codec::Integrity>,
    states_len: Option<usize>,
    skipped: &'a [ckpt::checkpoint::SkippedCheckpoint],
}

fn restore_view(r: &Restore) -> RestoreView<'_> {
    RestoreView {
        pipeline_id: r.pipeline_id,
        checkpoint_id: r.state.as_ref().map(|s| s.checkpoint_id),
        path: r.path.as_deref(),
        integrity: r.integrity,
        states_len: r.state.as_ref().map(|s| s.states.len()),
        skipped: &r.skipped,
    }
}

/// Prints restores as a table (or JSON) followed by what was skipped.
pub fn print_restores(restores: &[Restore], out: Output) -> Result<(), Failure> {
    if out.json {
        out.json(&restores.iter().map(restore_view).collect::<Vec<_>>())?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = restores
        .iter()
        .map(|r| {
            let v = restore_view(r);
            vec![
                v.pipeline_id.to_string(),
                v.checkpoint_id
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                match v.integrity {
                    Some(ckpt::checkpoint::codec::Integrity::Verified) => "crc32c ok".into(),
                    Some(ckpt::checkpoint::codec::Integrity::Absent) => "no checksum".into(),
                    None => "-".into(),
                },
                r.skipped.len().to_string(),
                v.path.unwrap_or("(no readable checkpoint)").to_string(),
            ]
        })
        .collect();
    out.line(table(
        &["PIPELINE", "CHECKPOINT", "INTEGRITY", "SKIPPED", "FILE"],
        &rows,
    ))?;
    for r in restores {
        for s in &r.skipped {
            out.line(format!("skipped {}: {}", s.path, s.reason))?;
        }
    }
    Ok(())
}

async fn latest(
    storage: &FileStorage,
    job: &str,
    pipeline: Option<&str>,
    out: Output,
) -> Result<u8, Failure> {
    let restores = match pipeline {
        Some(p) => vec![
            storage
                .restore_latest(job, layout::parse_pipeline_id(p)?)
                .await?,
        ],
        None => storage.restore_job(job).await?,
    };
    if restores.is_empty() {
        if out.json {
            out.json(&restores.iter().map(restore_view).collect::<Vec<_>>())?;
        } else {
            out.hint(format!(
                "no checkpoints for job {job} under {}",
                storage.namespace()
            ))?;
        }
        return Ok(1);
    }
    print_restores(&restores, out)?;
    Ok(if restores.iter().all(|r| r.state.is_some()) {
        0
    } else {
        1
    })
}

#[derive(Serialize)]
struct StateView<'a> {
    job_id: &'a str,
    pipeline_id: i32,
    checkpoint_id: i64,
    states_len: usize,
    states_crc32c: String,
}

async fn show(
    storage: &FileStorage,
    job: &str,
    pipeline: &str,
    checkpoint: &str,
    states_out: Option<&StdPath>,
    out: Output,
) -> Result<u8, Failure> {
    let state = storage
        .get_checkpoint(
            job,
            layout::parse_pipeline_id(pipeline)?,
            layout::parse_checkpoint_id(checkpoint)?,
        )
        .await?;
    let to_stdout = states_out.is_some_and(|p| p == StdPath::new("-"));
    if let Some(file) = states_out.filter(|_| !to_stdout) {
        refuse_inside_namespace(storage, file)?;
    }
    if let Some(file) = states_out {
        if to_stdout {
            std::io::stdout().lock().write_all(&state.states)?;
            return Ok(0);
        }
        std::fs::write(file, &state.states).map_err(|e| Failure {
            code: 1,
            message: format!("{}: {e}", file.display()),
        })?;
    }
    let view = StateView {
        job_id: &state.job_id,
        pipeline_id: state.pipeline_id,
        checkpoint_id: state.checkpoint_id,
        states_len: state.states.len(),
        states_crc32c: format!("{:08x}", crc32c::crc32c(&state.states)),
    };
    if out.json {
        out.json(&view)?;
    } else {
        out.line(table(
            &["JOB", "PIPELINE", "CHECKPOINT", "STATES", "CRC32C"],
            &[vec![
                view.job_id.to_string(),
                view.pipeline_id.to_string(),
                view.checkpoint_id.to_string(),
                size(view.states_len as u64),
                view.states_crc32c.clone(),
            ]],
        ))?;
        if let Some(file) = states_out {
            out.hint(format!("states written to {}", file.display()))?;
        }
    }
    Ok(0)
}

/// Refuses an output file inside a local namespace: writing there could overwrite a checkpoint
/// (or create a foreign file the engine would trip over).
fn refuse_inside_namespace(storage: &FileStorage, file: &StdPath) -> Result<(), Failure> {
    let namespace = storage.namespace();
    if namespace.scheme().is_some_and(|s| s != "file") {
        return Ok(());
    }
    let Ok(namespace_dir) = std::fs::canonicalize(namespace.path()) else {
        return Ok(()); // no namespace on disk yet: nothing to overwrite
    };
    let target = match std::fs::canonicalize(file) {
        Ok(existing) => existing,
        Err(_) => {
            let parent = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => StdPath::new("."),
            };
            match (std::fs::canonicalize(parent), file.file_name()) {
                (Ok(dir), Some(name)) => dir.join(name),
                _ => return Ok(()), // the write itself reports the missing directory
            }
        }
    };
    if target.starts_with(&namespace_dir) {
        return Err(Failure::usage(format!(
            "--states-out {} is inside the checkpoint namespace {namespace}: writing there could overwrite a checkpoint; choose a file outside the namespace (or - for stdout)",
            file.display()
        )));
    }
    Ok(())
}

async fn store(
    storage: &FileStorage,
    job: &str,
    pipeline: &str,
    checkpoint: &str,
    from: &StdPath,
    out: Output,
) -> Result<u8, Failure> {
    let pipeline_id = layout::parse_pipeline_id(pipeline)?;
    let checkpoint_id = layout::parse_checkpoint_id(checkpoint)?;
    let states = if from == StdPath::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(from).map_err(|e| Failure {
            code: 1,
            message: format!("{}: {e}", from.display()),
        })?
    };
    let stored = storage
        .store_checkpoint(&PipelineState {
            job_id: job.to_string(),
            pipeline_id,
            checkpoint_id,
            states: Bytes::from(states),
        })
        .await?;
    if out.json {
        out.json(&stored)?;
    } else {
        out.line(format!("stored {} ({})", stored.path, size(stored.len)))?;
        for p in &stored.pruned {
            out.line(format!("pruned {p}"))?;
        }
    }
    Ok(0)
}

async fn delete(
    storage: &FileStorage,
    job: &str,
    pipeline: Option<&str>,
    checkpoints: &[String],
    out: Output,
) -> Result<u8, Failure> {
    let Some(p) = pipeline else {
        if !storage.delete_job_dir(job).await? {
            return Err(Failure {
                code: 1,
                message: format!(
                    "no job {job} under {}: nothing deleted",
                    storage.namespace()
                ),
            });
        }
        if out.json {
            out.json(&serde_json::json!({ "deleted": "job", "job_id": job }))?;
        } else {
            out.line(format!("deleted job {job}"))?;
        }
        return Ok(0);
    };
    if checkpoints.is_empty() {
        return Err(Failure::usage(
            "name the checkpoints to delete: ckpt delete JOB PIPELINE CHECKPOINT..., or delete the whole job with ckpt delete JOB",
        ));
    }
    let pipeline_id = layout::parse_pipeline_id(p)?;
    let ids = checkpoints
        .iter()
        .map(|c| layout::parse_checkpoint_id(c))
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = storage
        .delete_checkpoint_files(job, pipeline_id, &ids)
        .await?;
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !deleted.iter().any(|e| e.name.checkpoint_id == *id))
        .collect();
    let deleted: Vec<&str> = deleted.iter().map(|e| e.path.as_str()).collect();
    if out.json {
        out.json(&serde_json::json!({
            "deleted": "checkpoints",
            "job_id": job,
            "pipeline_id": pipeline_id,
            "files": deleted,
            "not_found": missing,
        }))?;
    } else {
        for path in &deleted {
            out.line(format!("deleted {path}"))?;
        }
    }
    if deleted.is_empty() {
        return Err(Failure {
            code: 1,
            message: format!(
                "no checkpoint {} of job {job} pipeline {pipeline_id}: nothing deleted",
                join_ids(&ids)
            ),
        });
    }
    if !missing.is_empty() {
        out.hint(format!(
            "not found (nothing deleted for them): checkpoints {} of job {job} pipeline {pipeline_id}",
            join_ids(&missing)
        ))?;
        return Ok(1);
    }
    Ok(0)
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn prune(storage: &FileStorage, job: Option<&str>, out: Output) -> Result<u8, Failure> {
    let report = storage.prune(job).await?;
    if out.json {
        out.json(&report)?;
    } else {
        for p in &report.checkpoints {
            out.line(format!("pruned {p}"))?;
        }
        for p in &report.temp_files {
            out.line(format!("removed leftover {p}"))?;
        }
        for s in &report.skipped_jobs {
            out.line(format!("skipped job {}: {}", s.job_id, s.reason))?;
        }
        out.line(format!(
            "{} checkpoints beyond max-retained and {} leftover temporary files removed",
            report.checkpoints.len(),
            report.temp_files.len()
        ))?;
    }
    Ok(if report.skipped_jobs.is_empty() { 0 } else { 1 })
}

async fn verify(storage: &FileStorage, out: Output) -> Result<u8, Failure> {
    let bar = out.progress(0, "verifying jobs");
    let report = storage
        .verify_with_progress(|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await?;
    bar.finish_and_clear();
    let clean = report.is_clean();
    if out.json {
        out.json(&serde_json::json!({ "clean": clean, "entries": report.entries }))?;
    } else {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &report.entries {
            let (kind, detail) = match &e.status {
                VerifyStatus::Ok { .. } => ("ok", None),
                VerifyStatus::Corrupt { reason } => ("corrupt", Some(reason.as_str())),
                VerifyStatus::Temp => ("leftover", None),
                VerifyStatus::Unreadable { reason } => ("unreadable", Some(reason.as_str())),
                VerifyStatus::Foreign => ("foreign", None),
            };
            *counts.entry(kind).or_default() += 1;
            if kind != "ok" {
                out.line(format!(
                    "{kind:<8} {}{}",
                    e.path,
                    detail.map(|d| format!(": {d}")).unwrap_or_default()
                ))?;
            }
        }
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        out.line(format!(
            "{}: {}",
            storage.namespace(),
            if summary.is_empty() {
                "empty".to_string()
            } else {
                summary.join(", ")
            }
        ))?;
    }
    Ok(if clean { 0 } else { 1 })
}

/// What SeaTunnel's own hdfs plugin makes of the plugin-config (secrets redacted), without
/// the key-by-key comparison `keys`, which the caller adds or prints.
fn seatunnel_summary(
    reading: &ckpt::conf::SeatunnelReading,
    keys: &[ckpt::conf::KeyComparison],
) -> serde_json::Value {
    let hadoop: BTreeMap<&str, String> = reading
        .hadoop
        .iter()
        .map(|(k, v)| (k.as_str(), ckpt::conf::redact_value(k, v).into_owned()))
        .collect();
    serde_json::json!({
        "version": ckpt::conf::SEATUNNEL_PLUGIN_VERSION,
        "storage_type": reading.storage_type,
        "namespace": reading.namespace,
        "kerberos_login": reading.kerberos_login,
        "hadoop": hadoop,
        "error": reading.error,
        "differences": keys.iter().filter(|k| k.difference.is_some()).count(),
    })
}

fn print_key_comparison(out: &Output, keys: &[ckpt::conf::KeyComparison]) -> Result<(), Failure> {
    let differences = keys.iter().filter(|k| k.difference.is_some()).count();
    out.line(format!(
        "plugin-config key by key, SeaTunnel {}'s hdfs plugin and ckpt ({differences} difference{}):",
        ckpt::conf::SEATUNNEL_PLUGIN_VERSION,
        if differences == 1 { "" } else { "s" }
    ))?;
    for k in keys {
        out.line(format!("  {} = {}", k.key, k.value))?;
        out.line(format!("    SeaTunnel: {}", k.seatunnel))?;
        out.line(format!("    ckpt:      {}", k.ckpt))?;
        if let Some(why) = &k.difference {
            out.line(format!("    why:       {why}"))?;
        }
    }
    Ok(())
}

fn config_check(prepared: &Prepared, out: Output) -> Result<u8, Failure> {
    // The same validation as every other command: `load_config` ran it.
    let Prepared {
        loaded,
        source,
        plan,
    } = prepared;
    let mut effective = serde_json::json!({
        "source": source,
        "checkpoint": &loaded.checkpoint,
        "storage_options": {
            "checksum": plan.options.checksum,
            "temp_grace_ms": u64::try_from(plan.options.temp_grace.as_millis()).unwrap_or(u64::MAX),
        },
        "warnings": &loaded.warnings,
    });
    effective["file_system"] = match &plan.plugin {
        Some(plugin) => serde_json::json!({
            "storage_type": plugin.storage_type,
            "default_fs": plugin.default_fs.to_string(),
            "namespace": plugin.namespace_display(),
            "kerberos_principal": plugin.kerberos.as_ref().map(|k| k.principal.clone()),
            "hadoop": plugin.hadoop.redacted(),
        }),
        None => serde_json::json!({
            "default_fs": plan.root.to_string(),
            "namespace": format!("{}/", plan.namespace.to_string().trim_end_matches('/')),
        }),
    };
    let keys = plan.plugin.as_ref().map(|plugin| {
        let plugin_config = &loaded.checkpoint.storage.plugin_config;
        let reading = ckpt::conf::seatunnel_reading(plugin_config);
        let keys = ckpt::conf::compare_keys(plugin_config, &reading, plugin);
        effective["seatunnel_plugin"] = seatunnel_summary(&reading, &keys);
        keys
    });
    if out.json {
        if let Some(keys) = &keys {
            effective["seatunnel_plugin"]["keys"] = serde_json::json!(keys);
        }
        out.json(&effective)?;
    } else {
        // The key-by-key comparison reads better as text than as YAML.
        let text = serde_yaml_ng::to_string(&effective).map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?;
        out.line(text.trim_end())?;
        if let Some(keys) = &keys {
            print_key_comparison(&out, keys)?;
        }
        out.hint("configuration is valid")?;
    }
    Ok(0)
}
