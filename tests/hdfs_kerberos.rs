//! Kerberos against a real MiniKdc + MiniDFSCluster (hdfs-testenv): keytab login from
//! plugin-config keys only, renewal over several two-minute ticket lifetimes in authentication
//! and privacy modes, HA + Kerberos with the seed page's keys, and clear errors for bad input.
//!
//! A process can use only one krb5.conf (MIT krb5 reads `KRB5_CONFIG`), and every cluster has its
//! own KDC, so each scenario runs in a child process: this binary re-runs itself with
//! `--ignored --exact kerberos_child` and `CKPT_KRB_CHILD=<scenario>`. The parent tests run the
//! children (the two renewal loops concurrently) and fail when a child fails.
//!
//! `CKPT_KRB_LOOP_SECS` (default 370, i.e. three 2-minute lifetimes and a margin) sets how long
//! each renewal loop runs.

#![cfg(feature = "kerberos")]

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ckpt::checkpoint::{
    CheckpointStorage, FileStorage, HdfsStorageFactory, PipelineState, StorageSettings,
};
use ckpt::conf::PluginConfig;
use ckpt::fs::FsError;
use ckpt::fs::kerberos::{self, KerberosSession};
use common::hdfs_env::HdfsEnv;
use hdfs_native::{Client, ClientBuilder, WriteOptions};

const CHILD_ENV: &str = "CKPT_KRB_CHILD";
/// The work directory a child starts its cluster in, chosen by the parent so that it can point
/// `KRB5_CONFIG` at the cluster's krb5.conf before the child starts (see [`spawn_cluster_child`]).
const WORK_DIR_ENV: &str = "CKPT_KRB_WORK_DIR";
const TICKET_LIFETIME: u64 = 120;
/// Ticket lifetime of the scenarios that only need a few re-logins (re-login every 22.5 s).
const SHORT_TICKET_LIFETIME: u64 = 30;

// ---------------------------------------------------------------- parent tests

#[test]
fn kerberos_renewal_loop_authentication_and_privacy() {
    let children: Vec<_> = ["loop:authentication", "loop:privacy"]
        .into_iter()
        .map(|scenario| (scenario, spawn_cluster_child(scenario, "kerberos")))
        .collect();
    let mut failed = Vec::new();
    for (scenario, child) in children {
        if !finish_child(scenario, child) {
            failed.push(scenario);
        }
    }
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}

#[test]
fn kerberos_ha_with_seed_keys_and_wrong_principal() {
    // The child finds krb5.conf the way a host does (KRB5_CONFIG, like /etc/krb5.conf), so the
    // plugin-config needs no key for it: the cluster writes it where this points.
    let work = HdfsEnv::fresh_work_dir("ha-kerberos");
    let ccache =
        std::ffi::OsString::from(format!("FILE:{}", work.join("operator.ccache").display()));
    let child = spawn_child_in("ha", &work, &[("KRB5CCNAME", ccache.as_os_str())]);
    assert!(finish_child("ha", child), "scenario ha failed");
}

#[test]
fn kerberos_kdc_outage_at_renewal_time() {
    assert!(
        finish_child("outage", spawn_cluster_child("outage", "kerberos")),
        "scenario outage failed"
    );
}

#[test]
fn kerberos_relogin_keeps_namenode_service_tickets() {
    assert!(
        finish_child("services", spawn_cluster_child("services", "kerberos")),
        "scenario services failed"
    );
}

#[test]
fn kerberos_bad_keytab_and_unreachable_kdc() {
    // krb5.conf for a KDC that refuses connections, named by KRB5_CONFIG from the start.
    let dir = tempfile::tempdir().expect("tempdir");
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let krb5 = dir.path().join("krb5.conf");
    std::fs::write(
        &krb5,
        format!(
            "[libdefaults]\n default_realm = EXAMPLE.COM\n udp_preference_limit = 1\n dns_lookup_kdc = false\n\
             [realms]\n EXAMPLE.COM = {{\n  kdc = 127.0.0.1:{closed_port}\n }}\n"
        ),
    )
    .expect("krb5.conf");
    let child = spawn_child_with(
        "offline",
        &[
            (WORK_DIR_ENV, dir.path().as_os_str()),
            ("KRB5_CONFIG", krb5.as_os_str()),
        ],
    );
    assert!(finish_child("offline", child), "scenario offline failed");
}

/// `set_krb5_config_before_threads` accepts the krb5.conf KRB5_CONFIG names and refuses another
/// once other threads run.
#[test]
fn kerberos_krb5_config_is_set_before_threads_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let krb5 = dir.path().join("a.conf");
    std::fs::write(&krb5, "[libdefaults]\n default_realm = EXAMPLE.COM\n").expect("krb5.conf");
    let child = spawn_child_with("setenv", &[("KRB5_CONFIG", krb5.as_os_str())]);
    assert!(finish_child("setenv", child), "scenario setenv failed");
}

