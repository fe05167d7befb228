//! Kerberos keytab login for the HDFS backend, with renewal for the life of the process.
//!
//! `kerberosPrincipal` + `kerberosKeytabFilePath` (or `kerberosKeytab`) in plugin-config are all a
//! user sets; they reach this module as [`KERBEROS_PRINCIPAL_KEY`] / [`KERBEROS_KEYTAB_KEY`].
//! [`login`] then:
//!
//! 1. checks the keytab file (exists, readable) and picks the krb5.conf ([`KRB5_CONF_KEYS`]),
//!    which must be the process's `KRB5_CONFIG`: it is set only in a single-threaded process
//!    (see [`set_krb5_config_before_threads`]), otherwise a differing one is an error;
//! 2. gets a TGT from the KDC with the keytab's key (MIT `krb5_get_init_creds_keytab`, no
//!    `kinit`) and stores it in a **private in-memory credential cache** `MEMORY:ckpt-…` that
//!    nothing outside this process can read; the process-default cache (`KRB5CCNAME`,
//!    `/tmp/krb5cc_UID`) is neither read nor written;
//! 3. when `dfs.namenode.kerberos.principal` is set, gets a service ticket for each NameNode
//!    principal it names (`_HOST` replaced by each NameNode's host, HA included), so a wrong
//!    NameNode principal is reported at start with the key to fix;
//! 4. starts one background thread that logs in again from the keytab at 75% of each ticket's
//!    lifetime ([`schedule::RenewalPolicy`]) and retries with backoff (and a `tracing` warning)
//!    while the KDC fails; the new cache, with fresh tickets for the NameNode principals of
//!    step 3 (every file system sharing the session), replaces the old one atomically
//!    (`krb5_cc_move`), so connections being set up never see it empty nor ask the KDC.
//!
//! The HDFS backend hands the session to `hdfs-native` with
//! [`KerberosSession::configure_client`] (principal, keytab and the private cache name), which
//! makes hdfs-native acquire its GSSAPI credentials from exactly that cache (MIT
//! `gss_acquire_cred_from` with the cred store `{ccache, client_keytab}`): no environment
//! variable is set for it. Sessions are per (principal, keytab) and shared by every file system
//! of the process.
//!
//! The krb5 library is loaded at run time (see `ffi`), so building with the `kerberos` feature
//! needs no Kerberos headers or libclang; a host without libkrb5 gets a clear error only when a
//! Kerberos login is asked for.

mod errors;
mod ffi;
mod krb5;
mod schedule;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::conf::Configuration;
pub use crate::conf::{KERBEROS_KEYTAB_KEY, KERBEROS_PRINCIPAL_KEY};
use crate::fs::{FsError, FsResult};
use errors::{Failure, Step, Subject};
pub use schedule::RenewalPolicy;

/// Configuration keys naming the krb5.conf to use, first match wins: ckpt's own key, the key of
/// SeaTunnel's HDFS connectors (`krb5_path`, passed through plugin-config as is) and Java's
/// system property (`seatunnel.hadoop.java.security.krb5.conf` in plugin-config). Without any,
/// the `KRB5_CONFIG` environment variable or `/etc/krb5.conf` is used.
pub const KRB5_CONF_KEYS: [&str; 3] = [
    "ckpt.kerberos.krb5-conf",
    "krb5_path",
    "java.security.krb5.conf",
];

/// The NameNode's Kerberos principal (may contain `_HOST`).
pub const NAMENODE_PRINCIPAL_KEY: &str = "dfs.namenode.kerberos.principal";

/// Logs in from the keytab configured in `conf` (if any) and keeps the login fresh.
///
/// Does nothing when [`KERBEROS_PRINCIPAL_KEY`] is not set. Idempotent: later calls with the
/// same principal and keytab reuse the running session. See [`login`] for the session itself.
pub async fn ensure_login(conf: &Configuration) -> FsResult<()> {
    login(conf).await.map(|_| ())
}

