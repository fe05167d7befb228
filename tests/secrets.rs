//! Secrets never show (issue 7, "Prove the guarantees" / Secrets).
//!
//! Every kind of secret is set to a marker value containing [`TAG`]: S3 access key id, secret
//! and session token, the SSE keys, OSS access key, secret, STS key and token, passwords in
//! endpoint URLs (S3, OSS, HDFS), the keytab path and the keytab's bytes, and `*password*`
//! keys. The `ckpt` binary then runs through success paths (LocalStack for S3, the project's
//! OSS test server, local disk) and failure paths (s3s-fs refusing the keys, a server refusing
//! the signature, URLs with passwords, a bogus keytab against an unreachable KDC, an unreachable
//! NameNode) with `-vvv`, `RUST_LOG=trace` and `--json`; the library runs the same paths under
//! a trace-level subscriber. No marker may appear in stdout, stderr, logs, errors or `Debug`.
//!
//! Needs the S3 servers (`eval "$(testenv/s3/up.sh)"`) and python3 for the OSS server; a
//! missing server fails the test unless `CKPT_ALLOW_SKIP=1`.

#![cfg(all(feature = "s3", feature = "oss", feature = "hdfs"))]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use assert_cmd::Command;
use ckpt::checkpoint::{CheckpointStorage, HdfsStorageFactory};
use common::oss_env::{OssServer, ServerKeys};
use common::s3_env::{self, S3Server};

/// Every marker contains this; it must never be printed.
const TAG: &str = "Zq7x";

const S3_AK: &str = "AKIAZq7xS3AccessKeyId";
const S3_SK: &str = "Zq7xS3SecretKey";
const S3_TOKEN: &str = "Zq7xS3SessionToken";
const SSE_KEY: &str = "Zq7xSseKey";
const SSE_OLD_KEY: &str = "Zq7xSseOldKey";
const OSS_AK: &str = "Zq7xOssAccessKeyId";
const OSS_SK: &str = "Zq7xOssSecret";
const OSS_STS_AK: &str = "STS.Zq7xOssStsKeyId";
const OSS_STS_SK: &str = "Zq7xOssStsSecret";
const OSS_STS_TOKEN: &str = "Zq7xOssStsToken";
const URL_PASSWORD: &str = "Zq7xUrlPassword";
const PASSWORD: &str = "Zq7xPassword";
const KEYTAB_BYTES: &[u8] = b"\x05\x02\x00\x00\x00\x30Zq7xKeytabBytes-not-a-real-key";

/// Keys every configuration carries besides its backend's own.
fn common_secrets() -> Vec<(&'static str, String)> {
    vec![
        ("fs.s3a.encryption.key", SSE_KEY.into()),
        ("fs.s3a.server-side-encryption.key", SSE_OLD_KEY.into()),
        ("fs.s3a.bucket.other.encryption.key", SSE_KEY.into()),
        ("ssl.keystore.password", PASSWORD.into()),
        ("seatunnel.hadoop.my.service.password", PASSWORD.into()),
        (
            "hadoop.http.authentication.signature.secret",
            PASSWORD.into(),
        ),
        ("ckpt.retry.max-elapsed", "2s".into()),
    ]
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(TAG),
        "a secret marker ({TAG}...) shows in {what}:\n{text}"
    );
}

/// A `seatunnel.yaml` with these plugin-config entries.
fn yaml(plugin: &[(&str, String)]) -> String {
    let mut y = String::from(
        "seatunnel:\n  engine:\n    checkpoint:\n      interval: 6000\n      timeout: 7000\n      storage:\n        type: hdfs\n        max-retained: 2\n        plugin-config:\n",
    );
    for (k, v) in plugin.iter().cloned().chain(common_secrets()) {
        y.push_str(&format!(
            "          {k}: {}\n",
            serde_json::to_string(&v).unwrap()
        ));
    }
    y
}

struct Env {
    dir: tempfile::TempDir,
    n: Mutex<u32>,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            n: Mutex::new(0),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn config(&self, plugin: &[(&str, String)]) -> PathBuf {
        let mut n = self.n.lock().unwrap();
        *n += 1;
        self.file(&format!("seatunnel-{n}.yaml"), yaml(plugin).as_bytes())
    }
}