/// The `ckpt` command with the krb5.conf named by `ckpt.kerberos.krb5-conf` or `krb5_path` (and
/// a `KRB5_CONFIG` naming a missing file, which the key overrides): `main` sets KRB5_CONFIG
/// before its runtime starts, then stores and restores on the Kerberos cluster.
#[test]
fn kerberos_cli_with_krb5_conf_keys() {
    let Some(env) = (match HdfsEnv::start("kerberos", &["--protection", "authentication"]) {
        Ok(env) => Some(env),
        Err(e) => common::missing(&format!("hdfs-testenv kerberos cluster: {e}")),
    }) else {
        return;
    };
    let info = &env.info;
    let dir = tempfile::tempdir().expect("tempdir");
    let states = dir.path().join("states.bin");
    std::fs::write(&states, b"states through the ckpt command").expect("states");
    for key in ["ckpt.kerberos.krb5-conf", "krb5_path"] {
        let yaml = format!(
            "seatunnel:\n  engine:\n    checkpoint:\n      interval: 10000\n      timeout: 60000\n      storage:\n        type: hdfs\n        max-retained: 3\n        plugin-config:\n          storage.type: hdfs\n          fs.defaultFS: {}\n          namespace: /tmp/krb-cli-{key}/\n          kerberosPrincipal: {}\n          kerberosKeytabFilePath: {}\n          {key}: {}\n          seatunnel.hadoop.dfs.data.transfer.protection: {}\n",
            info.default_fs,
            info.client_principal.clone().expect("principal"),
            path_str(&info.keytab),
            path_str(&info.krb5_conf),
            info.protection.clone().expect("protection"),
        );
        let config = dir.path().join(format!("{key}.yaml"));
        std::fs::write(&config, yaml).expect("seatunnel.yaml");
        let ckpt = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_ckpt"))
                .arg("--config")
                .arg(&config)
                .args(args)
                .env("KRB5_CONFIG", dir.path().join("missing-krb5.conf"))
                .env_remove("KRB5CCNAME")
                .env_remove("HADOOP_CONF_DIR")
                .output()
                .expect("run ckpt");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            println!("ckpt {args:?} with {key}: {}\n{text}", out.status);
            assert!(out.status.success(), "ckpt {args:?} with {key}: {text}");
            text
        };
        let from = states.display().to_string();
        ckpt(&["store", "7", "1", "1", "--from", &from]);
        let latest = ckpt(&["--json", "latest", "7"]);
        assert!(
            latest.contains("\"checkpoint_id\": 1") || latest.contains("\"checkpoint_id\":1"),
            "{latest}"
        );
    }
    drop(env);
}

/// The entry point of the child processes (does nothing without `CKPT_KRB_CHILD`).
#[test]
#[ignore = "run by the other tests of this file in a child process"]
fn kerberos_child() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    if scenario == "setenv" {
        set_krb5_config_before_threads();
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match scenario.as_str() {
        "loop:authentication" => rt.block_on(renewal_loop("authentication")),
        "loop:privacy" => rt.block_on(renewal_loop("privacy")),
        "ha" => rt.block_on(ha_with_seed_keys()),
        "offline" => rt.block_on(offline_errors()),
        "outage" => rt.block_on(kdc_outage_at_renewal()),
        "services" => rt.block_on(service_tickets_survive_relogin()),
        other => panic!("unknown scenario {other}"),
    }
}

/// A child whose cluster (`mode`) runs in a work directory chosen here, with `KRB5_CONFIG`
/// already pointing at the krb5.conf the cluster will write: a multi-threaded process cannot
/// change `KRB5_CONFIG` safely, so the environment must name it from the start (as a service's
/// would). The child's plugin-config may name the same file with a krb5.conf key.
fn spawn_cluster_child(scenario: &str, mode: &str) -> std::process::Child {
    spawn_child_in(scenario, &HdfsEnv::fresh_work_dir(mode), &[])
}

fn spawn_child_in(
    scenario: &str,
    work: &std::path::Path,
    env: &[(&str, &std::ffi::OsStr)],
) -> std::process::Child {
    let krb5 = work.join("cluster/krb5.conf");
    let mut all: Vec<(&str, &std::ffi::OsStr)> = vec![
        (WORK_DIR_ENV, work.as_os_str()),
        ("KRB5_CONFIG", krb5.as_os_str()),
    ];
    all.extend_from_slice(env);
    spawn_child_with(scenario, &all)
}