/// Logs in from the keytab configured in `conf` and returns the session (creating it and its
/// renewal thread on first use), or `None` when no principal is configured.
///
/// Errors: [`FsError::Config`] for a keytab key without principal (or the reverse) or a
/// missing krb5.conf named by a key; [`FsError::Auth`] when the login fails (missing or
/// unreadable keytab, principal not in the keytab or unknown to the KDC, unreachable KDC, wrong
/// NameNode principal), naming the principal, the keytab's key (never its path: it is redacted
/// everywhere) and what to check.
pub async fn login(conf: &Configuration) -> FsResult<Option<Arc<KerberosSession>>> {
    let Some(settings) = Settings::from_conf(conf)? else {
        return Ok(None);
    };
    let krb5_conf = apply_krb5_conf(&settings)?;
    let subject = Subject {
        principal: &settings.principal,
        keytab: &settings.keytab,
        krb5_conf: &krb5_conf,
    };
    check_keytab_file(&subject)?;

    // One login at a time, so two file systems created together share one session.
    static LOGIN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _serial = LOGIN.lock().await;

    let session = match find_session(&settings.principal, &settings.keytab) {
        Some(session) => session,
        None => {
            let ccache = format!(
                "MEMORY:ckpt-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            );
            let (principal, keytab, cc) = (
                settings.principal.clone(),
                settings.keytab.clone(),
                ccache.clone(),
            );
            let lifetime = blocking(move || krb5::login_from_keytab(&principal, &keytab, &cc, &[]))
                .await
                .map_err(|f| errors::auth_error(&subject, &f, None))?
                .lifetime;
            tracing::info!(
                principal = %settings.principal,
                expires_in_s = remaining(lifetime.end).as_secs(),
                "Kerberos login from keytab"
            );
            let session = Arc::new(KerberosSession {
                principal: settings.principal.clone(),
                keytab: settings.keytab.clone(),
                ccache,
                krb5_conf: krb5_conf.clone(),
                services: Mutex::new(BTreeSet::new()),
                state: Mutex::new(State {
                    lifetime,
                    logins: 1,
                    last_error: None,
                }),
            });
            start_renewal(Arc::clone(&session), RenewalPolicy::default())?;
            sessions()
                .lock()
                .map_err(|_| poisoned())?
                .push(Arc::clone(&session));
            session
        }
    };

    for service in &settings.namenode_principals {
        let (client, svc, cc) = (
            session.principal.clone(),
            service.clone(),
            session.ccache.clone(),
        );
        blocking(move || krb5::fetch_service_ticket(&client, &svc, &cc))
            .await
            .map_err(|f| errors::auth_error(&subject, &f, Some(service)))?;
        tracing::debug!(service = %service, "service ticket for the NameNode principal obtained");
        session
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(service.clone());
    }
    Ok(Some(session))
}

/// A keytab login shared by the process: its private credential cache and renewal state.
/// `Debug` redacts the keytab path.
pub struct KerberosSession {
    principal: String,
    keytab: String,
    ccache: String,
    krb5_conf: String,
    /// The NameNode service principals the file systems sharing this session asked for: each
    /// re-login fetches their tickets again (it replaces the cache, tickets included).
    services: Mutex<BTreeSet<String>>,
    state: Mutex<State>,
}

impl std::fmt::Debug for KerberosSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosSession")
            .field("principal", &self.principal)
            .field("keytab", &crate::conf::REDACTED)
            .field("ccache", &self.ccache)
            .field("krb5_conf", &self.krb5_conf)
            .field("services", &self.services)
            .field("state", &self.state)
            .finish()
    }
}

#[derive(Debug)]
struct State {
    lifetime: krb5::Lifetime,
    logins: u64,
    last_error: Option<String>,
}

impl KerberosSession {
    /// The client principal.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The keytab path as configured.
    pub fn keytab(&self) -> &str {
        &self.keytab
    }

    /// The private credential cache (`MEMORY:ckpt-…`) holding the current tickets.
    pub fn ccache_name(&self) -> &str {
        &self.ccache
    }

    /// The krb5.conf in use (and where that choice came from).
    pub fn krb5_conf(&self) -> &str {
        &self.krb5_conf
    }

