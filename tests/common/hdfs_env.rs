//! Driver for `hdfs-testenv/run.sh MODE DIR`: starts a real MiniDFSCluster, waits for its READY
//! line, parses `info.json`, sends control commands (`failover`, `kill-nn I`, `restart-nn I`,
//! `active`, `kill-dn I`, `restart-dn I`, `status`) and stops the cluster on drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path as StdPath, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use ckpt::conf::{Configuration, load_site_files};

/// What `info.json` says about a running cluster.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HdfsInfo {
    /// `single`, `ha`, `kerberos` or `ha-kerberos`.
    pub mode: String,
    /// Directory holding core-site.xml and hdfs-site.xml.
    pub conf_dir: PathBuf,
    /// `hdfs://127.0.0.1:port` or `hdfs://<nameservice>`.
    #[serde(rename = "defaultFS")]
    pub default_fs: String,
    /// The HA nameservice, if any.
    pub nameservice: Option<String>,
    /// NameNodes in index order.
    pub namenodes: Vec<NameNodeInfo>,
    /// Number of DataNodes.
    pub datanodes: u32,
    /// The OS user the cluster made /ckpt for.
    pub client_user: String,
    /// Kerberos details (null without Kerberos).
    pub kerberos: bool,
    pub client_principal: Option<String>,
    pub keytab: Option<PathBuf>,
    pub krb5_conf: Option<PathBuf>,
    pub namenode_principal: Option<String>,
    pub realm: Option<String>,
    pub protection: Option<String>,
    /// SASL protection DataNodes require (`None`: trusted DataNodes, no SASL).
    #[serde(default)]
    pub data_transfer_protection: Option<String>,
    pub ticket_lifetime_seconds: Option<u64>,
}

/// One NameNode.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameNodeInfo {
    /// `nn0`, `nn1`...
    pub id: String,
    /// `127.0.0.1:port` (null while down at startup).
    pub rpc_address: Option<String>,
}

