//! Hadoop `fs.oss.*` keys to the OSS client settings (pure; environment access is injected).

use std::time::Duration;

use super::sign::{SignatureVersion, SigningCredentials};
use crate::conf::Configuration;
use crate::fs::{FsError, FsResult, Path, wire};

/// `fs.oss.endpoint`: the OSS endpoint (required).
pub const ENDPOINT: &str = "fs.oss.endpoint";
/// `fs.oss.accessKeyId`.
pub const ACCESS_KEY_ID: &str = "fs.oss.accessKeyId";
/// `fs.oss.accessKeySecret`.
pub const ACCESS_KEY_SECRET: &str = "fs.oss.accessKeySecret";
/// `fs.oss.securityToken` (STS temporary credentials).
pub const SECURITY_TOKEN: &str = "fs.oss.securityToken";
/// `fs.oss.credentials.provider`: the credentials provider class.
pub const CREDENTIALS_PROVIDER: &str = "fs.oss.credentials.provider";
/// `fs.oss.connection.secure.enabled`: https (default) or http for endpoints without a scheme.
pub const SECURE_CONNECTIONS: &str = "fs.oss.connection.secure.enabled";
/// `fs.oss.signatureversion`: `V1` (default, as in Hadoop) or `V4`.
pub const SIGNATURE_VERSION: &str = "fs.oss.signatureversion";
/// Camel-case spelling of [`SIGNATURE_VERSION`] some tools use.
pub const SIGNATURE_VERSION_ALT: &str = "fs.oss.signatureVersion";
/// `fs.oss.region`: the region V4 signs for (e.g. `cn-hangzhou`).
pub const REGION: &str = "fs.oss.region";
/// `fs.oss.multipart.upload.size`: part size of multipart uploads.
pub const MULTIPART_SIZE: &str = "fs.oss.multipart.upload.size";
/// `fs.oss.multipart.upload.threshold`: files above this size are uploaded in parts.
pub const MULTIPART_THRESHOLD: &str = "fs.oss.multipart.upload.threshold";
/// `fs.oss.multipart.download.size`: size of the ranged GETs a large read is split into.
pub const MULTIPART_DOWNLOAD_SIZE: &str = "fs.oss.multipart.download.size";
/// `fs.oss.attempts.maximum`: when set, caps the attempts of a request (the `ckpt.retry.*`
/// layer retries, within `ckpt.retry.max-elapsed`).
pub const MAX_ATTEMPTS: &str = "fs.oss.attempts.maximum";
/// `fs.oss.connection.establish.timeout`: connect timeout (bare number = milliseconds).
pub const CONNECT_TIMEOUT: &str = "fs.oss.connection.establish.timeout";
/// `fs.oss.connection.timeout`: socket read timeout (bare number = milliseconds).
pub const SOCKET_TIMEOUT: &str = "fs.oss.connection.timeout";
/// `fs.oss.paging.maximum`: keys per listing page (1..=1000).
pub const PAGING_MAXIMUM: &str = "fs.oss.paging.maximum";
/// `fs.oss.path.style.access` (ckpt extension): force path-style (`true`) or virtual-host
/// (`false`) addressing; by default IP and `localhost` endpoints use path style.
pub const PATH_STYLE_ACCESS: &str = "fs.oss.path.style.access";

/// Environment variables read by `EnvironmentVariableCredentialsProvider`.
pub const ENV_ACCESS_KEY_ID: &str = "OSS_ACCESS_KEY_ID";
/// See [`ENV_ACCESS_KEY_ID`].
pub const ENV_ACCESS_KEY_SECRET: &str = "OSS_ACCESS_KEY_SECRET";
/// See [`ENV_ACCESS_KEY_ID`].
pub const ENV_SESSION_TOKEN: &str = "OSS_SESSION_TOKEN";