    /// Start and end of validity of the current TGT.
    pub fn ticket_validity(&self) -> (SystemTime, SystemTime) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (state.lifetime.start, state.lifetime.end)
    }

    /// How many successful logins this session made (the first one included).
    pub fn logins(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).logins
    }

    /// The error of the last failed re-login, cleared by the next success.
    pub fn last_error(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_error
            .clone()
    }

    /// Points an `hdfs-native` client at this login: the principal, the keytab (so the
    /// GSSAPI library can also refresh the cache itself) and the private cache.
    pub fn configure_client(
        &self,
        builder: hdfs_native::ClientBuilder,
    ) -> hdfs_native::ClientBuilder {
        builder
            .with_kerberos_principal(self.principal.clone())
            .with_kerberos_keytab(self.keytab.clone())
            .with_kerberos_cache(self.ccache.clone())
    }

    /// The server principals of the tickets now in the private cache (the TGT's `krbtgt/…`
    /// included), for tests and diagnostics.
    #[doc(hidden)]
    pub async fn cached_service_principals(&self) -> FsResult<Vec<String>> {
        let cc = self.ccache.clone();
        blocking(move || krb5::cached_servers(&cc))
            .await
            .map_err(|f| errors::auth_error(&self.subject(), &f, None))
    }

    /// The NameNode service principals whose tickets each re-login fetches again.
    pub fn service_principals(&self) -> Vec<String> {
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Logs in again now (what the renewal thread does), returning the new ticket's end. The
    /// NameNode service tickets are fetched again with the new TGT; one that cannot be is
    /// logged (a NameNode connection then fetches it itself).
    pub async fn relogin(self: &Arc<Self>) -> FsResult<SystemTime> {
        let me = Arc::clone(self);
        let result = blocking(move || me.login_once()).await;
        let (end, missing) = self.record(result)?;
        for (service, failure) in &missing {
            tracing::warn!(
                "{}",
                errors::auth_error(&self.subject(), failure, Some(service))
            );
        }
        Ok(end)
    }

    /// One keytab login replacing the cache, with the remembered service tickets (blocking).
    fn login_once(&self) -> Result<krb5::Login, Failure> {
        krb5::login_from_keytab(
            &self.principal,
            &self.keytab,
            &self.ccache,
            &self.service_principals(),
        )
    }

    /// Records the outcome of a re-login; on success returns the new ticket's end and the
    /// service tickets that could not be fetched.
    fn record(
        &self,
        result: Result<krb5::Login, Failure>,
    ) -> FsResult<(SystemTime, Vec<(String, Failure)>)> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(krb5::Login {
                lifetime,
                missing_services,
            }) => {
                state.lifetime = lifetime;
                state.logins += 1;
                state.last_error = None;
                Ok((lifetime.end, missing_services))
            }
            Err(failure) => {
                let error = errors::auth_error(&self.subject(), &failure, None);
                state.last_error = Some(error.to_string());
                Err(error)
            }
        }
    }

    fn subject(&self) -> Subject<'_> {
        Subject {
            principal: &self.principal,
            keytab: &self.keytab,
            krb5_conf: &self.krb5_conf,
        }
    }
}

/// What `conf` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    principal: String,
    keytab: String,
    /// `(key, path)` of the krb5.conf named by configuration.
    krb5_conf: Option<(String, String)>,
    namenode_principals: Vec<String>,
}

impl Settings {
    fn from_conf(conf: &Configuration) -> FsResult<Option<Settings>> {
        let value = |key: &str| conf.get(key).map(str::trim).filter(|v| !v.is_empty());
        let (principal, keytab) = match (value(KERBEROS_PRINCIPAL_KEY), value(KERBEROS_KEYTAB_KEY))
        {
            (None, None) => return Ok(None),
            (Some(p), Some(k)) => (p.to_string(), k.to_string()),
            (Some(_), None) => {
                return Err(FsError::Config {
                    key: KERBEROS_KEYTAB_KEY.to_string(),
                    message: "a Kerberos principal is set but no keytab; set kerberosKeytabFilePath (or kerberosKeytab) in plugin-config".to_string(),
                });
            }
            (None, Some(_)) => {
                return Err(FsError::Config {
                    key: KERBEROS_PRINCIPAL_KEY.to_string(),
                    message: "a Kerberos keytab is set but no principal; set kerberosPrincipal in plugin-config".to_string(),
                });
            }
        };
        if principal.contains('\0') || keytab.contains('\0') {
            return Err(FsError::Config {
                key: KERBEROS_PRINCIPAL_KEY.to_string(),
                message: "the principal or keytab path contains a NUL byte".to_string(),
            });
        }
        let krb5_conf = configured_krb5_conf(conf).map(|(k, v)| (k.to_string(), v));
        Ok(Some(Settings {
            principal,
            keytab,
            krb5_conf,
            namenode_principals: namenode_principals(conf),
        }))
    }
}

