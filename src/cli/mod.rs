//! The `ckpt` command: inspect and manage a checkpoint namespace configured by `seatunnel.yaml`.

mod bench;
mod commands;
mod demo;
pub mod logging;
mod output;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ckpt::checkpoint::{CheckpointError, FileStorage, FileStoragePlan};
use ckpt::config::{self, LoadedConfig};

pub use output::Output;

/// Checkpoint storage compatible with Apache SeaTunnel's engine: local disk, HDFS, S3, OSS.
#[derive(Debug, Parser)]
#[command(name = "ckpt", version, about, propagate_version = true)]
pub struct Cli {
    /// seatunnel.yaml to use (default: an embedded configuration storing under $CKPT_HOME,
    /// or ~/.local/share/ckpt, on local disk).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print only results: no hints, no progress bars.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the jobs that have checkpoints.
    Jobs,
    /// List the checkpoint files of a job, newest first.
    List {
        /// Job id.
        job: String,
    },
    /// Restore: the newest readable checkpoint of each pipeline (or one), skipping corrupt files.
    Latest {
        /// Job id.
        job: String,
        /// Only this pipeline.
        #[arg(long, short = 'p')]
        pipeline: Option<String>,
    },
    /// Show one checkpoint; optionally write its states to a file.
    Show {
        /// Job id.
        job: String,
        /// Pipeline id.
        #[arg(allow_negative_numbers = true)]
        pipeline: String,
        /// Checkpoint id.
        #[arg(allow_negative_numbers = true)]
        checkpoint: String,
        /// Write the states bytes to this file (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        states_out: Option<PathBuf>,
    },
    /// Store a checkpoint whose states are read from a file or standard input.
    Store {
        /// Job id.
        #[arg(allow_negative_numbers = true)]
        job: String,
        /// Pipeline id.
        #[arg(allow_negative_numbers = true)]
        pipeline: String,
        /// Checkpoint id.
        #[arg(allow_negative_numbers = true)]
        checkpoint: String,
        /// The states bytes (`-` for standard input).
        #[arg(long, value_name = "FILE|-")]
        from: PathBuf,
    },
    /// Delete a whole job, or some checkpoints of one pipeline.
    Delete {
        /// Job id.
        job: String,
        /// Pipeline id (then name the checkpoints).
        pipeline: Option<String>,
        /// Checkpoint ids.
        checkpoints: Vec<String>,
    },
    /// Apply max-retained to every job and remove leftover temporary files.
    Prune {
        /// Only this job.
        job: Option<String>,
    },
    /// Decode every file; report corrupt and foreign files (exit code 1 if any).
    Verify,
    /// Configuration commands.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Run a small simulated engine on the configured storage: store, prune, corrupt, restore.
    Demo {
        /// Checkpoints stored per pipeline.
        #[arg(long, default_value_t = 6)]
        rounds: u32,
        /// Milliseconds between checkpoint rounds.
        #[arg(long, default_value_t = 100)]
        interval_ms: u64,
    },
    /// Measure store and restore on the configured storage (latency, throughput, peak memory).
    Bench {
        /// Size of each state (`64K`, `4M`...).
        #[arg(long, default_value = "64K", value_parser = parse_size_arg)]
        size: usize,
        /// Pipelines.
        #[arg(long, default_value_t = 4)]
        pipelines: i32,
        /// Checkpoints per pipeline.
        #[arg(long, default_value_t = 50)]
        checkpoints: i64,
    },
}

/// Sizes for `ckpt bench`, parsed like Hadoop sizes (`64K`, `4M`).
fn parse_size_arg(text: &str) -> Result<usize, String> {
    ckpt::conf::parse_size(text)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("{text:?} is not a size such as 4096, 64K or 4M"))
}

/// `ckpt config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate the configuration and print the effective, redacted settings.
    Check,
}