/// The flag sets every command runs with.
const MODES: &[(&[&str], Option<&str>)] = &[
    (&["-vvv"], None),
    (&["--json", "-vvv"], None),
    (&["--json"], Some("trace")),
    (&[], Some("trace")),
];

/// Runs `ckpt --config cfg args` in every mode; asserts no marker in its output; returns
/// whether every run succeeded.
fn ckpt(cfg: &Path, args: &[&str]) -> bool {
    ckpt_each(cfg, args).iter().all(|ok| *ok)
}

/// [`ckpt`], returning whether each mode's run succeeded.
fn ckpt_each(cfg: &Path, args: &[&str]) -> Vec<bool> {
    let mut oks = Vec::new();
    for (flags, rust_log) in MODES {
        let mut cmd = Command::cargo_bin("ckpt").unwrap();
        cmd.arg("--config").arg(cfg).args(*flags).args(args);
        cmd.env_remove("RUST_LOG");
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        cmd.timeout(std::time::Duration::from_secs(120));
        let out = cmd.output().unwrap();
        let text = format!(
            "ckpt {flags:?} {args:?} (RUST_LOG={rust_log:?}) exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&format!("ckpt {args:?}"), &text);
        oks.push(out.status.success());
    }
    oks
}

/// Stores, lists, restores, shows, verifies, prunes and deletes job 7; every step must
/// succeed except `verify`, which may find foreign files.
fn success_path(env: &Env, cfg: &Path) {
    let states = env.file("states.bin", b"states bytes of job 7");
    let from = states.to_str().unwrap();
    assert!(ckpt(cfg, &["config", "check"]), "config check");
    assert!(
        ckpt(cfg, &["store", "7", "1", "1", "--from", from]),
        "store"
    );
    assert!(
        ckpt(cfg, &["store", "7", "1", "2", "--from", from]),
        "store"
    );
    assert!(ckpt(cfg, &["jobs"]), "jobs");
    assert!(ckpt(cfg, &["list", "7"]), "list");
    assert!(ckpt(cfg, &["latest", "7"]), "latest");
    assert!(ckpt(cfg, &["show", "7", "1", "2"]), "show");
    ckpt(cfg, &["verify"]);
    assert!(ckpt(cfg, &["prune"]), "prune");
    // The first run deletes the job; later ones find nothing to delete.
    assert!(ckpt_each(cfg, &["delete", "7"])[0], "delete");
}

/// Every command fails (and shows no marker).
fn failure_path(cfg: &Path) {
    for args in [&["jobs"][..], &["latest", "7"], &["list", "7"]] {
        assert!(!ckpt(cfg, args), "{args:?} should fail with {cfg:?}");
    }
    // config check validates without contacting the servers: its output is what matters.
    ckpt(cfg, &["config", "check"]);
}

fn unique_ns(name: &str) -> String {
    format!(
        "/secrets-{name}-{}-{:x}/",
        std::process::id(),
        rand::random::<u32>()
    )
}

fn s3_plugin(server: &S3Server, endpoint: &str, ns: &str) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("storage.type", "s3".to_string()),
        ("s3.bucket", s3_env::BUCKET.to_string()),
        ("namespace", ns.to_string()),
        ("fs.s3a.endpoint", endpoint.to_string()),
        ("fs.s3a.path.style.access", "true".into()),
        ("fs.s3a.access.key", S3_AK.into()),
        ("fs.s3a.secret.key", S3_SK.into()),
        ("fs.s3a.session.token", S3_TOKEN.into()),
        (
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider".into(),
        ),
        ("fs.s3a.attempts.maximum", "2".into()),
    ];
    if server.name == "s3s-fs" {
        p.push(("fs.s3a.ckpt.file.probe", "list".into()));
    }
    p
}

fn with_password(endpoint: &str) -> String {
    endpoint.replacen("://", &format!("://ckptuser:{URL_PASSWORD}@"), 1)
}

