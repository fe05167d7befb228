//! The Java peers built with Maven (`compat-peer/`, `compat-engine/`, through
//! `scripts/maven-peer.sh`): their class paths, and compat-peer's `PluginPeer`, which drives
//! SeaTunnel's own published checkpoint storage plugins found by SeaTunnel's factory discovery.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ckpt::checkpoint::PipelineState;
use sha2::{Digest, Sha256};

/// The class path of the Java peer in `module` (`compat-peer`, `compat-engine`), built once per
/// test binary by `<module>/build.sh`. `None` when it cannot be built and skipping is allowed
/// ([`super::missing`]).
pub fn classpath(module: &'static str) -> Option<String> {
    static BUILT: Mutex<Option<HashMap<&'static str, Result<String, String>>>> = Mutex::new(None);
    let built = {
        let mut cache = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get_or_insert_with(HashMap::new)
            .entry(module)
            .or_insert_with(|| build(module))
            .clone()
    };
    match built {
        Ok(cp) => Some(cp),
        Err(why) => super::missing(&why),
    }
}

fn build(module: &str) -> Result<String, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join(module).join("build.sh"))
        .output()
        .map_err(|e| format!("cannot run {module}/build.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{module}/build.sh failed (needs Java 17, Maven and SeaTunnel 2.3.8 from Maven Central): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `command` to its end, killing it after `limit` (then `Err`).
pub fn output_within(command: &mut Command, limit: Duration) -> Result<Output, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    // Drain both pipes while waiting, so a chatty process never blocks on a full pipe.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{command:?} did not end within {limit:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for {command:?}: {e}")),
        }
    };
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: join(stdout),
        stderr: join(stderr),
    })
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// One of SeaTunnel's plugins with its plugin-config, driven by compat-peer's `PluginPeer`.
pub struct JavaPlugin {
    cp: String,
    factory: &'static str,
    props: PathBuf,
}

/// What a plugin printed for one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub job: String,
    pub pipeline: i32,
    pub checkpoint: i64,
    /// Length and SHA-256 of the states; `None` for null states.
    pub states: Option<(usize, String)>,
}

impl Seen {
    /// What ckpt's state would print as.
    pub fn of(state: &PipelineState) -> Seen {
        Seen {
            job: state.job_id.clone(),
            pipeline: state.pipeline_id,
            checkpoint: state.checkpoint_id,
            states: Some((state.states.len(), sha256(&state.states))),
        }
    }
}

/// Lowercase hex SHA-256.
pub fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl JavaPlugin {
    /// The plugin `factory` (`hdfs`, `localfile`) with `config`, written to
    /// `<dir>/<factory>.properties`.
    pub fn new(
        cp: &str,
        factory: &'static str,
        dir: &std::path::Path,
        config: &[(&str, String)],
    ) -> Self {
        let props = dir.join(format!("{factory}.properties"));
        let text = super::compat_peer::properties(config.iter().map(|(k, v)| (*k, v.as_str())));
        std::fs::write(&props, text).unwrap();
        JavaPlugin {
            cp: cp.to_string(),
            factory,
            props,
        }
    }

    /// Runs a command; `Err` with the plugin's exception line when it failed.
    pub fn run(&self, args: &[&str]) -> Result<Vec<String>, String> {
        let out = Command::new("java")
            .args([
                "-Djava.net.preferIPv4Stack=true",
                "-cp",
                &self.cp,
                "ckpt.compat.PluginPeer",
            ])
            .arg(self.factory)
            .arg(&self.props)
            .args(args)
            .output()
            .expect("java runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout.lines().map(str::to_string).collect())
        } else {
            Err(format!(
                "{stdout}\n{}",
                tail(&String::from_utf8_lossy(&out.stderr), 15)
            ))
        }
    }

    /// [`JavaPlugin::run`], panicking on failure.
    pub fn must(&self, args: &[&str]) -> Vec<String> {
        self.run(args)
            .unwrap_or_else(|e| panic!("{} plugin {args:?} failed: {e}", self.factory))
    }

    /// Stores `state` through the plugin; returns the file name it reported.
    pub fn store(&self, work: &std::path::Path, state: &PipelineState) -> String {
        let file = work.join("states.bin");
        std::fs::write(&file, &state.states).unwrap();
        let lines = self.must(&[
            "store",
            &state.job_id,
            &state.pipeline_id.to_string(),
            &state.checkpoint_id.to_string(),
            &file.display().to_string(),
        ]);
        lines
            .iter()
            .find_map(|l| l.strip_prefix("stored "))
            .unwrap_or_else(|| panic!("no file name in {lines:?}"))
            .to_string()
    }

    /// The states a reading command printed.
    pub fn states(&self, args: &[&str]) -> Vec<Seen> {
        parse_states(&self.must(args))
    }
}

/// Parses `state JOB P C LEN SHA256` lines.
pub fn parse_states(lines: &[String]) -> Vec<Seen> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("state "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 5, "{l}");
            Seen {
                job: f[0].to_string(),
                pipeline: f[1].parse().unwrap(),
                checkpoint: f[2].parse().unwrap(),
                states: (f[3] != "null").then(|| (f[3].parse().unwrap(), f[4].to_string())),
            }
        })
        .collect()
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