fn spawn_child_with(scenario: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([
        "--ignored",
        "--exact",
        "kerberos_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, scenario)
    .env_remove("KRB5_CONFIG")
    .env_remove("KRB5CCNAME")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child test process")
}

fn finish_child(scenario: &str, child: std::process::Child) -> bool {
    let out = child.wait_with_output().expect("wait for child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "===== scenario {scenario}: {} =====\n{stdout}\n{stderr}",
        out.status
    );
    out.status.success() && stdout.contains("1 passed")
}

// ---------------------------------------------------------------- helpers

fn start(mode: &str, protection: &str) -> Option<HdfsEnv> {
    start_with_lifetime(mode, protection, TICKET_LIFETIME)
}

/// Starts the child's cluster in the work directory its parent chose (see
/// [`spawn_cluster_child`]).
fn start_with_lifetime(mode: &str, protection: &str, lifetime: u64) -> Option<HdfsEnv> {
    let work = std::env::var_os(WORK_DIR_ENV)
        .map(std::path::PathBuf::from)
        .expect("the parent names the work directory");
    let lifetime = lifetime.to_string();
    match HdfsEnv::start_in(
        mode,
        &work,
        &["--protection", protection, "--ticket-lifetime", &lifetime],
    ) {
        Ok(env) => Some(env),
        Err(e) => common::missing(&format!(
            "hdfs-testenv {mode} cluster (Java 17 + Maven, see hdfs-testenv/README.md): {e}"
        )),
    }
}

fn plugin(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The plugin-config of a client of the `kerberos` cluster `info`: its keytab under
/// `keytab_key` (`kerberosKeytab` or `kerberosKeytabFilePath`), its krb5.conf and its data
/// transfer protection.
fn login_plugin(info: &common::hdfs_env::HdfsInfo, keytab_key: &str) -> BTreeMap<String, String> {
    let krb5 = path_str(&info.krb5_conf);
    let keytab = path_str(&info.keytab);
    let principal = info.client_principal.clone().expect("principal");
    let dtp = info.protection.clone().expect("protection");
    plugin(&[
        ("storage.type", "hdfs"),
        ("fs.defaultFS", &info.default_fs),
        ("kerberosPrincipal", &principal),
        (keytab_key, &keytab),
        ("seatunnel.hadoop.java.security.krb5.conf", &krb5),
        ("seatunnel.hadoop.dfs.data.transfer.protection", &dtp),
    ])
}

fn path_str(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref().expect("kerberos info").display().to_string()
}

/// An hdfs-native client for `plugin`'s configuration using `session`; `keytab: false` leaves
/// the refresh to ckpt's renewal thread alone (principal + private cache only).
fn client(
    default_fs: &str,
    conf: &PluginConfig,
    session: &KerberosSession,
    keytab: bool,
) -> Client {
    let options: std::collections::HashMap<String, String> = conf
        .hadoop
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let builder = ClientBuilder::new()
        .with_url(default_fs)
        .with_config(options);
    let builder = if keytab {
        session.configure_client(builder)
    } else {
        builder
            .with_kerberos_principal(session.principal())
            .with_kerberos_cache(session.ccache_name())
    };
    builder.build().expect("hdfs-native client")
}

async fn write_read(client: &Client, path: &str, data: &Bytes) -> Result<(), String> {
    let mut w = client
        .create(path, WriteOptions::default().overwrite(true))
        .await
        .map_err(|e| format!("create {path}: {e}"))?;
    w.write_bytes(data.clone())
        .await
        .map_err(|e| format!("write {path}: {e}"))?;
    w.close().await.map_err(|e| format!("close {path}: {e}"))?;
    let r = client
        .read(path)
        .await
        .map_err(|e| format!("open {path}: {e}"))?;
    let back = r
        .read_range(0, r.file_length())
        .await
        .map_err(|e| format!("read {path}: {e}"))?;
    if back != *data {
        return Err(format!(
            "{path}: read back {} bytes that differ",
            back.len()
        ));
    }
    Ok(())
}

async fn store_restore(
    storage: &FileStorage,
    job: &str,
    iteration: u64,
    data: &Bytes,
) -> Result<(), String> {
    let job_id = if job == "storage-long" {
        "1001"
    } else {
        "1002"
    };
    let state = PipelineState {
        job_id: job_id.to_string(),
        pipeline_id: 1,
        checkpoint_id: iteration as i64 + 1,
        states: data.clone(),
    };
    storage
        .store_checkpoint(&state)
        .await
        .map_err(|e| format!("store checkpoint {iteration}: {e}"))?;
    let latest = storage
        .get_latest_checkpoint(job_id)
        .await
        .map_err(|e| format!("restore latest: {e}"))?;
    match latest.as_slice() {
        [s] if s.checkpoint_id == state.checkpoint_id && s.states == state.states => Ok(()),
        other => Err(format!(
            "restored {other:?}, expected checkpoint {}",
            state.checkpoint_id
        )),
    }
}

fn secs_until(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

// ---------------------------------------------------------------- scenarios

/// Writes and reads for at least three ticket lifetimes, through (a) long-lived clients, (b) a
/// new client (new NameNode connection, new GSSAPI handshake) every iteration, each both with
/// the keytab handed to GSSAPI and with ckpt's private cache alone. Zero failures allowed.
async fn renewal_loop(protection: &str) {
    let Some(env) = start("kerberos", protection) else {
        return;
    };
    let info = &env.info;
    let keytab_key = if protection == "privacy" {
        "kerberosKeytab"
    } else {
        "kerberosKeytabFilePath"
    };
    let krb5 = path_str(&info.krb5_conf);
    let login_keys = login_plugin(info, keytab_key);
    let conf = PluginConfig::from_map(&login_keys, &Default::default()).expect("plugin-config");

    let session = kerberos::login(&conf.hadoop)
        .await
        .expect("login")
        .expect("session");
    assert_eq!(
        std::env::var("KRB5_CONFIG").ok().as_deref(),
        Some(krb5.as_str())
    );
    assert!(session.ccache_name().starts_with("MEMORY:ckpt-"));
    let (_, first_end) = session.ticket_validity();

    // The same login through ckpt's own stack: plugin-config -> HdfsStorageFactory ->
    // FileStorage on the HDFS backend (which shares the session above).
    let mut storage_map = login_keys.clone();
    storage_map.insert("namespace".into(), format!("/tmp/krb-ckpt-{protection}/"));
    let mut settings = StorageSettings::new(storage_map, 3);
    settings.hadoop_conf_dir = None;
    let long_storage = HdfsStorageFactory
        .create_file_storage(&settings)
        .await
        .expect("FileStorage on HDFS with Kerberos");
    let long_kt = client(&info.default_fs, &conf, &session, true);
    let long_cc = client(&info.default_fs, &conf, &session, false);
    let secs: u64 = std::env::var("CKPT_KRB_LOOP_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3 * TICKET_LIFETIME + 10);
    let started = Instant::now();
    let dir = format!("/tmp/krb-loop-{protection}");
    let (mut iterations, mut ops) = (0u64, 0u64);
    let mut failures = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        let data = Bytes::from(format!("{protection} iteration {iterations} ").repeat(2000));
        let fresh_kt = client(&info.default_fs, &conf, &session, true);
        let fresh_cc = client(&info.default_fs, &conf, &session, false);
        for (name, c) in [
            ("long-keytab", &long_kt),
            ("long-ccache", &long_cc),
            ("fresh-keytab", &fresh_kt),
            ("fresh-ccache", &fresh_cc),
        ] {
            let path = format!("{dir}/{name}-{}", iterations % 3);
            ops += 1;
            if let Err(e) = write_read(c, &path, &data).await {
                eprintln!("t={}s {name}: {e}", started.elapsed().as_secs());
                failures.push(format!("t={}s {name}: {e}", started.elapsed().as_secs()));
            }
        }
        // Store/restore through a long-lived FileStorage and through a new one (new client).
        match HdfsStorageFactory.create_file_storage(&settings).await {
            Ok(fresh_storage) => {
                for (name, storage) in [
                    ("storage-long", &long_storage),
                    ("storage-fresh", &fresh_storage),
                ] {
                    ops += 1;
                    if let Err(e) = store_restore(storage, name, iterations, &data).await {
                        eprintln!("t={}s {name}: {e}", started.elapsed().as_secs());
                        failures.push(format!("t={}s {name}: {e}", started.elapsed().as_secs()));
                    }
                }
            }
            Err(e) => failures.push(format!(
                "t={}s new FileStorage: {e}",
                started.elapsed().as_secs()
            )),
        }
        iterations += 1;
        if iterations % 10 == 0 {
            let (_, end) = session.ticket_validity();
            println!(
                "t={}s iterations={iterations} logins={} ticket expires in {}s",
                started.elapsed().as_secs(),
                session.logins(),
                secs_until(end)
            );
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let elapsed = started.elapsed();
    let logins = session.logins();
    println!(
        "KRB-LOOP-SUMMARY protection={protection} secs={} iterations={iterations} ops={ops} failures={} logins={logins} first_ticket_expired_{}s_before_end last_error={:?}",
        elapsed.as_secs(),
        failures.len(),
        -secs_until(first_end),
        session.last_error()
    );
    assert!(
        failures.is_empty(),
        "authentication/IO failures: {failures:#?}"
    );
    // The loop outlived the first ticket by at least two more lifetimes.
    if secs >= 3 * TICKET_LIFETIME {
        assert!(
            SystemTime::now() > first_end + Duration::from_secs(2 * TICKET_LIFETIME),
            "loop did not span three lifetimes"
        );
        // One login at start, then one per 90 s (75% of 120 s).
        assert!(logins >= 4, "only {logins} logins in {elapsed:?}");
    }
    drop(env);
}

/// The KDC becomes unreachable for the client 70 s into a 120 s ticket and comes back at
/// 100 s: the re-login due at 90 s fails, is retried with backoff while the old ticket still
/// works, and succeeds once the KDC is back. Stores through a long-lived and a new FileStorage
/// every 3 s until well past the first ticket's end: zero failures.
async fn kdc_outage_at_renewal() {
    let Some(env) = start("kerberos", "authentication") else {
        return;
    };
    let info = &env.info;
    let mut keys = login_plugin(info, "kerberosKeytab");
    keys.insert("namespace".into(), "/tmp/krb-outage/".into());
    let conf = PluginConfig::from_map(&keys, &Default::default()).expect("plugin-config");
    let session = kerberos::login(&conf.hadoop)
        .await
        .expect("login")
        .expect("session");
    let (first_start, first_end) = session.ticket_validity();
    let at = |secs: u64| first_start + Duration::from_secs(secs);
    let mut settings = StorageSettings::new(keys, 3);
    settings.hadoop_conf_dir = None;
    let long_storage = HdfsStorageFactory
        .create_file_storage(&settings)
        .await
        .expect("FileStorage");
    let data = Bytes::from(vec![7u8; 64 * 1024]);
    let (mut iterations, mut failures) = (0u64, Vec::new());
    let (mut went_down, mut came_up, mut saw_failed_relogin) = (false, false, false);
    while SystemTime::now() < first_end + Duration::from_secs(30) {
        let now = SystemTime::now();
        if !went_down && now >= at(70) {
            println!("kdc-down: {}", env.must("kdc-down"));
            went_down = true;
        }
        if went_down && !came_up && now >= at(100) {
            println!(
                "kdc-up: {} (failed re-login seen: {})",
                env.must("kdc-up"),
                session.last_error().unwrap_or_default()
            );
            came_up = true;
        }
        if went_down && !came_up && session.last_error().is_some() {
            saw_failed_relogin = true;
        }
        let fresh = HdfsStorageFactory.create_file_storage(&settings).await;
        for (name, storage) in [
            ("storage-long", Ok(&long_storage)),
            ("storage-fresh", fresh.as_ref()),
        ] {
            let result = match storage {
                Ok(storage) => store_restore(storage, name, iterations, &data).await,
                Err(e) => Err(format!("new FileStorage: {e}")),
            };
            if let Err(e) = result {
                let line = format!("t={}s {name}: {e}", secs_since(first_start));
                eprintln!("{line}");
                failures.push(line);
            }
        }
        iterations += 1;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    println!(
        "KRB-OUTAGE-SUMMARY iterations={iterations} failures={} logins={} last_error={:?}",
        failures.len(),
        session.logins(),
        session.last_error()
    );
    assert!(came_up, "the loop ended before the KDC came back");
    assert!(
        saw_failed_relogin,
        "the re-login due during the outage did not fail: the outage was not exercised"
    );
    assert!(failures.is_empty(), "failures: {failures:#?}");
    assert!(session.logins() >= 2, "no re-login after the KDC came back");
    assert_eq!(session.last_error(), None, "the last re-login failed");
    let (_, end) = session.ticket_validity();
    assert!(end > first_end, "the ticket was not renewed");
    drop(env);
}

fn secs_since(t: SystemTime) -> u64 {
    SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The tickets for the NameNode principal (`dfs.namenode.kerberos.principal`) fetched at login
/// are still in the session's cache after an explicit re-login and after the renewal thread's
/// own re-logins (a re-login replaces the cache), so a new NameNode connection finds its service
/// ticket there instead of asking the KDC from an async worker.
async fn service_tickets_survive_relogin() {
    let Some(env) = start_with_lifetime("kerberos", "authentication", SHORT_TICKET_LIFETIME) else {
        return;
    };
    let info = &env.info;
    let nn = info.namenode_principal.clone().expect("NameNode principal");
    let mut keys = login_plugin(info, "kerberosKeytab");
    keys.insert(
        "seatunnel.hadoop.dfs.namenode.kerberos.principal".into(),
        nn.clone(),
    );
    let conf = PluginConfig::from_map(&keys, &Default::default()).expect("plugin-config");
    let session = kerberos::login(&conf.hadoop)
        .await
        .expect("login")
        .expect("session");
    let cached = || async {
        session
            .cached_service_principals()
            .await
            .expect("list the cache")
    };
    let at_login = cached().await;
    println!("after login: {at_login:?}");
    assert!(
        at_login.contains(&nn),
        "no ticket for {nn} after login: {at_login:?}"
    );

    let logins = session.logins();
    session.relogin().await.expect("explicit re-login");
    let after = cached().await;
    println!("after an explicit re-login: {after:?}");
    assert!(after.iter().any(|p| p.starts_with("krbtgt/")), "{after:?}");
    assert!(
        after.contains(&nn),
        "the re-login dropped the ticket for {nn}: {after:?}"
    );

    // Two re-logins of the renewal thread (22.5 s apart with 30 s tickets).
    let deadline = Instant::now() + Duration::from_secs(4 * SHORT_TICKET_LIFETIME);
    while session.logins() < logins + 3 {
        assert!(
            Instant::now() < deadline,
            "the renewal thread did not log in again: {} logins, last error {:?}",
            session.logins(),
            session.last_error()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = cached().await;
    println!("after the renewal thread's re-logins: {after:?}");
    assert!(
        after.contains(&nn),
        "the renewal dropped the ticket for {nn}: {after:?}"
    );
    let c = client(&info.default_fs, &conf, &session, false);
    write_read(
        &c,
        "/tmp/krb-services/file",
        &Bytes::from_static(b"services"),
    )
    .await
    .expect("write/read after the re-logins");
    drop(env);
}

/// HA + Kerberos with only the seed page's keys (storage.type, fs.defaultFS, kerberosPrincipal,
/// kerberosKeytab), the HA keys and `seatunnel.hadoop.dfs.namenode.kerberos.principal`, on a
/// cluster whose DataNodes are trusted without SASL (as classic secure DataNodes on privileged
/// ports are); krb5.conf comes from the environment. First straight through the client, then
/// the seed page's HA sample through the storage factory; then a wrong principal and a wrong
/// NameNode principal.
async fn ha_with_seed_keys() {
    let work = std::env::var_os(WORK_DIR_ENV)
        .map(std::path::PathBuf::from)
        .expect("the parent test names the work directory");
    let lifetime = TICKET_LIFETIME.to_string();
    let env = match HdfsEnv::start_in(
        "ha-kerberos",
        &work,
        &[
            "--protection",
            "privacy",
            "--ticket-lifetime",
            &lifetime,
            "--dn-sasl",
            "off",
        ],
    ) {
        Ok(env) => env,
        Err(e) => {
            common::missing::<()>(&format!("hdfs-testenv ha-kerberos cluster: {e}"));
            return;
        }
    };
    assert_eq!(env.info.data_transfer_protection, None);
    assert_eq!(
        std::env::var_os("KRB5_CONFIG").map(std::path::PathBuf::from),
        env.info.krb5_conf,
        "krb5.conf is where the parent said it would be"
    );
    let info = env.info.clone();
    let ns = info.nameservice.clone().expect("nameservice");
    let keytab = path_str(&info.keytab);
    let principal = info.client_principal.clone().expect("principal");
    let nn_principal = info.namenode_principal.clone().expect("nn principal");
    let ids: Vec<String> = info.namenodes.iter().map(|n| n.id.clone()).collect();
    let mut pairs: Vec<(String, String)> = vec![
        ("storage.type".into(), "hdfs".into()),
        ("fs.defaultFS".into(), format!("hdfs://{ns}")),
        ("kerberosPrincipal".into(), principal.clone()),
        ("kerberosKeytab".into(), keytab.clone()),
        ("seatunnel.hadoop.dfs.nameservices".into(), ns.clone()),
        (
            format!("seatunnel.hadoop.dfs.ha.namenodes.{ns}"),
            ids.join(","),
        ),
        (
            format!("seatunnel.hadoop.dfs.client.failover.proxy.provider.{ns}"),
            "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider".into(),
        ),
        (
            "seatunnel.hadoop.dfs.namenode.kerberos.principal".into(),
            nn_principal.clone(),
        ),
    ];
    for nn in &info.namenodes {
        pairs.push((
            format!("seatunnel.hadoop.dfs.namenode.rpc-address.{ns}.{}", nn.id),
            nn.rpc_address.clone().expect("rpc address"),
        ));
    }
    let map: BTreeMap<String, String> = pairs.into_iter().collect();
    let conf = PluginConfig::from_map(&map, &Default::default()).expect("plugin-config");
    let session = kerberos::login(&conf.hadoop)
        .await
        .expect("login")
        .expect("session");
    let c = client(&format!("hdfs://{ns}"), &conf, &session, true);
    let data = Bytes::from_static(b"ha + kerberos with the seed page's keys");
    write_read(&c, "/tmp/krb-ha/seed", &data)
        .await
        .expect("HA + Kerberos write/read");

    // Still works after a failover (new connection to the other NameNode, new handshake).
    env.must("failover");
    write_read(&c, "/tmp/krb-ha/after-failover", &data)
        .await
        .expect("write/read after failover");

    // The seed page's HA sample (hosts replaced) plus the seed Kerberos keys and the NameNode
    // principal, through the storage factory as an engine would load it.
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed/hdfs-ha.yaml"),
    )
    .expect("seed sample");
    let mut yaml = sample
        .replace("usdp-bing-nn1:8020", &env.nn_address(0))
        .replace("usdp-bing-nn2:8020", &env.nn_address(1));
    for (k, v) in [
        ("kerberosPrincipal", principal.as_str()),
        ("kerberosKeytab", keytab.as_str()),
        (
            "seatunnel.hadoop.dfs.namenode.kerberos.principal",
            nn_principal.as_str(),
        ),
    ] {
        yaml.push_str(&format!("          {k}: {v}\n"));
    }
    common::seed_sample_roundtrip(&yaml, "79").await;
    println!("seed HA sample + Kerberos keys: stored and restored through the factory");

    operator_ticket_cache(&env, &principal, &keytab).await;

    // Wrong client principal: not in the keytab.
    let mut wrong = map.clone();
    wrong.insert("kerberosPrincipal".into(), "nobody@EXAMPLE.COM".into());
    let conf_wrong = PluginConfig::from_map(&wrong, &Default::default()).expect("plugin-config");
    let err = kerberos::login(&conf_wrong.hadoop)
        .await
        .expect_err("wrong principal");
    let msg = err.to_string();
    println!("wrong principal -> {msg}");
    assert!(matches!(err, FsError::Auth { .. }), "{msg}");
    assert!(
        msg.contains("nobody@EXAMPLE.COM") && msg.contains("kerberosKeytabFilePath"),
        "{msg}"
    );
    assert!(!msg.contains(&keytab), "the keytab path is redacted: {msg}");
    assert!(msg.contains("klist -kt"), "{msg}");

    // Wrong NameNode principal: the KDC does not know it.
    let mut wrong = map.clone();
    wrong.insert(
        "seatunnel.hadoop.dfs.namenode.kerberos.principal".into(),
        "nn/_HOST@EXAMPLE.COM".into(),
    );
    for nn in &info.namenodes {
        // _HOST needs host names, not IP addresses.
        let port = nn
            .rpc_address
            .clone()
            .expect("rpc")
            .rsplit_once(':')
            .expect("port")
            .1
            .to_string();
        wrong.insert(
            format!("seatunnel.hadoop.dfs.namenode.rpc-address.{ns}.{}", nn.id),
            format!("localhost:{port}"),
        );
    }
    let conf_wrong = PluginConfig::from_map(&wrong, &Default::default()).expect("plugin-config");
    let err = kerberos::login(&conf_wrong.hadoop)
        .await
        .expect_err("wrong NN principal");
    let msg = err.to_string();
    println!("wrong NameNode principal -> {msg}");
    assert!(
        msg.contains("nn/localhost@EXAMPLE.COM") && msg.contains("dfs.namenode.kerberos.principal"),
        "{msg}"
    );
    drop(env);
}

/// An operator who ran `kinit` and configured no keytab: the default credential cache
/// (`KRB5CCNAME`) is used; with the cache emptied the error says what to do.
async fn operator_ticket_cache(env: &HdfsEnv, principal: &str, keytab: &str) {
    let Ok(kinit) = Command::new("kinit")
        .args(["-kt", keytab, principal])
        .status()
    else {
        common::missing::<()>("kinit (Debian package krb5-user; scripts/test-all.sh installs it)");
        return;
    };
    assert!(kinit.success(), "kinit -kt {keytab} {principal}: {kinit}");
    let conf = env.site_conf();
    assert_eq!(conf.get("hadoop.security.authentication"), Some("kerberos"));
    assert!(conf.get(ckpt::conf::KERBEROS_PRINCIPAL_KEY).is_none());
    let root = env.root();
    let fs = ckpt::fs::FileSystemRegistry::with_builtins()
        .get(&root, &conf)
        .await
        .expect("file system from the site files");
    let file = root.join("ckpt/operator-ticket").unwrap();
    fs.write(&file, Bytes::from_static(b"kinit"), true)
        .await
        .expect("write with the operator's own ticket");
    assert_eq!(fs.read(&file).await.unwrap(), Bytes::from_static(b"kinit"));
    println!("operator ticket cache (kinit): write/read ok");

    let destroyed = Command::new("kdestroy").status().expect("kdestroy");
    assert!(destroyed.success());
    let mut conf = env.site_conf();
    conf.set("ckpt.retry.max-elapsed", "3s");
    let fs = ckpt::fs::FileSystemRegistry::with_builtins()
        .get(&root, &conf)
        .await
        .expect("file system from the site files");
    let err = fs.read(&file).await.expect_err("no ticket, no keytab");
    let text = err.to_string();
    println!("no ticket -> {text}");
    assert!(
        text.contains("kinit") && text.contains("kerberosPrincipal"),
        "the error says how to get credentials: {text}"
    );
}

/// Errors that need no cluster: missing keytab, a directory or garbage as keytab, and a KDC
/// that refuses connections (with a syntactically valid keytab written here).
async fn offline_errors() {
    let work = std::env::var_os(WORK_DIR_ENV)
        .map(std::path::PathBuf::from)
        .expect("the parent names the directory");
    let dir = tempfile::tempdir_in(&work).expect("tempdir");
    let krb5 = work.join("krb5.conf");
    assert_eq!(
        std::env::var_os("KRB5_CONFIG"),
        Some(krb5.clone().into_os_string())
    );
    let keytab = dir.path().join("ckpt.keytab");
    std::fs::write(&keytab, fake_keytab("ckpt", "EXAMPLE.COM")).expect("keytab");
    let garbage = dir.path().join("garbage.keytab");
    std::fs::write(&garbage, b"this is not a keytab").expect("garbage");

    let login = |keytab: String| {
        let krb5 = krb5.display().to_string();
        async move {
            let conf = PluginConfig::from_map(
                &plugin(&[
                    ("storage.type", "hdfs"),
                    ("fs.defaultFS", "hdfs://127.0.0.1:1"),
                    ("kerberosPrincipal", "ckpt@EXAMPLE.COM"),
                    ("kerberosKeytabFilePath", &keytab),
                    ("ckpt.kerberos.krb5-conf", &krb5),
                ]),
                &Default::default(),
            )
            .expect("plugin-config");
            kerberos::ensure_login(&conf.hadoop).await
        }
    };
    let check = |what: &str, r: Result<(), FsError>, keytab: &str, needles: &[&str]| {
        let err = r.expect_err(what);
        let msg = err.to_string();
        println!("{what} -> {msg}");
        assert!(matches!(err, FsError::Auth { .. }), "{what}: {msg}");
        assert!(
            msg.contains("ckpt@EXAMPLE.COM") && msg.contains("kerberosKeytabFilePath"),
            "{what}: {msg}"
        );
        assert!(
            !msg.contains(keytab),
            "{what}: the keytab path is redacted: {msg}"
        );
        for n in needles {
            assert!(msg.contains(n), "{what}: {msg} lacks {n:?}");
        }
        assert!(!msg.contains("this is not a keytab"), "{what}: {msg}");
    };

    // A krb5.conf key naming another file than KRB5_CONFIG in this multi-threaded process (a
    // tokio runtime runs): a clear configuration error, and KRB5_CONFIG is left alone.
    let other = dir.path().join("other-krb5.conf");
    std::fs::copy(&krb5, &other).expect("copy krb5.conf");
    let other_s = other.display().to_string();
    let conf = PluginConfig::from_map(
        &plugin(&[
            ("storage.type", "hdfs"),
            ("fs.defaultFS", "hdfs://127.0.0.1:1"),
            ("kerberosPrincipal", "ckpt@EXAMPLE.COM"),
            ("kerberosKeytabFilePath", &keytab.display().to_string()),
            ("krb5_path", &other_s),
        ]),
        &Default::default(),
    )
    .expect("plugin-config");
    let err = kerberos::ensure_login(&conf.hadoop)
        .await
        .expect_err("a differing krb5.conf in a multi-threaded process");
    let msg = err.to_string();
    println!("differing krb5.conf -> {msg}");
    assert!(
        matches!(&err, FsError::Config { key, .. } if key == "krb5_path"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("KRB5_CONFIG={other_s}"))
            && msg.contains(&format!("KRB5_CONFIG is {}", krb5.display()))
            && msg.contains("set_krb5_config_before_threads"),
        "{msg}"
    );
    assert_eq!(
        std::env::var_os("KRB5_CONFIG"),
        Some(krb5.clone().into_os_string())
    );

    let missing = dir.path().join("nope.keytab").display().to_string();
    check(
        "missing keytab",
        login(missing.clone()).await,
        &missing,
        &["does not exist"],
    );
    let d = dir.path().display().to_string();
    check(
        "directory as keytab",
        login(d.clone()).await,
        &d,
        &["directory"],
    );
    let g = garbage.display().to_string();
    check(
        "garbage keytab",
        login(g.clone()).await,
        &g,
        &["not in keytab format", "klist -kt"],
    );
    let k = keytab.display().to_string();
    let t = Instant::now();
    check(
        "unreachable KDC",
        login(k.clone()).await,
        &k,
        &["reachable", &krb5.display().to_string()],
    );
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
}

/// The `setenv` child, before it starts a runtime (libtest runs the test on a thread of its own,
/// so the process has two threads; the single-threaded case, where KRB5_CONFIG is set, is the
/// `ckpt` command's, see `kerberos_cli_with_krb5_conf_keys`): the krb5.conf KRB5_CONFIG names
/// already is accepted under any key; another one is refused with what to do, and KRB5_CONFIG is
/// left alone.
fn set_krb5_config_before_threads() {
    let first = std::env::var_os("KRB5_CONFIG")
        .map(std::path::PathBuf::from)
        .expect("the parent sets KRB5_CONFIG");
    let second = first.with_file_name("b.conf");
    std::fs::write(&second, "[libdefaults]\n default_realm = EXAMPLE.COM\n").expect("krb5.conf");
    let conf = |key: &str, path: &std::path::Path| {
        ckpt::conf::Configuration::from_pairs([(key.to_string(), path.display().to_string())])
    };
    for key in kerberos::KRB5_CONF_KEYS {
        let set = kerberos::set_krb5_config_before_threads(&conf(key, &first))
            .expect("KRB5_CONFIG names it already");
        assert_eq!(set, Some(first.display().to_string()));
    }
    assert_eq!(
        kerberos::set_krb5_config_before_threads(&ckpt::conf::Configuration::new()).expect("none"),
        None
    );
    let err = kerberos::set_krb5_config_before_threads(&conf("krb5_path", &second))
        .expect_err("several threads: KRB5_CONFIG must not change");
    let msg = err.to_string();
    println!("another krb5.conf with threads running -> {msg}");
    assert!(
        matches!(&err, FsError::Config { key, .. } if key == "krb5_path"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("KRB5_CONFIG={}", second.display()))
            && msg.contains("threads")
            && msg.contains("set_krb5_config_before_threads"),
        "{msg}"
    );
    assert_eq!(
        std::env::var_os("KRB5_CONFIG"),
        Some(first.into_os_string())
    );
}

/// A keytab (format 0x502) with one aes256 entry of a made-up key for `primary@realm`.
fn fake_keytab(primary: &str, realm: &str) -> Vec<u8> {
    let mut entry = Vec::new();
    entry.extend_from_slice(&1u16.to_be_bytes()); // components
    for s in [realm, primary] {
        entry.extend_from_slice(&(s.len() as u16).to_be_bytes());
        entry.extend_from_slice(s.as_bytes());
    }
    entry.extend_from_slice(&1u32.to_be_bytes()); // KRB5_NT_PRINCIPAL
    entry.extend_from_slice(&0u32.to_be_bytes()); // timestamp
    entry.push(1); // kvno
    entry.extend_from_slice(&18u16.to_be_bytes()); // aes256-cts-hmac-sha1-96
    entry.extend_from_slice(&32u16.to_be_bytes());
    entry.extend_from_slice(&[7u8; 32]);
    let mut out = vec![0x05, 0x02];
    out.extend_from_slice(&(entry.len() as i32).to_be_bytes());
    out.extend_from_slice(&entry);
    out
}