fn oss_keys() -> ServerKeys {
    ServerKeys {
        ak: OSS_AK.into(),
        sk: OSS_SK.into(),
        sts_ak: OSS_STS_AK.into(),
        sts_sk: OSS_STS_SK.into(),
        sts_token: OSS_STS_TOKEN.into(),
    }
}

fn oss_plugin(endpoint: &str, ns: &str, sts: bool, version: &str) -> Vec<(&'static str, String)> {
    let (ak, sk) = if sts {
        (OSS_STS_AK, OSS_STS_SK)
    } else {
        (OSS_AK, OSS_SK)
    };
    let mut p = vec![
        ("storage.type", "oss".to_string()),
        ("oss.bucket", common::oss_env::BUCKET.to_string()),
        ("namespace", ns.to_string()),
        ("fs.oss.endpoint", endpoint.to_string()),
        ("fs.oss.accessKeyId", ak.into()),
        ("fs.oss.accessKeySecret", sk.into()),
        ("fs.oss.signatureversion", version.into()),
        ("fs.oss.region", common::oss_env::REGION.into()),
        ("fs.oss.attempts.maximum", "2".into()),
    ];
    if sts {
        p.push(("fs.oss.securityToken", OSS_STS_TOKEN.into()));
    }
    p
}

/// A keytab whose path and bytes are markers, and a krb5.conf whose KDC does not answer.
fn kerberos_plugin(env: &Env) -> Vec<(&'static str, String)> {
    let dir = env.dir.path().join("Zq7xKeytabDir");
    std::fs::create_dir_all(&dir).unwrap();
    let keytab = dir.join("Zq7xKeytabPath.keytab");
    std::fs::write(&keytab, KEYTAB_BYTES).unwrap();
    let krb5 = env.file(
        "krb5.conf",
        b"[libdefaults]\n  default_realm = EXAMPLE.COM\n  dns_lookup_kdc = false\n  udp_preference_limit = 1\n  kdc_timeout = 1s\n  max_retries = 1\n[realms]\n  EXAMPLE.COM = {\n    kdc = tcp/127.0.0.1:9\n  }\n",
    );
    vec![
        ("storage.type", "hdfs".to_string()),
        ("fs.defaultFS", "hdfs://127.0.0.1:9".into()),
        ("namespace", "/secrets/".into()),
        ("kerberosPrincipal", "ckpt@EXAMPLE.COM".into()),
        ("kerberosKeytabFilePath", keytab.display().to_string()),
        ("ckpt.kerberos.krb5-conf", krb5.display().to_string()),
        (
            "seatunnel.hadoop.hadoop.security.authentication",
            "kerberos".into(),
        ),
    ]
}

fn hdfs_url_plugin() -> Vec<(&'static str, String)> {
    vec![
        ("storage.type", "hdfs".to_string()),
        ("fs.defaultFS", with_password("hdfs://127.0.0.1:9")),
        ("namespace", "/secrets/".into()),
    ]
}

fn local_plugin(env: &Env) -> Vec<(&'static str, String)> {
    vec![
        ("storage.type", "local".to_string()),
        ("fs.defaultFS", "file:///".into()),
        ("namespace", format!("{}/ns/", env.dir.path().display())),
        ("fs.s3a.access.key", S3_AK.into()),
        ("fs.s3a.secret.key", S3_SK.into()),
        ("fs.s3a.session.token", S3_TOKEN.into()),
        ("fs.oss.accessKeySecret", OSS_SK.into()),
        ("fs.oss.securityToken", OSS_STS_TOKEN.into()),
        ("fs.s3a.endpoint", with_password("http://127.0.0.1:9")),
    ]
}