/// The NameNode service principals `dfs.namenode.kerberos.principal` names for the configured
/// file system: `_HOST` is replaced by each NameNode's host (all NameNodes of an HA
/// nameservice). Hosts given as IP addresses are skipped when `_HOST` is used (their canonical
/// name would need reverse DNS).
fn namenode_principals(conf: &Configuration) -> Vec<String> {
    let Some(pattern) = conf
        .get(NAMENODE_PRINCIPAL_KEY)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    else {
        return Vec::new();
    };
    if !pattern.contains("_HOST") {
        return vec![pattern.to_string()];
    }
    let mut out = BTreeSet::new();
    for host in namenode_hosts(conf) {
        if host.parse::<std::net::IpAddr>().is_ok() {
            continue;
        }
        out.insert(pattern.replace("_HOST", &host.to_ascii_lowercase()));
    }
    out.into_iter().collect()
}

/// Hosts of the NameNodes of `fs.defaultFS`: the URI's host, or those of an HA nameservice.
fn namenode_hosts(conf: &Configuration) -> Vec<String> {
    let Some(fs) = conf.get("fs.defaultFS") else {
        return Vec::new();
    };
    let authority = fs
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    if authority.is_empty() {
        return Vec::new();
    }
    let ha_key = format!("dfs.ha.namenodes.{authority}");
    match conf.get(&ha_key) {
        Some(ids) => ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .filter_map(|id| conf.get(&format!("dfs.namenode.rpc-address.{authority}.{id}")))
            .map(host_of)
            .collect(),
        None => vec![host_of(authority)],
    }
}

fn host_of(address: &str) -> String {
    let address = address.trim();
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match address.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => address.to_string(),
    }
}

/// Checks that the krb5.conf named by configuration is the process's (`KRB5_CONFIG`), making
/// it so only while the process is single-threaded (see [`set_krb5_config_before_threads`]),
/// and describes the krb5.conf in use for messages.
fn apply_krb5_conf(settings: &Settings) -> FsResult<String> {
    let current = std::env::var(KRB5_CONFIG_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    let Some((key, path)) = &settings.krb5_conf else {
        return Ok(match current {
            Some(p) => format!("{p} (from KRB5_CONFIG)"),
            None => "/etc/krb5.conf (the default; set KRB5_CONFIG or ckpt.kerberos.krb5-conf to use another)".to_string(),
        });
    };
    use_krb5_conf(key, path)?;
    Ok(format!("{path} (from {key})"))
}

/// The environment variable MIT Kerberos (libkrb5 and libgssapi_krb5) reads the krb5.conf
/// path from.
pub const KRB5_CONFIG_ENV: &str = "KRB5_CONFIG";

/// The krb5.conf `conf` names: the first of [`KRB5_CONF_KEYS`] that is set, and its value.
pub fn configured_krb5_conf(conf: &Configuration) -> Option<(&'static str, String)> {
    KRB5_CONF_KEYS.iter().find_map(|k| {
        conf.get(k)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| (*k, v.to_string()))
    })
}

/// Makes the krb5.conf that `conf` names ([`KRB5_CONF_KEYS`]) the process's `KRB5_CONFIG`,
/// for programs that do not export `KRB5_CONFIG` in their environment. Returns the path, or
/// `None` when `conf` names no krb5.conf (then `KRB5_CONFIG` or `/etc/krb5.conf` is used).
///
/// **Call it before the process starts any thread** (before building a tokio runtime, before
/// any library that spawns threads), as the `ckpt` command does: the Kerberos libraries read
/// `KRB5_CONFIG` with `getenv`, and changing the environment while another thread may read it
/// is undefined behaviour. So it checks that the process really runs a single thread (on Linux,
/// by counting `/proc/self/task`; elsewhere it cannot tell and assumes it does not) and
/// otherwise returns [`FsError::Config`] saying what to do, unless `KRB5_CONFIG` already names
/// that file. Services should rather export `KRB5_CONFIG=<path>` in their environment.
///
/// The Kerberos login ([`login`]) applies the same rule: when the configured krb5.conf is not
/// `KRB5_CONFIG` and the process is multi-threaded (a tokio runtime is), the login fails with
/// that error instead of changing the environment.
pub fn set_krb5_config_before_threads(conf: &Configuration) -> FsResult<Option<String>> {
    let Some((key, path)) = configured_krb5_conf(conf) else {
        return Ok(None);
    };
    use_krb5_conf(key, &path)?;
    Ok(Some(path))
}

