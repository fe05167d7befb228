//! Pure mapping of Hadoop S3A configuration keys onto [`S3Settings`] (no I/O).
//!
//! Per-bucket overrides (`fs.s3a.bucket.<bucket>.<key>`) are applied first, as Hadoop's
//! `S3AUtils.propagateBucketOptions` does, so every getter below sees the effective value.

use std::fmt;
use std::time::Duration;

use crate::conf::{ConfError, Configuration};
use crate::fs::FsError;
use crate::fs::retry::RetryPolicy;
use crate::fs::wire;

/// `fs.s3a.access.key`.
pub const ACCESS_KEY: &str = "fs.s3a.access.key";
/// `fs.s3a.secret.key`.
pub const SECRET_KEY: &str = "fs.s3a.secret.key";
/// `fs.s3a.session.token`.
pub const SESSION_TOKEN: &str = "fs.s3a.session.token";
/// `fs.s3a.endpoint`: a URL (`http://host:port`) or a bare host.
pub const ENDPOINT: &str = "fs.s3a.endpoint";
/// `fs.s3a.endpoint.region`.
pub const ENDPOINT_REGION: &str = "fs.s3a.endpoint.region";
/// `fs.s3a.region`: accepted as an alias of [`ENDPOINT_REGION`] (lower precedence).
pub const REGION_ALIAS: &str = "fs.s3a.region";
/// `fs.s3a.connection.ssl.enabled`: https (default) or http for bare-host endpoints.
pub const SSL_ENABLED: &str = "fs.s3a.connection.ssl.enabled";
/// `fs.s3a.path.style.access`.
pub const PATH_STYLE: &str = "fs.s3a.path.style.access";
/// `fs.s3a.multipart.size`: part size of multipart uploads.
pub const MULTIPART_SIZE: &str = "fs.s3a.multipart.size";
/// `fs.s3a.multipart.threshold`: files from this size on are uploaded in parts.
pub const MULTIPART_THRESHOLD: &str = "fs.s3a.multipart.threshold";
/// `fs.s3a.aws.credentials.provider`: ordered, comma-separated provider class names.
pub const CREDENTIALS_PROVIDER: &str = "fs.s3a.aws.credentials.provider";
/// `fs.s3a.attempts.maximum`: when set, caps the attempts per request (the `ckpt.retry.*`
/// layer retries; the SDK never does).
pub const MAX_ATTEMPTS: &str = "fs.s3a.attempts.maximum";
/// `fs.s3a.connection.establish.timeout`: TCP/TLS connect timeout (at most the retry budget).
pub const CONNECT_TIMEOUT: &str = "fs.s3a.connection.establish.timeout";
/// `fs.s3a.connection.timeout`: longest silence while waiting for response data (at most the
/// retry budget).
pub const READ_TIMEOUT: &str = "fs.s3a.connection.timeout";
/// `fs.s3a.paging.maximum`: keys per LIST page (S3 caps it at 1000).
pub const PAGING_MAXIMUM: &str = "fs.s3a.paging.maximum";
/// `fs.s3a.create.performance`: skip the parent/directory probes in `create`.
pub const CREATE_PERFORMANCE: &str = "fs.s3a.create.performance";
/// `fs.s3a.create.conditional.enabled`: use `If-None-Match: *` for `create(overwrite=false)`.
pub const CONDITIONAL_CREATE: &str = "fs.s3a.create.conditional.enabled";
/// `fs.s3a.checksum.calculation`: `when_supported` (default) or `when_required`.
pub const CHECKSUM_CALCULATION: &str = "fs.s3a.checksum.calculation";
/// `fs.s3a.ckpt.imds.endpoint`: IMDS endpoint override (tests); else
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` or the EC2 default.
pub const IMDS_ENDPOINT: &str = "fs.s3a.ckpt.imds.endpoint";

/// `fs.s3a.ckpt.file.probe`: how a file's existence is checked: `head` (HEAD, default) or
/// `list` (a one-key LIST; for file-system-backed emulators such as s3s-fs, whose HEAD of a key
/// that is also a directory prefix fails with 500).
pub const FILE_PROBE: &str = "fs.s3a.ckpt.file.probe";

/// `fs.s3a.encryption.algorithm`: the server-side encryption objects are written with
/// (`SSE-S3`, `SSE-KMS`, `DSSE-KMS`, `SSE-C`). Hadoop counts the key as sensitive: its value is
/// never shown.
pub const ENCRYPTION_ALGORITHM: &str = "fs.s3a.encryption.algorithm";
/// `fs.s3a.server-side-encryption-algorithm`: the older name of [`ENCRYPTION_ALGORITHM`]
/// (lower precedence).
pub const ENCRYPTION_ALGORITHM_LEGACY: &str = "fs.s3a.server-side-encryption-algorithm";

/// S3 refuses parts below 5 MiB (except the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3 refuses parts above 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// A credentials provider class named in [`CREDENTIALS_PROVIDER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Access key + secret from the configuration.
    Simple,
    /// Access key + secret + session token from the configuration.
    Temporary,
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
    Environment,
    /// EC2 instance profile through IMDSv2.
    InstanceProfile,
    /// No credentials: requests are not signed.
    Anonymous,
}

