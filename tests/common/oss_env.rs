//! The project's OSS test server (`testenv/oss/oss_server.py`, verifies V1/V4/STS signatures):
//! one process per fixture on an ephemeral port with a temporary data directory, stopped on Drop.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use ckpt::conf::Configuration;
use ckpt::fs::oss::sign::{self, SignableRequest, SignatureVersion, SigningCredentials};

/// Static key pair the server accepts.
pub const AK: &str = "ckpt-test-ak";
/// Its secret.
pub const SK: &str = "ckpt-test-secret-0123456789";
/// STS temporary key pair and token.
pub const STS_AK: &str = "STS.ckpt-test-ak";
/// Its secret.
pub const STS_SK: &str = "ckpt-sts-secret-9876543210";
/// Its token.
pub const STS_TOKEN: &str = "ckpt-sts-token-abcdef";
/// Region the server checks V4 scopes against.
pub const REGION: &str = "cn-hangzhou";
/// The bucket fixtures use.
pub const BUCKET: &str = "ckpt-oss-test";

/// Which credentials and signature a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Static keys, V1 signature.
    V1,
    /// Static keys, V4 signature.
    V4,
    /// STS keys and security token, V1 signature.
    StsV1,
    /// STS keys and security token, V4 signature.
    StsV4,
}

/// The credentials a server accepts: static pair, then STS pair and token.
#[derive(Debug, Clone)]
pub struct ServerKeys {
    /// Static access key id.
    pub ak: String,
    /// Its secret.
    pub sk: String,
    /// STS access key id.
    pub sts_ak: String,
    /// Its secret.
    pub sts_sk: String,
    /// STS security token.
    pub sts_token: String,
}

impl Default for ServerKeys {
    fn default() -> Self {
        ServerKeys {
            ak: AK.into(),
            sk: SK.into(),
            sts_ak: STS_AK.into(),
            sts_sk: STS_SK.into(),
            sts_token: STS_TOKEN.into(),
        }
    }
}

/// A running oss_server.py.
pub struct OssServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The credentials it accepts.
    pub keys: ServerKeys,
    _dir: tempfile::TempDir,
}

impl OssServer {
    /// Starts a server with the default keys, or reports it missing (see `common::missing`).
    pub fn start() -> Option<OssServer> {
        Self::start_with(ServerKeys::default())
    }

    /// Starts a server accepting `keys`, or reports it missing (see `common::missing`).
    pub fn start_with(keys: ServerKeys) -> Option<OssServer> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testenv/oss/oss_server.py");
        if !script.exists() {
            return super::missing(&format!("OSS test server {} is missing", script.display()));
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let port_file = dir.path().join("port");
        let child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--port-file"])
            .arg(&port_file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--access-key-id", &keys.ak, "--access-key-secret", &keys.sk])
            .args([
                "--sts-access-key-id",
                &keys.sts_ak,
                "--sts-access-key-secret",
                &keys.sts_sk,
            ])
            .args(["--sts-token", &keys.sts_token, "--region", REGION])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                return super::missing(&format!("cannot run python3 for the OSS test server: {e}"));
            }
        };
        let mut server = OssServer {
            child,
            port: 0,
            keys,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                server.port = port;
                return Some(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("oss_server.py exited with {status} before it was ready");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("oss_server.py did not write its port within 20 s");
    }

    /// `http://127.0.0.1:port`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket with a V4-signed `PUT /bucket`.
    pub fn create_bucket(&self, bucket: &str) {
        let creds = SigningCredentials {
            access_key_id: self.keys.ak.clone(),
            access_key_secret: self.keys.sk.clone(),
            security_token: None,
        };
        let mut headers = Vec::new();
        sign::sign(
            SignatureVersion::V4,
            &creds,
            REGION,
            SystemTime::now(),
            &SignableRequest {
                method: "PUT",
                bucket: Some(bucket),
                key: "",
                query: &[],
            },
            &mut headers,
        );
        let mut req = format!(
            "PUT /{bucket}/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n",
            self.port
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to oss_server");
        stream.write_all(req.as_bytes()).expect("send PUT bucket");
        let mut resp = String::new();
        stream
            .read_to_string(&mut resp)
            .expect("read PUT bucket response");
        assert!(
            resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200"),
            "PUT bucket: {resp}"
        );
    }

    /// Hadoop configuration for a client of this server.
    pub fn conf(&self, auth: Auth) -> Configuration {
        let k = &self.keys;
        let (ak, sk, token) = match auth {
            Auth::V1 | Auth::V4 => (k.ak.as_str(), k.sk.as_str(), None),
            Auth::StsV1 | Auth::StsV4 => (
                k.sts_ak.as_str(),
                k.sts_sk.as_str(),
                Some(k.sts_token.as_str()),
            ),
        };
        let version = match auth {
            Auth::V1 | Auth::StsV1 => "V1",
            Auth::V4 | Auth::StsV4 => "V4",
        };
        let mut conf = Configuration::new();
        conf.set("fs.oss.endpoint", self.endpoint());
        conf.set("fs.oss.accessKeyId", ak);
        conf.set("fs.oss.accessKeySecret", sk);
        if let Some(t) = token {
            conf.set("fs.oss.securityToken", t);
        }
        conf.set("fs.oss.signatureversion", version);
        conf.set("fs.oss.region", REGION);
        conf.set("fs.oss.attempts.maximum", "3");
        conf
    }
}

impl Drop for OssServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