/// What to do about `KRB5_CONFIG` for a configured krb5.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnvAction {
    /// `KRB5_CONFIG` names it already.
    Keep,
    /// The process is single-threaded: setting `KRB5_CONFIG` is sound.
    Set,
    /// Other threads may read the environment: refuse.
    Refuse,
}

/// The rule (pure): `threads` is the process's thread count, `None` when unknown.
fn env_action(configured: &str, current: Option<&str>, threads: Option<usize>) -> EnvAction {
    if current == Some(configured) {
        EnvAction::Keep
    } else if threads == Some(1) {
        EnvAction::Set
    } else {
        EnvAction::Refuse
    }
}

/// The number of threads of this process, when the system tells.
fn thread_count() -> Option<usize> {
    if cfg!(target_os = "linux") {
        let tasks = std::fs::read_dir("/proc/self/task").ok()?;
        Some(tasks.filter(Result::is_ok).count())
    } else {
        None
    }
}

/// Makes `path` (named by `key`) the process's krb5.conf, or says why it cannot.
fn use_krb5_conf(key: &str, path: &str) -> FsResult<()> {
    if path.contains('\0') {
        return Err(FsError::Config {
            key: key.to_string(),
            message: "the krb5.conf path contains a NUL byte".to_string(),
        });
    }
    if let Err(e) = std::fs::File::open(path) {
        return Err(FsError::Config {
            key: key.to_string(),
            message: format!("cannot read the krb5.conf {path}: {e}"),
        });
    }
    let current = std::env::var(KRB5_CONFIG_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    let threads = thread_count();
    match env_action(path, current.as_deref(), threads) {
        EnvAction::Keep => Ok(()),
        EnvAction::Set => {
            if let Some(other) = &current {
                tracing::warn!(KRB5_CONFIG = %other, "{key} = {path} overrides the KRB5_CONFIG environment variable");
            }
            // SAFETY: `set_var` is unsound only while another thread may read or write the
            // environment. This process has exactly one thread (counted just above; only this
            // thread could start another one, and it is busy here), so nothing else can.
            unsafe { std::env::set_var(KRB5_CONFIG_ENV, path) };
            Ok(())
        }
        EnvAction::Refuse => Err(refusal(key, path, current.as_deref(), threads)),
    }
}

/// The error for a krb5.conf that differs from `KRB5_CONFIG` in a multi-threaded process.
fn refusal(key: &str, path: &str, current: Option<&str>, threads: Option<usize>) -> FsError {
    let current = match current {
        Some(c) => format!("KRB5_CONFIG is {c}"),
        None => "KRB5_CONFIG is not set".to_string(),
    };
    let threads = match threads {
        Some(n) => format!("the process already runs {n} threads"),
        None => "this system does not tell whether other threads run".to_string(),
    };
    FsError::Config {
        key: key.to_string(),
        message: format!(
            "{key} names the krb5.conf {path}, but {current}, and ckpt cannot change KRB5_CONFIG now: \
             {threads}, and the Kerberos libraries read it with getenv, so changing it while other \
             threads run is unsafe. Export KRB5_CONFIG={path} in the service's environment, or \
             call ckpt::fs::kerberos::set_krb5_config_before_threads before starting any thread \
             (the ckpt command does)"
        ),
    }
}

/// Clear errors for a keytab path that does not exist, cannot be read or is not a keytab, before
/// krb5 sees it (MIT reads the keytab only after contacting the KDC, and then reports a
/// damaged file poorly). Only the two format bytes are read; key material is never read here.
fn check_keytab_file(subject: &Subject<'_>) -> FsResult<()> {
    use std::io::Read;
    let name = krb5::keytab_name(subject.keytab);
    let Some(path) = name.strip_prefix("FILE:") else {
        return Ok(()); // other keytab types (MEMORY:, KEYRING:...) are krb5's business
    };
    let not_a_keytab =
        |why: &str| Failure::new(Step::ResolveKeytab, errors::KRB5_KT_FORMAT, why.to_string());
    let failure = match std::fs::File::open(path) {
        Ok(mut file) => match file.metadata() {
            Ok(m) if m.is_dir() => not_a_keytab("it is a directory, not a keytab file"),
            Ok(_) => {
                let mut magic = [0u8; 2];
                match file.read_exact(&mut magic) {
                    Ok(()) if errors::is_keytab_magic(magic) => return Ok(()),
                    Ok(()) => not_a_keytab(
                        "the file is not in keytab format (it does not start with 0x05 0x01 or 0x05 0x02)",
                    ),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        not_a_keytab("the file is empty or truncated")
                    }
                    Err(e) => io_failure(e),
                }
            }
            Err(e) => io_failure(e),
        },
        Err(e) => io_failure(e),
    };
    Err(errors::auth_error(subject, &failure, None))
}