/// Every accepted class name and what it maps to.
pub const PROVIDER_NAMES: &[(&str, ProviderKind)] = &[
    (
        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        ProviderKind::Simple,
    ),
    (
        "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
        ProviderKind::Temporary,
    ),
    (
        "com.amazonaws.auth.EnvironmentVariableCredentialsProvider",
        ProviderKind::Environment,
    ),
    (
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
        ProviderKind::Environment,
    ),
    (
        "org.apache.hadoop.fs.s3a.InstanceProfileCredentialsProvider",
        ProviderKind::InstanceProfile,
    ),
    (
        "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider",
        ProviderKind::InstanceProfile,
    ),
    (
        "com.amazonaws.auth.InstanceProfileCredentialsProvider",
        ProviderKind::InstanceProfile,
    ),
    (
        "software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider",
        ProviderKind::InstanceProfile,
    ),
    (
        "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
        ProviderKind::Anonymous,
    ),
    (
        "org.apache.hadoop.fs.s3a.auth.AnonymousAWSCredentialsProvider",
        ProviderKind::Anonymous,
    ),
    (
        "software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider",
        ProviderKind::Anonymous,
    ),
];

impl ProviderKind {
    /// The canonical Hadoop class name, used in messages.
    pub fn class_name(self) -> &'static str {
        match self {
            ProviderKind::Simple => "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            ProviderKind::Temporary => "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
            ProviderKind::Environment => {
                "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
            }
            ProviderKind::InstanceProfile => {
                "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider"
            }
            ProviderKind::Anonymous => "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
        }
    }

    /// Parses one class name (exact, surrounding blanks ignored).
    pub fn parse(name: &str) -> Option<ProviderKind> {
        let name = name.trim();
        PROVIDER_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}

/// Hadoop's default chain when no provider is configured.
pub const DEFAULT_CHAIN: &[ProviderKind] = &[
    ProviderKind::Temporary,
    ProviderKind::Simple,
    ProviderKind::Environment,
    ProviderKind::InstanceProfile,
];

/// Which requests carry checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    /// CRC32 on every upload (single PUT and each multipart part, declared at create).
    WhenSupported,
    /// Only where the S3 API requires one (DeleteObjects); multipart uploads carry none.
    WhenRequired,
}

/// Keys from the configuration; `Debug` never shows them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StaticKeys {
    /// `fs.s3a.access.key`.
    pub access_key: Option<String>,
    /// `fs.s3a.secret.key`.
    pub secret_key: Option<String>,
    /// `fs.s3a.session.token`.
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| if v.is_some() { "<redacted>" } else { "<unset>" };
        f.debug_struct("StaticKeys")
            .field("access_key", &shown(&self.access_key))
            .field("secret_key", &shown(&self.secret_key))
            .field("session_token", &shown(&self.session_token))
            .finish()
    }
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// AWS itself: the SDK resolves the endpoint from the region.
    Aws,
    /// A custom endpoint URL (`http(s)://host[:port]`).
    Custom(String),
}