#[test]
fn cli_local_success_shows_no_secret() {
    let env = Env::new();
    let cfg = env.config(&local_plugin(&env));
    success_path(&env, &cfg);
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_s3_success_and_failures_show_no_secret() {
    let env = Env::new();
    let Some(localstack) = s3_env::localstack() else {
        return;
    };
    localstack.ensure_bucket(s3_env::BUCKET).await;
    let cfg = env.config(&s3_plugin(
        &localstack,
        &localstack.endpoint,
        &unique_ns("s3"),
    ));
    tokio::task::block_in_place(|| success_path(&env, &cfg));

    // A password in the endpoint URL.
    let cfg = env.config(&s3_plugin(
        &localstack,
        &with_password(&localstack.endpoint),
        &unique_ns("s3-url"),
    ));
    tokio::task::block_in_place(|| failure_path(&cfg));

    // s3s-fs checks signatures: the marker keys are refused.
    if let Some(s3s) = s3_env::s3s() {
        s3s.ensure_bucket(s3_env::BUCKET).await;
        let cfg = env.config(&s3_plugin(&s3s, &s3s.endpoint, &unique_ns("s3s")));
        tokio::task::block_in_place(|| failure_path(&cfg));
    }
}

#[test]
fn cli_oss_success_and_failures_show_no_secret() {
    let env = Env::new();
    let Some(server) = OssServer::start_with(oss_keys()) else {
        return;
    };
    server.create_bucket(common::oss_env::BUCKET);
    for (sts, version) in [(false, "V4"), (true, "V1")] {
        let cfg = env.config(&oss_plugin(
            &server.endpoint(),
            &unique_ns("oss"),
            sts,
            version,
        ));
        success_path(&env, &cfg);
    }
    // The server refuses a wrong secret; the STS key without its token; a URL password.
    let mut wrong = oss_plugin(&server.endpoint(), &unique_ns("oss"), false, "V4");
    for (k, v) in wrong.iter_mut() {
        if *k == "fs.oss.accessKeySecret" {
            *v = "Zq7xWrongSecret".into();
        }
    }
    failure_path(&env.config(&wrong));
    let no_token: Vec<_> = oss_plugin(&server.endpoint(), &unique_ns("oss"), true, "V1")
        .into_iter()
        .filter(|(k, _)| *k != "fs.oss.securityToken")
        .collect();
    failure_path(&env.config(&no_token));
    failure_path(&env.config(&oss_plugin(
        &with_password(&server.endpoint()),
        &unique_ns("oss"),
        false,
        "V4",
    )));
}

#[test]
fn cli_hdfs_failures_show_no_secret() {
    let env = Env::new();
    failure_path(&env.config(&kerberos_plugin(&env)));
    failure_path(&env.config(&hdfs_url_plugin()));
}

/// Everything the library logs, at trace level, for the whole test binary.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buf);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Loads `yaml`, checks the Debug of every config struct, then stores and restores (or fails);
/// returns the text of everything shown (Debug, results, errors).
async fn library_run(yaml: &str, expect_ok: bool) -> String {
    let mut shown = String::new();
    let loaded = ckpt::config::parse(yaml, "secrets test").unwrap();
    shown.push_str(&format!("{loaded:?}\n"));
    let storage = &loaded.checkpoint.storage;
    match ckpt::conf::PluginConfig::from_map(&storage.plugin_config, &Default::default()) {
        Ok(plugin) => {
            shown.push_str(&format!(
                "{plugin:?}\n{}\n{:?}\n",
                plugin.hadoop, plugin.hadoop
            ));
            shown.push_str(&serde_json::to_string(&plugin.hadoop.redacted()).unwrap());
            if let Some(bucket) = plugin.default_fs.authority()
                && plugin.default_fs.scheme() == Some("s3a")
            {
                match ckpt::fs::s3::config::settings_from_conf(&plugin.hadoop, bucket) {
                    Ok(s) => shown.push_str(&format!("{s:?}\n")),
                    Err(e) => shown.push_str(&format!("{e}\n{e:?}\n")),
                }
            }
            if plugin.default_fs.scheme() == Some("oss") {
                match ckpt::fs::oss::config::OssSettings::from_conf(
                    &plugin.default_fs,
                    &plugin.hadoop,
                    &|_| None,
                ) {
                    Ok(s) => shown.push_str(&format!("{s:?}\n")),
                    Err(e) => shown.push_str(&format!("{e}\n{e:?}\n")),
                }
            }
        }
        Err(e) => shown.push_str(&format!("{e}\n{e:?}\n")),
    }
    let result = async {
        let fs = HdfsStorageFactory
            .create_file_storage(&storage.settings())
            .await?;
        let state = common::checkpoint_suite::state("9", 1, 1);
        let stored = fs.store_checkpoint(&state).await?;
        let latest = fs.get_latest_checkpoint("9").await?;
        fs.delete_job("9").await?;
        Ok::<_, ckpt::checkpoint::CheckpointError>(format!("{stored:?} {latest:?}"))
    }
    .await;
    match result {
        Ok(text) => {
            assert!(expect_ok, "expected a failure, got {text}");
            shown.push_str(&text);
        }
        Err(e) => {
            assert!(!expect_ok, "{e}");
            shown.push_str(&format!("{e}\n{e:?}\n"));
        }
    }
    shown
}

#[tokio::test(flavor = "multi_thread")]
async fn library_shows_no_secret_in_debug_errors_or_trace_logs() {
    let logs = captured_logs();
    let env = Env::new();
    let mut shown = String::new();
    shown += &library_run(&yaml(&local_plugin(&env)), true).await;
    shown += &library_run(&yaml(&kerberos_plugin(&env)), false).await;
    shown += &library_run(&yaml(&hdfs_url_plugin()), false).await;
    let localstack = s3_env::localstack();
    if let Some(localstack) = &localstack {
        localstack.ensure_bucket(s3_env::BUCKET).await;
        let ep = &localstack.endpoint;
        shown += &library_run(&yaml(&s3_plugin(localstack, ep, &unique_ns("lib"))), true).await;
        let bad = with_password(ep);
        shown += &library_run(
            &yaml(&s3_plugin(localstack, &bad, &unique_ns("lib"))),
            false,
        )
        .await;
    }
    if let Some(s3s) = s3_env::s3s() {
        s3s.ensure_bucket(s3_env::BUCKET).await;
        let ep = &s3s.endpoint;
        shown += &library_run(&yaml(&s3_plugin(&s3s, ep, &unique_ns("lib"))), false).await;
    }
    if let Some(server) = tokio::task::block_in_place(|| OssServer::start_with(oss_keys())) {
        server.create_bucket(common::oss_env::BUCKET);
        let ep = server.endpoint();
        for (sts, v) in [(false, "V4"), (true, "V1")] {
            shown += &library_run(&yaml(&oss_plugin(&ep, &unique_ns("lib"), sts, v)), true).await;
        }
        let bad = with_password(&ep);
        shown += &library_run(
            &yaml(&oss_plugin(&bad, &unique_ns("lib"), false, "V4")),
            false,
        )
        .await;
    }
    assert_clean("Debug, results and errors of the library", &shown);
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert_clean("the library's trace logs", &logs);
    if localstack.is_some() {
        // The SDK's events that carry credentials were seen, and shown redacted.
        assert!(
            logs.contains(ckpt::fs::s3::log_scrub::SCRUBBED_TARGET),
            "no scrubbed SDK event in the trace logs: was the SDK traced at all?"
        );
    }
    let _ = std::io::stdout().flush();
}

/// Logs written to a file or pipe (stderr not a terminal) carry no ANSI colour codes, with or
/// without `NO_COLOR` (issue 7 defect 10).
#[test]
fn logs_to_a_file_carry_no_ansi_colour_codes() {
    let env = Env::new();
    let cfg = env.config(&local_plugin(&env));
    let states = env.file("ansi-states.bin", b"states");
    for (i, no_color) in [None, Some("1")].into_iter().enumerate() {
        let mut cmd = Command::cargo_bin("ckpt").unwrap();
        let id = (i + 1).to_string();
        cmd.arg("--config")
            .arg(&cfg)
            .args(["-vvv", "store", "3", "1", &id, "--from"]);
        cmd.arg(&states);
        cmd.env_remove("RUST_LOG").env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("TRACE") || stderr.contains("DEBUG"),
            "no logs: {stderr}"
        );
        assert!(!stderr.contains('\u{1b}'), "ANSI codes in logs: {stderr:?}");
    }
}