fn io_failure(e: std::io::Error) -> Failure {
    let code = match e.kind() {
        std::io::ErrorKind::NotFound => 2,
        std::io::ErrorKind::PermissionDenied => 13,
        _ => e.raw_os_error().unwrap_or(0),
    };
    Failure::new(Step::ResolveKeytab, code, e.to_string())
}

fn sessions() -> &'static Mutex<Vec<Arc<KerberosSession>>> {
    static SESSIONS: OnceLock<Mutex<Vec<Arc<KerberosSession>>>> = OnceLock::new();
    SESSIONS.get_or_init(|| Mutex::new(Vec::new()))
}

fn find_session(principal: &str, keytab: &str) -> Option<Arc<KerberosSession>> {
    let sessions = sessions().lock().unwrap_or_else(|e| e.into_inner());
    sessions
        .iter()
        .find(|s| s.principal == principal && s.keytab == keytab)
        .cloned()
}

fn poisoned() -> FsError {
    FsError::Auth {
        message: "Kerberos session registry is unusable after a panic in another thread"
            .to_string(),
    }
}

fn remaining(end: SystemTime) -> Duration {
    end.duration_since(SystemTime::now()).unwrap_or_default()
}

/// Runs a blocking krb5 call off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(Failure::new(
            Step::InitialCredentials,
            0,
            format!("login task failed: {e}"),
        ))
    })
}

/// The renewal loop runs on its own thread: it outlives any particular tokio runtime (a
/// session is shared by the whole process) and its krb5 calls block anyway.
fn start_renewal(session: Arc<KerberosSession>, policy: RenewalPolicy) -> FsResult<()> {
    std::thread::Builder::new()
        .name("ckpt-krb5-renew".to_string())
        .spawn(move || renewal_loop(&session, policy))
        .map(|_| ())
        .map_err(|e| FsError::Auth {
            message: format!("cannot start the Kerberos renewal thread: {e}"),
        })
}

fn renewal_loop(session: &KerberosSession, policy: RenewalPolicy) {
    loop {
        let lifetime = session
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lifetime;
        std::thread::sleep(policy.next_login(SystemTime::now(), lifetime));
        let mut attempt = 0u32;
        loop {
            let result = session.login_once();
            let transient = result.as_ref().err().is_none_or(errors::is_transient);
            match session.record(result).map_err(|e| (e, transient)) {
                Ok((end, missing)) => {
                    tracing::info!(
                        principal = %session.principal,
                        expires_in_s = remaining(end).as_secs(),
                        "Kerberos re-login from keytab"
                    );
                    refetch_services(session, policy, missing);
                    break;
                }
                Err((error, transient)) => {
                    attempt = attempt.saturating_add(1);
                    let wait = policy.retry_after(attempt, SystemTime::now(), lifetime.end);
                    let left = remaining(lifetime.end).as_secs();
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    if transient {
                        tracing::warn!(
                            attempt,
                            retry_in_ms = wait_ms,
                            ticket_expires_in_s = left,
                            "Kerberos re-login failed, will retry: {error}"
                        );
                    } else {
                        tracing::error!(
                            attempt,
                            retry_in_ms = wait_ms,
                            ticket_expires_in_s = left,
                            "Kerberos re-login failed (needs fixing; retrying anyway): {error}"
                        );
                    }
                    std::thread::sleep(wait);
                }
            }
        }
    }
}