/// Provider classes that read `fs.oss.accessKeyId`/`accessKeySecret`/`securityToken`.
pub const STATIC_PROVIDERS: &[&str] = &[
    "org.apache.hadoop.fs.aliyun.oss.AliyunCredentialsProvider",
    "com.aliyun.oss.common.auth.DefaultCredentialProvider",
];
/// Provider classes that read `OSS_ACCESS_KEY_ID`/`OSS_ACCESS_KEY_SECRET`/`OSS_SESSION_TOKEN`.
pub const ENV_PROVIDERS: &[&str] =
    &["com.aliyun.oss.common.auth.EnvironmentVariableCredentialsProvider"];

const MIN_PART: u64 = 100 * 1024;
const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal (IPv6 in brackets).
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Path-style (`endpoint/bucket/key`) instead of virtual-host (`bucket.endpoint/key`).
    pub path_style: bool,
}

impl Endpoint {
    /// `scheme://host[:port]` as configured.
    pub fn display(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// The base URL of requests for `bucket`, without a trailing `/`.
    pub fn bucket_base(&self, bucket: &str) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        if self.path_style {
            format!("{}://{}{port}/{bucket}", self.scheme, self.host)
        } else {
            format!("{}://{bucket}.{}{port}", self.scheme, self.host)
        }
    }
}

/// The settings of one `oss://bucket` file system.
#[derive(Debug, Clone)]
pub struct OssSettings {
    /// The bucket (authority of `oss://bucket`).
    pub bucket: String,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Signature version.
    pub signature: SignatureVersion,
    /// Region (for V4; may be empty for V1).
    pub region: String,
    /// Key material (Debug shows none of it).
    pub credentials: SigningCredentials,
    /// Which provider supplied the credentials (for error messages).
    pub provider: String,
    /// Multipart part size.
    pub part_size: u64,
    /// Files larger than this use multipart upload.
    pub multipart_threshold: u64,
    /// Size of the ranged GETs a large read is split into.
    pub download_size: u64,
    /// How every request is retried (`ckpt.retry.*`, attempts capped by [`MAX_ATTEMPTS`]).
    pub retry: crate::fs::retry::RetryPolicy,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read timeout.
    pub socket_timeout: Duration,
    /// Keys per listing page.
    pub page_size: u32,
}

fn conf_err(key: &str, message: impl Into<String>) -> FsError {
    FsError::Config {
        key: key.to_string(),
        message: message.into(),
    }
}

impl From<crate::conf::ConfError> for FsError {
    fn from(e: crate::conf::ConfError) -> Self {
        let key = e.subject().to_string();
        FsError::Config {
            key,
            message: e.to_string(),
        }
    }
}

/// Parses `fs.oss.endpoint` (bare host, `host:port`, or `http(s)://host[:port]`).
pub fn parse_endpoint(value: &str, secure: bool, path_style: Option<bool>) -> FsResult<Endpoint> {
    let raw = value.trim();
    let shown = crate::conf::redact_url(raw);
    if raw.is_empty() {
        return Err(conf_err(
            ENDPOINT,
            "is empty; set it to the OSS endpoint, e.g. oss-cn-hangzhou.aliyuncs.com",
        ));
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, rest)) => {
            let s = s.to_ascii_lowercase();
            if s != "http" && s != "https" {
                return Err(conf_err(
                    ENDPOINT,
                    format!(
                        "{shown:?} has scheme {s:?}; use http:// or https:// (or a bare host name)"
                    ),
                ));
            }
            (s, rest)
        }
        None if raw.contains(":/") => {
            return Err(conf_err(
                ENDPOINT,
                format!(
                    "{shown:?} is not a valid endpoint URL; write http://host:port, https://host or a bare host name"
                ),
            ));
        }
        None => ((if secure { "https" } else { "http" }).to_string(), raw),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') || rest.contains('?') || rest.contains('#') || rest.contains('@') {
        return Err(conf_err(
            ENDPOINT,
            format!("{shown:?} must be a host (and port) only, without a path, query or user"),
        ));
    }
    let (host, port) = if let Some(after) = rest.strip_prefix('[') {
        let (h, tail) = after
            .split_once(']')
            .ok_or_else(|| conf_err(ENDPOINT, format!("{shown:?}: unclosed [ in IPv6 host")))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => {
                return Err(conf_err(
                    ENDPOINT,
                    format!("{shown:?}: unexpected {tail:?} after the host"),
                ));
            }
        };
        (format!("[{h}]"), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (rest.to_string(), None),
        }
    };
    let port = port
        .map(|p| {
            p.parse::<u16>().map_err(|_| {
                conf_err(
                    ENDPOINT,
                    format!("{shown:?}: port {p:?} is not a number in 1..65535"),
                )
            })
        })
        .transpose()?;
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
    {
        return Err(conf_err(
            ENDPOINT,
            format!("{shown:?}: {host:?} is not a valid host name"),
        ));
    }
    let is_ip = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
    let local = is_ip || host.eq_ignore_ascii_case("localhost");
    Ok(Endpoint {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        path_style: path_style.unwrap_or(local),
    })
}