struct Control {
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// A running hdfs-testenv cluster.
pub struct HdfsEnv {
    /// Parsed info.json.
    pub info: HdfsInfo,
    /// The directory given to run.sh.
    pub dir: PathBuf,
    child: Mutex<Child>,
    control: Mutex<Control>,
    stderr_log: PathBuf,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl HdfsEnv {
    /// Starts a cluster in `mode` with extra launcher options (e.g. `--datanodes 4`).
    /// `Err` says what is missing or what went wrong (with the launcher's log path).
    pub fn start(mode: &str, extra: &[&str]) -> Result<HdfsEnv, String> {
        HdfsEnv::start_in(mode, &Self::fresh_work_dir(mode), extra)
    }

    /// A new directory name for [`HdfsEnv::start_in`]; the cluster's files (site files,
    /// krb5.conf, keytab) go to `<it>/cluster/`. Removes the work directories of test
    /// processes that no longer run first ([`remove_stale_work_dirs`]).
    pub fn fresh_work_dir(mode: &str) -> PathBuf {
        remove_stale_work_dirs();
        std::env::temp_dir().join(format!(
            "{WORK_DIR_PREFIX}{mode}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ))
    }

    /// Like [`HdfsEnv::start`], in the work directory `dir`.
    pub fn start_in(mode: &str, dir: &std::path::Path, extra: &[&str]) -> Result<HdfsEnv, String> {
        let script = repo_root().join("hdfs-testenv/run.sh");
        if !script.exists() {
            return Err(format!("{} not found", script.display()));
        }
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let stderr_log = dir.join("launcher.log");
        let log = std::fs::File::create(&stderr_log).map_err(|e| e.to_string())?;
        let mut child = Command::new("bash")
            .arg(&script)
            .arg(mode)
            .arg(dir.join("cluster"))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let timeout = std::env::var("CKPT_HDFS_START_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(900));
        let deadline = Instant::now() + timeout;
        let info_path = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(p) = line.trim().strip_prefix("HDFS-TESTENV READY ") {
                        break PathBuf::from(p.trim());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "hdfs-testenv ({mode}) not ready after {timeout:?}; log: {}",
                        stderr_log.display()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(format!(
                        "hdfs-testenv ({mode}) exited before READY ({status}); last log lines:\n{}",
                        tail(&stderr_log, 15)
                    ));
                }
            }
        };
        let text = std::fs::read_to_string(&info_path)
            .map_err(|e| format!("{}: {e}", info_path.display()))?;
        let info: HdfsInfo = serde_json::from_str(&text)
            .map_err(|e| format!("{}: {e}\n{text}", info_path.display()))?;
        eprintln!(
            "hdfs-testenv {mode} ready: {} (log {})",
            info.default_fs,
            stderr_log.display()
        );
        Ok(HdfsEnv {
            info,
            dir,
            child: Mutex::new(child),
            control: Mutex::new(Control { stdin, lines: rx }),
            stderr_log,
        })
    }

    /// Sends one command and returns the text after `OK`; `Err` with the `ERR` line otherwise.
    pub fn command(&self, cmd: &str) -> Result<String, String> {
        let mut control = self.control.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(control.stdin, "{cmd}").map_err(|e| format!("{cmd}: {e}"))?;
        control.stdin.flush().map_err(|e| format!("{cmd}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match control.lines.recv_timeout(left) {
                Ok(line) => {
                    let line = line.trim().to_string();
                    if let Some(rest) = line.strip_prefix("OK") {
                        return Ok(rest.trim().to_string());
                    }
                    if line.starts_with("ERR") {
                        return Err(format!("{cmd}: {line}"));
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "{cmd}: no reply ({e:?}); log tail:\n{}",
                        tail(&self.stderr_log, 15)
                    ));
                }
            }
        }
    }

    /// Like [`HdfsEnv::command`] but panics on `ERR`.
    pub fn must(&self, cmd: &str) -> String {
        match self.command(cmd) {
            Ok(s) => s,
            Err(e) => panic!("hdfs-testenv command failed: {e}"),
        }
    }

    /// Index of the active NameNode.
    pub fn active(&self) -> usize {
        self.must("active").trim().parse().expect("active index")
    }

    /// The client configuration the cluster wrote (core-site.xml + hdfs-site.xml).
    pub fn site_conf(&self) -> Configuration {
        load_site_files(&self.info.conf_dir).expect("site files of the test cluster")
    }

    /// `rpc-address` of NameNode `i`.
    pub fn nn_address(&self, i: usize) -> String {
        self.info.namenodes[i]
            .rpc_address
            .clone()
            .expect("NameNode address")
    }
}

impl Drop for HdfsEnv {
    /// Stops the cluster and removes its work directory, unless the test is failing
    /// (panicking: the launcher log is kept for the report) or `CKPT_KEEP_HDFS_DIRS` is set.
    fn drop(&mut self) {
        let _ = self.command("stop");
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut stopped = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                stopped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if !stopped {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() && std::env::var_os("CKPT_KEEP_HDFS_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Prefix of the work directories [`HdfsEnv::fresh_work_dir`] names in the temp directory:
/// `ckpt-hdfs-<mode>-<pid>-<8 hex digits>`.
const WORK_DIR_PREFIX: &str = "ckpt-hdfs-";

/// Removes the work directories of test processes that no longer run (a shared cluster lives in
/// a static, which is never dropped; a killed test never cleans up) and returns them. A
/// directory is stale when the pid in its name has no `/proc/<pid>` (Linux; elsewhere nothing
/// is removed).
pub fn remove_stale_work_dirs() -> Vec<PathBuf> {
    let proc = StdPath::new("/proc");
    if !proc.join("self").exists() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(work_dir_pid) else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let path = entry.path();
            if std::fs::remove_dir_all(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    removed
}

/// The pid in a work directory name `ckpt-hdfs-<mode>-<pid>-<8 hex digits>`.
fn work_dir_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(WORK_DIR_PREFIX)?;
    let mut parts = rest.rsplitn(3, '-');
    let hex = parts.next()?;
    let pid = parts.next()?;
    let mode = parts.next()?;
    let hex_ok = hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit());
    (hex_ok && !mode.is_empty())
        .then(|| pid.parse().ok())
        .flatten()
}

fn tail(file: &StdPath, n: usize) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Starts (once per test binary) a cluster in `mode`, shared by all tests of the binary. `None`
/// when it cannot start (after [`super::missing`] allowed skipping).
pub fn shared(
    cell: &'static std::sync::OnceLock<Result<HdfsEnv, String>>,
    mode: &str,
) -> Option<&'static HdfsEnv> {
    let result = cell.get_or_init(|| HdfsEnv::start(mode, &[]));
    match result {
        Ok(env) => Some(env),
        Err(e) => super::missing(&format!(
            "HDFS test cluster ({mode}) could not start: {e}. It needs Java 17 and Maven \
             (hdfs-testenv/build.sh downloads Hadoop's minicluster from Maven Central once)"
        )),
    }
}

/// The shared cluster of this test binary, started from async code.
pub fn shared_blocking(
    cell: &'static std::sync::OnceLock<Result<HdfsEnv, String>>,
    mode: &str,
) -> Option<&'static HdfsEnv> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(|| shared(cell, mode)),
        Err(_) => shared(cell, mode),
    }
}

impl HdfsEnv {
    /// The cluster's root URI (`hdfs://127.0.0.1:port` or `hdfs://<nameservice>`).
    pub fn root(&self) -> ckpt::fs::Path {
        ckpt::fs::Path::parse(&self.info.default_fs)
            .expect("defaultFS")
            .root()
    }

    /// A fresh directory under `/ckpt` (owned by the client user).
    pub fn fresh_dir(&self, name: &str) -> ckpt::fs::Path {
        ckpt::fs::Path::parse(&format!(
            "{}/ckpt/{}",
            self.info.default_fs.trim_end_matches('/'),
            super::conformance::unique(name)
        ))
        .expect("valid path")
    }

    /// A file system on the cluster through the registry, with the cluster's site files plus
    /// `extra` keys.
    pub async fn file_system(
        &self,
        extra: &[(&str, &str)],
    ) -> std::sync::Arc<dyn ckpt::fs::FileSystem> {
        let mut conf = self.site_conf();
        for (k, v) in extra {
            conf.set(*k, *v);
        }
        ckpt::fs::FileSystemRegistry::with_builtins()
            .get(&self.root(), &conf)
            .await
            .unwrap_or_else(|e| panic!("HDFS file system for {}: {e}", self.info.default_fs))
    }

    /// A conformance fixture in a fresh directory.
    pub async fn fs_fixture(&self) -> super::conformance::FsFixture {
        super::conformance::FsFixture {
            fs: self.file_system(&[]).await,
            base: self.fresh_dir("conformance"),
            large_listing: 1100,
            guard: None,
        }
    }

    /// A checkpoint-suite fixture in a fresh namespace.
    pub async fn checkpoint_fixture(&self) -> super::checkpoint_suite::CheckpointFixture {
        super::checkpoint_suite::CheckpointFixture {
            fs: self.file_system(&[]).await,
            namespace: self.fresh_dir("checkpoint"),
            guard: None,
        }
    }
}