/// Fetches again, with backoff, the service tickets a re-login could not fetch, until all are
/// in the cache or the next re-login is due (which tries them all again).
fn refetch_services(
    session: &KerberosSession,
    policy: RenewalPolicy,
    mut missing: Vec<(String, Failure)>,
) {
    let mut attempt = 0u32;
    while !missing.is_empty() {
        attempt = attempt.saturating_add(1);
        let lifetime = session
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lifetime;
        let now = SystemTime::now();
        let wait = policy.retry_after(attempt, now, lifetime.end);
        let give_up = wait >= policy.next_login(now, lifetime);
        for (service, failure) in &missing {
            let error = errors::auth_error(&session.subject(), failure, Some(service));
            if give_up {
                tracing::warn!(attempt, "{error}; trying again at the next re-login");
            } else {
                let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(attempt, retry_in_ms, "{error}; will retry");
            }
        }
        if give_up {
            return;
        }
        std::thread::sleep(wait);
        missing.retain_mut(|(service, failure)| {
            match krb5::fetch_service_ticket(&session.principal, service, &session.ccache) {
                Ok(_) => {
                    tracing::info!(service = %service, "service ticket for the NameNode principal obtained again");
                    false
                }
                Err(again) => {
                    *failure = again;
                    true
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        Configuration::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn no_principal_means_no_login() {
        assert_eq!(Settings::from_conf(&conf(&[])).unwrap(), None);
    }

    #[test]
    fn half_configured_login_names_the_missing_key() {
        let e = Settings::from_conf(&conf(&[(KERBEROS_PRINCIPAL_KEY, "a@R")])).unwrap_err();
        assert!(
            matches!(&e, FsError::Config { key, .. } if key == KERBEROS_KEYTAB_KEY),
            "{e}"
        );
        let e = Settings::from_conf(&conf(&[(KERBEROS_KEYTAB_KEY, "/k")])).unwrap_err();
        assert!(
            matches!(&e, FsError::Config { key, .. } if key == KERBEROS_PRINCIPAL_KEY),
            "{e}"
        );
    }

    #[test]
    fn krb5_conf_keys_in_order() {
        let s = Settings::from_conf(&conf(&[
            (KERBEROS_PRINCIPAL_KEY, "a@R"),
            (KERBEROS_KEYTAB_KEY, "/k"),
            ("java.security.krb5.conf", "/j"),
            ("krb5_path", "/s"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            s.krb5_conf,
            Some(("krb5_path".to_string(), "/s".to_string()))
        );
    }

    #[test]
    fn namenode_principal_literal() {
        let c = conf(&[
            ("fs.defaultFS", "hdfs://127.0.0.1:8020"),
            (NAMENODE_PRINCIPAL_KEY, "hdfs/localhost@EXAMPLE.COM"),
        ]);
        assert_eq!(namenode_principals(&c), vec!["hdfs/localhost@EXAMPLE.COM"]);
    }

    #[test]
    fn namenode_principal_host_pattern_over_ha() {
        let c = conf(&[
            ("fs.defaultFS", "hdfs://ns1"),
            ("dfs.ha.namenodes.ns1", "nn1, nn2,nn3"),
            ("dfs.namenode.rpc-address.ns1.nn1", "NN1.Example.com:8020"),
            ("dfs.namenode.rpc-address.ns1.nn2", "nn2.example.com:8020"),
            ("dfs.namenode.rpc-address.ns1.nn3", "10.0.0.3:8020"),
            (NAMENODE_PRINCIPAL_KEY, "nn/_HOST@EXAMPLE.COM"),
        ]);
        assert_eq!(
            namenode_principals(&c),
            vec![
                "nn/nn1.example.com@EXAMPLE.COM",
                "nn/nn2.example.com@EXAMPLE.COM"
            ]
        );
    }

    #[test]
    fn namenode_principal_host_pattern_single() {
        let c = conf(&[
            ("fs.defaultFS", "hdfs://nn.example.com:8020/"),
            (NAMENODE_PRINCIPAL_KEY, "nn/_HOST@R"),
        ]);
        assert_eq!(namenode_principals(&c), vec!["nn/nn.example.com@R"]);
        assert!(namenode_principals(&conf(&[("fs.defaultFS", "hdfs://h:1")])).is_empty());
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("h:8020"), "h");
        assert_eq!(host_of("h"), "h");
        assert_eq!(host_of("[::1]:8020"), "::1");
    }

    #[tokio::test]
    async fn missing_keytab_is_a_clear_auth_error() {
        let c = conf(&[
            (KERBEROS_PRINCIPAL_KEY, "ckpt@EXAMPLE.COM"),
            (KERBEROS_KEYTAB_KEY, "/nonexistent/ckpt.keytab"),
        ]);
        let e = login(&c).await.unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, FsError::Auth { .. }), "{m}");
        assert!(
            m.contains("ckpt@EXAMPLE.COM") && m.contains("kerberosKeytabFilePath"),
            "{m}"
        );
        assert!(!m.contains("/nonexistent/ckpt.keytab"), "{m}");
        assert!(m.contains("does not exist"), "{m}");
    }

    #[tokio::test]
    async fn directory_empty_and_garbage_keytabs_are_not_keytabs() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, b"SECRET-LOOKING CONTENT").unwrap();
        for (path, why) in [
            (dir.path().to_path_buf(), "directory"),
            (empty, "empty"),
            (garbage, "not in keytab format"),
        ] {
            let keytab = path.display().to_string();
            let c = conf(&[
                (KERBEROS_PRINCIPAL_KEY, "ckpt@EXAMPLE.COM"),
                (KERBEROS_KEYTAB_KEY, &keytab),
            ]);
            let m = login(&c).await.unwrap_err().to_string();
            assert!(m.contains(why) && m.contains("klist -kt"), "{m}");
            assert!(!m.contains(&keytab), "the keytab path is redacted: {m}");
            assert!(!m.contains("SECRET"), "{m}");
        }
    }

    #[test]
    fn krb5_config_is_set_only_in_a_single_threaded_process() {
        use EnvAction::*;
        // Already the process's krb5.conf: nothing to do, whatever the threads.
        assert_eq!(env_action("/k", Some("/k"), Some(8)), Keep);
        assert_eq!(env_action("/k", Some("/k"), None), Keep);
        // Differs (or unset): set it only with exactly one thread.
        assert_eq!(env_action("/k", None, Some(1)), Set);
        assert_eq!(env_action("/k", Some("/other"), Some(1)), Set);
        assert_eq!(env_action("/k", None, Some(2)), Refuse);
        assert_eq!(env_action("/k", Some("/other"), Some(5)), Refuse);
        // Unknown thread count: assume other threads.
        assert_eq!(env_action("/k", None, None), Refuse);
    }

    #[test]
    fn thread_count_sees_this_multi_threaded_test_process() {
        if cfg!(target_os = "linux") {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let other = std::thread::spawn(move || rx.recv());
            assert!(
                thread_count().is_some_and(|n| n >= 2),
                "{:?}",
                thread_count()
            );
            drop(tx);
            let _ = other.join();
        } else {
            assert_eq!(thread_count(), None);
        }
    }

    #[test]
    fn multi_threaded_login_with_another_krb5_conf_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let krb5 = dir.path().join("krb5.conf");
        std::fs::write(&krb5, "[libdefaults]\n").unwrap();
        let path = krb5.display().to_string();
        // This test process runs several threads (the harness's and the one below).
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        let e = use_krb5_conf("krb5_path", &path).unwrap_err();
        drop(tx);
        let _ = other.join();
        let m = e.to_string();
        assert!(
            matches!(&e, FsError::Config { key, .. } if key == "krb5_path"),
            "{m}"
        );
        assert!(
            m.contains(&format!("export KRB5_CONFIG={path}"))
                || m.contains(&format!("Export KRB5_CONFIG={path}")),
            "{m}"
        );
        assert!(m.contains("set_krb5_config_before_threads"), "{m}");
        assert_ne!(
            std::env::var_os(KRB5_CONFIG_ENV),
            Some(krb5.into_os_string())
        );
    }

    #[test]
    fn refusal_names_the_environment_and_threads() {
        let m = refusal(
            "ckpt.kerberos.krb5-conf",
            "/a/krb5.conf",
            Some("/b"),
            Some(3),
        )
        .to_string();
        assert!(
            m.contains("KRB5_CONFIG is /b") && m.contains("3 threads"),
            "{m}"
        );
        let m = refusal("k", "/a", None, None).to_string();
        assert!(m.contains("not set") && m.contains("does not tell"), "{m}");
    }

    #[test]
    fn io_failures_map_to_errno() {
        let nf = io_failure(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(nf.code, 2);
        let pd = io_failure(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(pd.code, 13);
    }
}