/// The region in a public endpoint name (`oss-cn-hangzhou[-internal].aliyuncs.com`).
pub fn region_from_endpoint(host: &str) -> Option<String> {
    let first = host.split('.').next()?;
    let region = first.strip_prefix("oss-")?;
    let region = region.strip_suffix("-internal").unwrap_or(region);
    (!region.is_empty() && host.ends_with(".aliyuncs.com")).then(|| region.to_string())
}

/// Checks an OSS bucket name (3 to 63 of a-z, 0-9 and `-`, not starting or ending with `-`).
pub fn validate_bucket(bucket: &str) -> FsResult<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(conf_err(
            "oss.bucket",
            format!("{bucket:?} is not a valid OSS bucket name (3-63 characters: a-z, 0-9 and -)"),
        ))
    }
}

fn parse_signature(conf: &Configuration) -> FsResult<(SignatureVersion, &'static str)> {
    for key in [SIGNATURE_VERSION, SIGNATURE_VERSION_ALT] {
        if let Some(v) = conf.get(key).map(str::trim).filter(|v| !v.is_empty()) {
            return match v.to_ascii_uppercase().as_str() {
                "V1" | "1" => Ok((SignatureVersion::V1, key)),
                "V4" | "4" => Ok((SignatureVersion::V4, key)),
                _ => Err(conf_err(
                    key,
                    format!("{v:?} is not a signature version; use V1 or V4"),
                )),
            };
        }
    }
    Ok((SignatureVersion::V1, SIGNATURE_VERSION))
}

fn credentials(
    conf: &Configuration,
    env: &dyn Fn(&str) -> Option<String>,
) -> FsResult<(SigningCredentials, String)> {
    let provider = conf
        .get(CREDENTIALS_PROVIDER)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(STATIC_PROVIDERS[0]);
    let short = provider.rsplit('.').next().unwrap_or(provider).to_string();
    if STATIC_PROVIDERS.contains(&provider) {
        let get = |key: &str| conf.get(key).map(str::trim).filter(|v| !v.is_empty());
        let id = get(ACCESS_KEY_ID).ok_or_else(|| {
            conf_err(
                ACCESS_KEY_ID,
                format!(
                    "is required by {short}; set it to the AccessKey id (and {ACCESS_KEY_SECRET})"
                ),
            )
        })?;
        let secret = get(ACCESS_KEY_SECRET).ok_or_else(|| {
            conf_err(
                ACCESS_KEY_SECRET,
                format!("is required by {short}; set it to the AccessKey secret"),
            )
        })?;
        let token = get(SECURITY_TOKEN).map(str::to_string);
        let label = if token.is_some() {
            format!("{short} ({ACCESS_KEY_ID} with {SECURITY_TOKEN})")
        } else {
            format!("{short} ({ACCESS_KEY_ID})")
        };
        return Ok((
            SigningCredentials {
                access_key_id: id.to_string(),
                access_key_secret: secret.to_string(),
                security_token: token,
            },
            label,
        ));
    }
    if ENV_PROVIDERS.contains(&provider) {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let id = get(ENV_ACCESS_KEY_ID);
        let secret = get(ENV_ACCESS_KEY_SECRET);
        let (Some(id), Some(secret)) = (id, secret) else {
            return Err(FsError::Auth {
                message: format!(
                    "{short} found no credentials: set the environment variables {ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} (and {ENV_SESSION_TOKEN} for STS)"
                ),
            });
        };
        return Ok((
            SigningCredentials {
                access_key_id: id,
                access_key_secret: secret,
                security_token: get(ENV_SESSION_TOKEN),
            },
            format!("{short} (environment {ENV_ACCESS_KEY_ID})"),
        ));
    }
    let accepted: Vec<&str> = STATIC_PROVIDERS
        .iter()
        .chain(ENV_PROVIDERS)
        .copied()
        .collect();
    Err(conf_err(
        CREDENTIALS_PROVIDER,
        format!(
            "unknown credentials provider {provider:?}; accepted: {}",
            accepted.join(", ")
        ),
    ))
}