/// The effective settings of one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The bucket (authority of the URI).
    pub bucket: String,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The signing region.
    pub region: String,
    /// Path-style addressing (`endpoint/bucket/key`).
    pub path_style: bool,
    /// Credentials providers in order (empty never; `[Anonymous]` for unsigned requests).
    pub providers: Vec<ProviderKind>,
    /// True when [`CREDENTIALS_PROVIDER`] was set (else Hadoop's default chain is used).
    pub providers_explicit: bool,
    /// Static keys from the configuration.
    pub keys: StaticKeys,
    /// Multipart part size.
    pub multipart_size: u64,
    /// Uploads from this size on are multipart.
    pub multipart_threshold: u64,
    /// Checksum policy.
    pub checksum: ChecksumMode,
    /// Conditional `If-None-Match: *` for create-if-absent.
    pub conditional_create: bool,
    /// Skip the probes `create` makes (path is a directory, a parent is a file).
    pub create_performance: bool,
    /// IMDS endpoint override.
    pub imds_endpoint: Option<String>,
    /// How every request is retried (`ckpt.retry.*`, attempts capped by [`MAX_ATTEMPTS`]).
    pub retry: RetryPolicy,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Response timeout.
    pub read_timeout: Duration,
    /// Keys per LIST page.
    pub page_size: i32,
    /// Probe files with a one-key LIST instead of HEAD.
    pub probe_with_list: bool,
    /// The server-side encryption the configuration names ([`ENCRYPTION_ALGORITHM`]): with KMS
    /// or customer keys an object's ETag is not its MD5, so a lost reply is resolved by reading
    /// the object back ([`wire::landed_check`]).
    pub encryption: wire::Encryption,
}

fn conf_err(e: ConfError) -> FsError {
    match e {
        ConfError::Missing { key, hint } => FsError::Config { key, message: hint },
        ConfError::Invalid { key, value, reason } => FsError::Config {
            key,
            message: format!("invalid value {value}: {reason}"),
        },
        ConfError::File { file, reason } => FsError::Config {
            key: file,
            message: reason,
        },
        e @ ConfError::UnknownKey { .. } => FsError::Config {
            key: e.subject().to_string(),
            message: e.to_string(),
        },
    }
}

/// Applies `fs.s3a.bucket.<bucket>.<key>` overrides onto `fs.s3a.<key>`.
pub fn effective_conf(conf: &Configuration, bucket: &str) -> Configuration {
    let prefix = format!("fs.s3a.bucket.{bucket}.");
    let mut out = conf.clone();
    for (key, value) in conf.iter() {
        if let Some(rest) = key.strip_prefix(&prefix)
            && !rest.is_empty()
            && !rest.starts_with("bucket.")
        {
            out.set(format!("fs.s3a.{rest}"), value.to_string());
        }
    }
    out
}

/// Parses the provider list; unknown names are a [`FsError::Config`] listing the accepted ones.
pub fn parse_providers(conf: &Configuration) -> Result<(Vec<ProviderKind>, bool), FsError> {
    let names = conf.get_list(CREDENTIALS_PROVIDER);
    if names.is_empty() {
        return Ok((DEFAULT_CHAIN.to_vec(), false));
    }
    let mut kinds = Vec::new();
    for name in &names {
        let kind = ProviderKind::parse(name).ok_or_else(|| FsError::Config {
            key: CREDENTIALS_PROVIDER.to_string(),
            message: format!(
                "unknown credentials provider {name:?}; accepted: {}",
                PROVIDER_NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.contains(&ProviderKind::Anonymous) && kinds.len() > 1 {
        return Err(FsError::Config {
            key: CREDENTIALS_PROVIDER.to_string(),
            message: "AnonymousAWSCredentialsProvider sends unsigned requests and must be the only provider listed".to_string(),
        });
    }
    Ok((kinds, true))
}

/// Parses `fs.s3a.endpoint` (URL or bare host) with `fs.s3a.connection.ssl.enabled`.
/// Returns the endpoint and, for AWS's own endpoints, the region the host names.
pub fn parse_endpoint(
    value: Option<&str>,
    ssl: bool,
) -> Result<(Endpoint, Option<String>), FsError> {
    let Some(raw) = value else {
        return Ok((Endpoint::Aws, None));
    };
    let shown = crate::conf::redact_url(raw);
    let bad = |reason: String| FsError::Config {
        key: ENDPOINT.to_string(),
        message: format!("invalid value {shown:?}: {reason}"),
    };
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(bad(format!(
                    "unsupported scheme {scheme:?}; write http://host:port, https://host or a bare host name"
                )));
            }
            (scheme, rest)
        }
        None => (if ssl { "https" } else { "http" }.to_string(), raw),
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() {
        return Err(bad("no host name".to_string()));
    }
    if authority.contains('/') || authority.contains('?') || authority.contains('#') {
        return Err(bad(
            "the endpoint is a host (and port) only, without a path".to_string(),
        ));
    }
    if authority
        .chars()
        .any(|c| c.is_whitespace() || c == '@' || c.is_control())
    {
        return Err(bad("the host name contains invalid characters".to_string()));
    }
    let (host, port) = split_host_port(authority);
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(bad(format!("invalid port {port:?}")));
    }
    let host_lc = host.to_ascii_lowercase();
    if let Some(region) = aws_endpoint_region(&host_lc) {
        return Ok((Endpoint::Aws, region));
    }
    Ok((Endpoint::Custom(format!("{scheme}://{authority}")), None))
}

/// The server-side encryption named by [`ENCRYPTION_ALGORITHM`] (or its older name). An
/// unknown method is an error, as in Hadoop; the value is not shown (Hadoop lists the key as
/// sensitive).
fn encryption_of(conf: &Configuration) -> Result<wire::Encryption, FsError> {
    let (key, value) = match conf.get(ENCRYPTION_ALGORITHM) {
        Some(v) => (ENCRYPTION_ALGORITHM, v),
        None => match conf.get(ENCRYPTION_ALGORITHM_LEGACY) {
            Some(v) => (ENCRYPTION_ALGORITHM_LEGACY, v),
            None => return Ok(wire::Encryption::None),
        },
    };
    wire::Encryption::from_hadoop_algorithm(value).ok_or_else(|| FsError::Config {
        key: key.to_string(),
        message: "unknown or unsupported encryption method (value not shown); expected SSE-S3, SSE-KMS, DSSE-KMS, SSE-C or none (client-side encryption, CSE-*, is not supported)".to_string(),
    })
}

fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        // [ipv6]:port
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (authority, None),
    }
}