/// A failure with its exit code: 2 for configuration and usage, 1 for everything else.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<CheckpointError> for Failure {
    fn from(e: CheckpointError) -> Self {
        let code = match e {
            CheckpointError::Config(_)
            | CheckpointError::InvalidId { .. }
            | CheckpointError::UnknownStorage { .. } => 2,
            _ if matches!(e.fs_error(), Some(ckpt::fs::FsError::Config { .. })) => 2,
            _ => 1,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<config::ConfigError> for Failure {
    fn from(e: config::ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

/// The directory of the embedded default configuration.
pub fn default_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CKPT_HOME") {
        return PathBuf::from(home);
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(data).join("ckpt");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/ckpt"),
        None => std::env::temp_dir().join("ckpt"),
    }
}

/// The embedded default `seatunnel.yaml`: the general storage on local files.
pub fn embedded_default_yaml(home: &std::path::Path) -> String {
    format!(
        "seatunnel:\n  engine:\n    checkpoint:\n      interval: 10000\n      timeout: 60000\n      storage:\n        type: hdfs\n        max-retained: 3\n        plugin-config:\n          storage.type: local\n          fs.defaultFS: file:///\n          namespace: \"{}/checkpoint/\"\n",
        home.display()
    )
}

/// The configuration of a command, loaded and validated once: what every command starts from.
#[derive(Debug)]
pub struct Prepared {
    /// The parsed `seatunnel.yaml` (the storage's warnings included).
    pub loaded: LoadedConfig,
    /// Where it came from, for messages.
    pub source: String,
    /// The validated storage settings ([`plan_storage`]).
    pub plan: FileStoragePlan,
}

/// Everything a command needs before the async runtime starts; **call it while the process
/// has a single thread** (`main` does, before building the runtime): it loads and validates the
/// configuration ([`load_config`]) and makes the krb5.conf it names (`ckpt.kerberos.krb5-conf`,
/// `krb5_path`, `java.security.krb5.conf`) the process's `KRB5_CONFIG`, which is sound only
/// while no other thread can read the environment.
pub fn prepare(cli: &Cli) -> Result<Prepared, Failure> {
    let prepared = load_config(cli)?;
    #[cfg(feature = "kerberos")]
    ckpt::fs::kerberos::set_krb5_config_before_threads(&prepared.plan.hadoop)
        .map_err(|e| Failure::from(CheckpointError::Fs(e)))?;
    Ok(prepared)
}

/// Loads the configuration named by `--config`, or the embedded default, and validates its
/// storage settings with [`plan_storage`], once, so every command (`config check` included)
/// accepts and rejects the same configurations; the storage's warnings (e.g. misspelt keys)
/// are added to the configuration's.
pub fn load_config(cli: &Cli) -> Result<Prepared, Failure> {
    let (mut loaded, source) = match &cli.config {
        Some(file) => (config::load_file(file)?, file.display().to_string()),
        None => {
            let source = "<embedded default>".to_string();
            let yaml = embedded_default_yaml(&default_home());
            (config::parse(&yaml, &source)?, source)
        }
    };
    let plan = plan_storage(&loaded)?;
    loaded.warnings.extend(plan.warnings.iter().cloned());
    Ok(Prepared {
        loaded,
        source,
        plan,
    })
}

/// Validates the storage settings of the configuration without contacting the storage: the
/// one validation behind `config check` and [`open_storage`].
pub fn plan_storage(loaded: &LoadedConfig) -> Result<FileStoragePlan, Failure> {
    let storage = &loaded.checkpoint.storage;
    // Nothing is contacted here: every failure is one of configuration (exit 2).
    let plan = storage
        .settings()
        .plan(&storage.storage_type)
        .map_err(|e| Failure::usage(e.to_string()))?;
    tracing::debug!(
        storage = plan.identifier,
        namespace = %plan.namespace,
        "storage configuration validated"
    );
    Ok(plan)
}

/// Builds the file storage of a validated configuration (the first step that may contact it).
pub async fn open_storage(prepared: &Prepared) -> Result<FileStorage, Failure> {
    let settings = prepared.loaded.checkpoint.storage.settings();
    Ok(prepared.plan.open(&settings.filesystems).await?)
}

/// Parses the command line. On an error clap prints its message (exit 2); with `--json` among
/// the arguments the error is also printed on stdout as `{"error": …, "exit_code": …}`, like
/// every other error. `--help` and `--version` print as usual and exit 0.
pub fn parse_args() -> Result<Cli, ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    Cli::try_parse_from(&args).map_err(|e| report_parse_error(&e, wants_json(&args)))
}

/// True when `--json` is among the options (before any `--`, after which it is a value).
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

fn report_parse_error(e: &clap::Error, json: bool) -> ExitCode {
    let code = e.exit_code();
    let informational = matches!(
        e.kind(),
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
    );
    if json && !informational && code != 0 {
        let rendered = e.render().to_string();
        let message = rendered.trim();
        let message = message.strip_prefix("error: ").unwrap_or(message);
        let out = Output {
            json: true,
            quiet: false,
        };
        let _ = out.json(&serde_json::json!({ "error": message, "exit_code": code }));
    }
    let _ = e.print();
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Runs the command line on its configuration ([`prepare`], or why it failed); returns the
/// process exit code.
pub async fn run(cli: Cli, prepared: Result<Prepared, Failure>) -> ExitCode {
    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    let result = match prepared {
        Ok(prepared) => commands::dispatch(&cli, &prepared, out).await,
        Err(failure) => Err(failure),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            // The sources redact secrets; this is the safety net for URLs from anywhere.
            let message = ckpt::conf::redact_log_text(&failure.message);
            if out.json {
                let _ = out.json(
                    &serde_json::json!({ "error": message.as_ref(), "exit_code": failure.code }),
                );
            }
            eprintln!("error: {message}");
            ExitCode::from(failure.code)
        }
    }
}