impl OssSettings {
    /// Maps the configuration for the file system rooted at `root` (`oss://bucket`).
    /// `env` looks up environment variables (injected for tests).
    pub fn from_conf(
        root: &Path,
        conf: &Configuration,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> FsResult<OssSettings> {
        let bucket = root.authority().filter(|a| !a.is_empty()).ok_or_else(|| {
            conf_err(
                "oss.bucket",
                format!("{root} names no bucket; write oss://<bucket> (or oss.bucket: <bucket>)"),
            )
        })?;
        validate_bucket(bucket)?;
        let endpoint_value = conf
            .get(ENDPOINT)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                conf_err(ENDPOINT, "is required: set it to the OSS endpoint of the bucket's region, e.g. oss-cn-hangzhou.aliyuncs.com or https://oss-cn-hangzhou.aliyuncs.com")
            })?;
        let secure = conf.get_bool(SECURE_CONNECTIONS, true)?;
        let path_style = match conf.get(PATH_STYLE_ACCESS) {
            Some(_) => Some(conf.get_bool(PATH_STYLE_ACCESS, false)?),
            None => None,
        };
        let endpoint = parse_endpoint(endpoint_value, secure, path_style)?;
        let (signature, sig_key) = parse_signature(conf)?;
        let region = match conf.get(REGION).map(str::trim).filter(|v| !v.is_empty()) {
            Some(r) => r.strip_prefix("oss-").unwrap_or(r).to_string(),
            None => region_from_endpoint(&endpoint.host).unwrap_or_default(),
        };
        if signature == SignatureVersion::V4 && region.is_empty() {
            return Err(conf_err(
                REGION,
                format!(
                    "is required with {sig_key}=V4 when the endpoint ({}) does not name the region; set it to e.g. cn-hangzhou",
                    endpoint.display()
                ),
            ));
        }
        let (credentials, provider) = credentials(conf, env)?;
        let part_size = conf.get_size(MULTIPART_SIZE, 100 * 1024 * 1024)?;
        if !(MIN_PART..=MAX_PART).contains(&part_size) {
            return Err(conf_err(
                MULTIPART_SIZE,
                format!("{part_size} bytes is outside the OSS part size limits (100K to 5G)"),
            ));
        }
        let multipart_threshold = conf.get_size(MULTIPART_THRESHOLD, 20 * 1024 * 1024)?;
        let download_size = conf
            .get_size(MULTIPART_DOWNLOAD_SIZE, 512 * 1024)?
            .max(4096);
        let retry = wire::request_policy(conf, MAX_ATTEMPTS)?;
        let connect_timeout =
            wire::attempt_timeout(conf, CONNECT_TIMEOUT, Duration::from_secs(50), &retry)?;
        let socket_timeout =
            wire::attempt_timeout(conf, SOCKET_TIMEOUT, Duration::from_secs(200), &retry)?;
        let page_size = conf.get_u64(PAGING_MAXIMUM, 1000)?.clamp(1, 1000) as u32;
        Ok(OssSettings {
            bucket: bucket.to_string(),
            endpoint,
            signature,
            region,
            credentials,
            provider,
            part_size,
            multipart_threshold,
            download_size,
            retry,
            connect_timeout,
            socket_timeout,
            page_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        Configuration::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn root(b: &str) -> Path {
        Path::parse(&format!("oss://{b}/")).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const BASE: &[(&str, &str)] = &[
        (ENDPOINT, "oss-cn-hangzhou.aliyuncs.com"),
        (ACCESS_KEY_ID, "AKID"),
        (ACCESS_KEY_SECRET, "topsecret"),
    ];

    #[test]
    fn endpoints() {
        let e = parse_endpoint("oss-cn-hangzhou.aliyuncs.com", true, None).unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.host.as_str(), e.port, e.path_style),
            ("https", "oss-cn-hangzhou.aliyuncs.com", None, false)
        );
        assert_eq!(e.bucket_base("b"), "https://b.oss-cn-hangzhou.aliyuncs.com");
        let e = parse_endpoint("oss-cn-hangzhou.aliyuncs.com", false, None).unwrap();
        assert_eq!(e.scheme, "http");
        let e = parse_endpoint("https://oss-cn-beijing.aliyuncs.com/", false, None).unwrap();
        assert_eq!((e.scheme.as_str(), e.path_style), ("https", false));
        let e = parse_endpoint("http://127.0.0.1:9000", true, None).unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.host.as_str(), e.port, e.path_style),
            ("http", "127.0.0.1", Some(9000), true)
        );
        assert_eq!(e.bucket_base("b"), "http://127.0.0.1:9000/b");
        assert!(
            parse_endpoint("localhost:1234", false, None)
                .unwrap()
                .path_style
        );
        assert!(
            !parse_endpoint("localhost:1234", false, Some(false))
                .unwrap()
                .path_style
        );
        for bad in [
            "htp://127.0.0.1:9000",
            "http:/127.0.0.1:9000",
            "http://h/path",
            "http://h:port",
            "s3://x",
            "ht tp://x",
        ] {
            let err = parse_endpoint(bad, true, None).unwrap_err();
            assert!(err.to_string().contains(ENDPOINT), "{bad}: {err}");
        }
    }

    #[test]
    fn regions() {
        assert_eq!(
            region_from_endpoint("oss-cn-hangzhou.aliyuncs.com").as_deref(),
            Some("cn-hangzhou")
        );
        assert_eq!(
            region_from_endpoint("oss-cn-beijing-internal.aliyuncs.com").as_deref(),
            Some("cn-beijing")
        );
        assert_eq!(region_from_endpoint("127.0.0.1"), None);
    }

    #[test]
    fn static_credentials_and_defaults() {
        let s = OssSettings::from_conf(&root("my-bucket"), &conf(BASE), &no_env).unwrap();
        assert_eq!(s.bucket, "my-bucket");
        assert_eq!(s.signature, SignatureVersion::V1);
        assert_eq!(s.region, "cn-hangzhou");
        assert_eq!(s.credentials.access_key_id, "AKID");
        assert_eq!(s.part_size, 100 * 1024 * 1024);
        assert_eq!(s.multipart_threshold, 20 * 1024 * 1024);
        assert_eq!(s.download_size, 512 * 1024);
        assert!(s.provider.contains("AliyunCredentialsProvider"));
        assert!(!format!("{s:?}").contains("topsecret"));
        let mut with_token = BASE.to_vec();
        with_token.push((SECURITY_TOKEN, "tok"));
        with_token.push((
            CREDENTIALS_PROVIDER,
            "com.aliyun.oss.common.auth.DefaultCredentialProvider",
        ));
        with_token.push((SIGNATURE_VERSION, "v4"));
        with_token.push((MULTIPART_SIZE, "1M"));
        let s = OssSettings::from_conf(&root("my-bucket"), &conf(&with_token), &no_env).unwrap();
        assert_eq!(s.credentials.security_token.as_deref(), Some("tok"));
        assert_eq!(s.signature, SignatureVersion::V4);
        assert_eq!(s.part_size, 1024 * 1024);
        assert!(!format!("{s:?}").contains("tok\""));
    }

    #[test]
    fn environment_provider() {
        let mut c = BASE.to_vec();
        c.push((CREDENTIALS_PROVIDER, ENV_PROVIDERS[0]));
        let env = |k: &str| match k {
            ENV_ACCESS_KEY_ID => Some("ENVID".to_string()),
            ENV_ACCESS_KEY_SECRET => Some("envsecret".to_string()),
            ENV_SESSION_TOKEN => Some("envtoken".to_string()),
            _ => None,
        };
        let s = OssSettings::from_conf(&root("bkt"), &conf(&c), &env).unwrap();
        assert_eq!(s.credentials.access_key_id, "ENVID");
        assert_eq!(s.credentials.security_token.as_deref(), Some("envtoken"));
        let err = OssSettings::from_conf(&root("bkt"), &conf(&c), &no_env).unwrap_err();
        assert!(matches!(err, FsError::Auth { .. }), "{err}");
        assert!(err.to_string().contains(ENV_ACCESS_KEY_ID), "{err}");
    }

    #[test]
    fn errors_name_the_key() {
        let err = OssSettings::from_conf(&root("bkt"), &conf(&BASE[1..]), &no_env).unwrap_err();
        assert!(err.to_string().contains(ENDPOINT), "{err}");
        let err = OssSettings::from_conf(&root("bkt"), &conf(&BASE[..2]), &no_env).unwrap_err();
        assert!(err.to_string().contains(ACCESS_KEY_SECRET), "{err}");
        let mut c = BASE.to_vec();
        c.push((CREDENTIALS_PROVIDER, "com.example.Nope"));
        let err = OssSettings::from_conf(&root("bkt"), &conf(&c), &no_env).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("com.example.Nope")
                && msg.contains(STATIC_PROVIDERS[0])
                && msg.contains(ENV_PROVIDERS[0]),
            "{msg}"
        );
        let mut c = vec![
            (ENDPOINT, "http://127.0.0.1:1"),
            (ACCESS_KEY_ID, "a"),
            (ACCESS_KEY_SECRET, "b"),
            (SIGNATURE_VERSION, "V4"),
        ];
        let err = OssSettings::from_conf(&root("bkt"), &conf(&c), &no_env).unwrap_err();
        assert!(err.to_string().contains(REGION), "{err}");
        c.push((REGION, "cn-hangzhou"));
        assert!(OssSettings::from_conf(&root("bkt"), &conf(&c), &no_env).is_ok());
        c.push((SIGNATURE_VERSION_ALT, "V9"));
        c.retain(|(k, _)| *k != SIGNATURE_VERSION);
        assert!(
            OssSettings::from_conf(&root("bkt"), &conf(&c), &no_env)
                .unwrap_err()
                .to_string()
                .contains("V9")
        );
        let err = OssSettings::from_conf(&Path::parse("oss:///x").unwrap(), &conf(BASE), &no_env)
            .unwrap_err();
        assert!(err.to_string().contains("oss.bucket"), "{err}");
        assert!(OssSettings::from_conf(&root("Bad_Bucket"), &conf(BASE), &no_env).is_err());
        let mut c = BASE.to_vec();
        c.push((MULTIPART_SIZE, "10k"));
        assert!(
            OssSettings::from_conf(&root("bkt"), &conf(&c), &no_env)
                .unwrap_err()
                .to_string()
                .contains(MULTIPART_SIZE)
        );
    }
}