/// `Some(region)` for AWS's public S3 endpoints (`s3.amazonaws.com` → `Some(None)`).
fn aws_endpoint_region(host: &str) -> Option<Option<String>> {
    if host == "s3.amazonaws.com" {
        return Some(None);
    }
    let middle = host.strip_suffix(".amazonaws.com")?;
    let region = middle
        .strip_prefix("s3.")
        .or_else(|| middle.strip_prefix("s3-"))?;
    let valid = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| Some(region.to_string()))
}

fn is_local_host(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let (host, _) = split_host_port(rest);
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok()
}

/// Maps the configuration of `bucket` onto [`S3Settings`].
pub fn settings_from_conf(conf: &Configuration, bucket: &str) -> Result<S3Settings, FsError> {
    if bucket.is_empty() {
        return Err(FsError::Config {
            key: "s3.bucket".to_string(),
            message: "no bucket: use s3a://<bucket>/path (or set s3.bucket in plugin-config)"
                .to_string(),
        });
    }
    let conf = effective_conf(conf, bucket);
    let ssl = conf.get_bool(SSL_ENABLED, true).map_err(conf_err)?;
    let (endpoint, endpoint_region) = parse_endpoint(conf.get(ENDPOINT), ssl)?;
    let region = conf
        .get(ENDPOINT_REGION)
        .or_else(|| conf.get(REGION_ALIAS))
        .map(str::to_string)
        .or(endpoint_region)
        .unwrap_or_else(|| "us-east-1".to_string());
    let path_style_default = matches!(&endpoint, Endpoint::Custom(url) if is_local_host(url));
    let path_style = conf
        .get_bool(PATH_STYLE, path_style_default)
        .map_err(conf_err)?
        // Virtual-host addressing cannot work with an IP address or localhost.
        || path_style_default;
    let (providers, providers_explicit) = parse_providers(&conf)?;
    let keys = StaticKeys {
        access_key: conf.get(ACCESS_KEY).map(str::to_string),
        secret_key: conf.get(SECRET_KEY).map(str::to_string),
        session_token: conf.get(SESSION_TOKEN).map(str::to_string),
    };
    let multipart_size = conf
        .get_size(MULTIPART_SIZE, 64 * 1024 * 1024)
        .map_err(conf_err)?
        .clamp(MIN_PART_SIZE, MAX_PART_SIZE);
    let multipart_threshold = conf
        .get_size(MULTIPART_THRESHOLD, 128 * 1024 * 1024)
        .map_err(conf_err)?
        .max(MIN_PART_SIZE);
    let checksum = match conf.get(CHECKSUM_CALCULATION) {
        None => ChecksumMode::WhenSupported,
        Some(v) => match v.to_ascii_lowercase().replace('-', "_").as_str() {
            "when_supported" => ChecksumMode::WhenSupported,
            "when_required" => ChecksumMode::WhenRequired,
            _ => {
                return Err(FsError::Config {
                    key: CHECKSUM_CALCULATION.to_string(),
                    message: format!(
                        "invalid value {v:?}: expected when_supported or when_required"
                    ),
                });
            }
        },
    };
    let conditional_create = conf.get_bool(CONDITIONAL_CREATE, true).map_err(conf_err)?;
    let create_performance = conf.get_bool(CREATE_PERFORMANCE, false).map_err(conf_err)?;
    let imds_endpoint = conf.get(IMDS_ENDPOINT).map(str::to_string);
    if let Some(url) = &imds_endpoint
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(FsError::Config {
            key: IMDS_ENDPOINT.to_string(),
            message: format!("invalid value {url:?}: expected http://host:port"),
        });
    }
    let retry = wire::request_policy(&conf, MAX_ATTEMPTS).map_err(conf_err)?;
    let connect_timeout =
        wire::attempt_timeout(&conf, CONNECT_TIMEOUT, Duration::from_secs(30), &retry)
            .map_err(conf_err)?;
    let read_timeout = wire::attempt_timeout(&conf, READ_TIMEOUT, Duration::from_secs(200), &retry)
        .map_err(conf_err)?;
    let page_size = conf
        .get_u64(PAGING_MAXIMUM, 1000)
        .map_err(conf_err)?
        .clamp(1, 1000) as i32;
    let probe_with_list = match conf.get(FILE_PROBE).map(str::to_ascii_lowercase).as_deref() {
        None | Some("head") => false,
        Some("list") => true,
        Some(other) => {
            return Err(FsError::Config {
                key: FILE_PROBE.to_string(),
                message: format!("invalid value {other:?}: expected head or list"),
            });
        }
    };
    let encryption = encryption_of(&conf)?;
    Ok(S3Settings {
        encryption,
        probe_with_list,
        bucket: bucket.to_string(),
        endpoint,
        region,
        path_style,
        providers,
        providers_explicit,
        keys,
        multipart_size,
        multipart_threshold,
        checksum,
        conditional_create,
        create_performance,
        imds_endpoint,
        retry,
        connect_timeout,
        read_timeout,
        page_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        Configuration::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults() {
        let s = settings_from_conf(&conf(&[]), "b1").unwrap();
        assert_eq!(s.endpoint, Endpoint::Aws);
        assert_eq!(s.region, "us-east-1");
        assert!(!s.path_style);
        assert_eq!(s.providers, DEFAULT_CHAIN);
        assert!(!s.providers_explicit);
        assert_eq!(s.multipart_size, 64 << 20);
        assert_eq!(s.multipart_threshold, 128 << 20);
        assert_eq!(s.checksum, ChecksumMode::WhenSupported);
        assert!(s.conditional_create);
        assert_eq!(s.retry, RetryPolicy::default());
        assert_eq!(s.connect_timeout, Duration::from_secs(30));
        assert_eq!(
            s.read_timeout,
            Duration::from_secs(60),
            "capped at the budget"
        );
        let s = settings_from_conf(
            &conf(&[(MAX_ATTEMPTS, "3"), ("ckpt.retry.max-elapsed", "5s")]),
            "b1",
        )
        .unwrap();
        assert_eq!(s.retry.max_attempts, 3);
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn endpoints() {
        let e = |v: &str, ssl: bool| parse_endpoint(Some(v), ssl);
        assert_eq!(
            e("http://127.0.0.1:4566", true).unwrap().0,
            Endpoint::Custom("http://127.0.0.1:4566".into())
        );
        assert_eq!(
            e("minio.local:9000", true).unwrap().0,
            Endpoint::Custom("https://minio.local:9000".into())
        );
        assert_eq!(
            e("minio.local:9000", false).unwrap().0,
            Endpoint::Custom("http://minio.local:9000".into())
        );
        assert_eq!(
            e("HTTPS://host/", false).unwrap().0,
            Endpoint::Custom("https://host".into())
        );
        assert_eq!(
            e("s3.eu-west-1.amazonaws.com", true).unwrap(),
            (Endpoint::Aws, Some("eu-west-1".into()))
        );
        assert_eq!(e("s3.amazonaws.com", true).unwrap(), (Endpoint::Aws, None));
        for bad in [
            "htp://127.0.0.1:4566",
            "http://",
            "http://h/p",
            "h:99999",
            "ht tp://x",
        ] {
            let err = e(bad, true).unwrap_err().to_string();
            assert!(err.contains(ENDPOINT), "{bad}: {err}");
        }
        assert!(
            e("htp://127.0.0.1:4566", true)
                .unwrap_err()
                .to_string()
                .contains("htp")
        );
    }

    #[test]
    fn region_and_path_style() {
        let s = settings_from_conf(
            &conf(&[
                (ENDPOINT, "http://127.0.0.1:9000"),
                (ENDPOINT_REGION, "eu-central-1"),
            ]),
            "b1",
        )
        .unwrap();
        assert_eq!(s.region, "eu-central-1");
        assert!(s.path_style, "IP endpoints are always path style");
        let s =
            settings_from_conf(&conf(&[(ENDPOINT, "s3.ap-south-1.amazonaws.com")]), "b1").unwrap();
        assert_eq!(s.region, "ap-south-1");
        let s = settings_from_conf(&conf(&[(REGION_ALIAS, "x-1")]), "b1").unwrap();
        assert_eq!(s.region, "x-1");
        let s = settings_from_conf(
            &conf(&[(ENDPOINT, "https://store.example"), (PATH_STYLE, "true")]),
            "b1",
        )
        .unwrap();
        assert!(s.path_style);
        let s = settings_from_conf(&conf(&[(ENDPOINT, "https://store.example")]), "b1").unwrap();
        assert!(!s.path_style);
    }

    #[test]
    fn per_bucket_overrides_win() {
        let c = conf(&[
            (ACCESS_KEY, "global-ak"),
            ("fs.s3a.bucket.b1.access.key", "b1-ak"),
            ("fs.s3a.bucket.b1.endpoint", "http://127.0.0.1:1"),
            ("fs.s3a.bucket.other.access.key", "other-ak"),
        ]);
        let s = settings_from_conf(&c, "b1").unwrap();
        assert_eq!(s.keys.access_key.as_deref(), Some("b1-ak"));
        assert_eq!(s.endpoint, Endpoint::Custom("http://127.0.0.1:1".into()));
        let s = settings_from_conf(&c, "b2").unwrap();
        assert_eq!(s.keys.access_key.as_deref(), Some("global-ak"));
        assert_eq!(s.endpoint, Endpoint::Aws);
    }

    #[test]
    fn the_encryption_method_decides_how_a_lost_reply_is_resolved() {
        use wire::{Encryption, LandedCheck, landed_check};
        let enc =
            |pairs: &[(&str, &str)]| settings_from_conf(&conf(pairs), "b1").map(|s| s.encryption);
        assert_eq!(enc(&[]).unwrap(), Encryption::None);
        for (value, want) in [
            ("SSE-KMS", Encryption::Kms),
            ("DSSE-KMS", Encryption::Kms),
            ("SSE-C", Encryption::CustomerKey),
            ("SSE-S3", Encryption::StoreManaged),
        ] {
            assert_eq!(
                enc(&[(ENCRYPTION_ALGORITHM, value)]).unwrap(),
                want,
                "{value}"
            );
            assert_eq!(
                enc(&[(ENCRYPTION_ALGORITHM_LEGACY, value)]).unwrap(),
                want,
                "{value}"
            );
        }
        // The current name wins over the older one; per-bucket overrides apply.
        assert_eq!(
            enc(&[
                (ENCRYPTION_ALGORITHM, "SSE-KMS"),
                (ENCRYPTION_ALGORITHM_LEGACY, "SSE-S3")
            ])
            .unwrap(),
            Encryption::Kms
        );
        assert_eq!(
            enc(&[("fs.s3a.bucket.b1.encryption.algorithm", "SSE-C")]).unwrap(),
            Encryption::CustomerKey
        );
        // With KMS or a customer key configured, a lost reply is resolved by a read back,
        // whatever the server reports; with none, only what the server reports decides.
        for value in ["SSE-KMS", "DSSE-KMS", "SSE-C"] {
            let configured = enc(&[(ENCRYPTION_ALGORITHM, value)]).unwrap();
            assert_eq!(
                landed_check(configured, Encryption::None),
                LandedCheck::ReadBack
            );
        }
        let none = enc(&[]).unwrap();
        assert_eq!(landed_check(none, Encryption::None), LandedCheck::Etag);
        assert_eq!(landed_check(none, Encryption::Kms), LandedCheck::ReadBack);
        // An unknown method fails, naming the key but not the value (a sensitive key).
        let err = enc(&[(ENCRYPTION_ALGORITHM, "CSE-KMS-MARKER")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(ENCRYPTION_ALGORITHM) && !err.contains("MARKER"),
            "{err}"
        );
    }

    #[test]
    fn sizes() {
        let s = settings_from_conf(
            &conf(&[(MULTIPART_SIZE, "8M"), (MULTIPART_THRESHOLD, "16m")]),
            "b",
        )
        .unwrap();
        assert_eq!(s.multipart_size, 8 << 20);
        assert_eq!(s.multipart_threshold, 16 << 20);
        let s = settings_from_conf(&conf(&[(MULTIPART_SIZE, "1k")]), "b").unwrap();
        assert_eq!(s.multipart_size, MIN_PART_SIZE);
        let err = settings_from_conf(&conf(&[(MULTIPART_SIZE, "lots")]), "b").unwrap_err();
        assert!(err.to_string().contains(MULTIPART_SIZE), "{err}");
    }

    #[test]
    fn providers_in_every_spelling() {
        for (name, kind) in PROVIDER_NAMES {
            let (kinds, explicit) =
                parse_providers(&conf(&[(CREDENTIALS_PROVIDER, name)])).unwrap();
            assert_eq!(kinds, vec![*kind]);
            assert!(explicit);
        }
        let (kinds, _) = parse_providers(&conf(&[(
            CREDENTIALS_PROVIDER,
            " org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider,\n  org.apache.hadoop.fs.s3a.InstanceProfileCredentialsProvider ",
        )]))
        .unwrap();
        assert_eq!(
            kinds,
            vec![ProviderKind::Temporary, ProviderKind::InstanceProfile]
        );
    }

    #[test]
    fn unknown_provider_lists_accepted_names() {
        let err = parse_providers(&conf(&[(CREDENTIALS_PROVIDER, "com.example.Nope")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(CREDENTIALS_PROVIDER), "{err}");
        assert!(err.contains("com.example.Nope"), "{err}");
        for (name, _) in PROVIDER_NAMES {
            assert!(err.contains(name), "{err} lacks {name}");
        }
        let err = parse_providers(&conf(&[(
            CREDENTIALS_PROVIDER,
            "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider,org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("only provider"), "{err}");
    }

    #[test]
    fn checksum_and_flags() {
        let s = settings_from_conf(
            &conf(&[
                (CHECKSUM_CALCULATION, "WHEN_REQUIRED"),
                (CONDITIONAL_CREATE, "false"),
                (CREATE_PERFORMANCE, "true"),
            ]),
            "b",
        )
        .unwrap();
        assert_eq!(s.checksum, ChecksumMode::WhenRequired);
        assert!(!s.conditional_create);
        assert!(s.create_performance);
        assert!(settings_from_conf(&conf(&[(CHECKSUM_CALCULATION, "always")]), "b").is_err());
        assert!(settings_from_conf(&conf(&[(IMDS_ENDPOINT, "127.0.0.1:1")]), "b").is_err());
        assert!(
            settings_from_conf(&conf(&[(FILE_PROBE, "list")]), "b")
                .unwrap()
                .probe_with_list
        );
        assert!(settings_from_conf(&conf(&[(FILE_PROBE, "stat")]), "b").is_err());
    }

    #[test]
    fn debug_never_shows_keys() {
        let s = settings_from_conf(
            &conf(&[
                (ACCESS_KEY, "AKIAEXAMPLE"),
                (SECRET_KEY, "very-secret"),
                (SESSION_TOKEN, "tok-123"),
            ]),
            "b",
        )
        .unwrap();
        let shown = format!("{s:?}");
        for secret in ["AKIAEXAMPLE", "very-secret", "tok-123"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn missing_bucket() {
        assert!(
            settings_from_conf(&conf(&[]), "")
                .unwrap_err()
                .to_string()
                .contains("bucket")
        );
    }
}
