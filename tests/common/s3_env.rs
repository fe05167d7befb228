//! S3 test servers (started by `testenv/s3/up.sh`) and the test IMDS server.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FileSystemRegistry, Path};

use super::conformance::{FsFixture, unique};

/// The bucket every S3 test uses (created on demand).
pub const BUCKET: &str = "ckpt-test";

/// What to do when the servers are missing.
pub const HOW: &str = "run `eval \"$(testenv/s3/up.sh)\"` first (see testenv/s3/README.md)";

/// One running S3 server.
#[derive(Debug, Clone)]
pub struct S3Server {
    /// Short name for messages.
    pub name: &'static str,
    /// `http://127.0.0.1:port`.
    pub endpoint: String,
    /// A valid access key.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// Whether the server checks signatures.
    pub verifies_sigv4: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// LocalStack (any key works), from `CKPT_TEST_LOCALSTACK_ENDPOINT`.
pub fn localstack() -> Option<S3Server> {
    let Some(endpoint) = env("CKPT_TEST_LOCALSTACK_ENDPOINT") else {
        return super::missing(&format!(
            "LocalStack: CKPT_TEST_LOCALSTACK_ENDPOINT is unset; {HOW}"
        ));
    };
    Some(S3Server {
        name: "localstack",
        endpoint,
        access_key: "test".into(),
        secret_key: "test".into(),
        verifies_sigv4: false,
    })
}

/// s3s-fs (SigV4 enforced), from `CKPT_TEST_S3S_*`.
pub fn s3s() -> Option<S3Server> {
    match (
        env("CKPT_TEST_S3S_ENDPOINT"),
        env("CKPT_TEST_S3S_ACCESS_KEY"),
        env("CKPT_TEST_S3S_SECRET_KEY"),
    ) {
        (Some(endpoint), Some(access_key), Some(secret_key)) => Some(S3Server {
            name: "s3s-fs",
            endpoint,
            access_key,
            secret_key,
            verifies_sigv4: true,
        }),
        _ => super::missing(&format!(
            "s3s-fs: CKPT_TEST_S3S_ENDPOINT/_ACCESS_KEY/_SECRET_KEY unset; {HOW}"
        )),
    }
}

/// MinIO, from `CKPT_TEST_MINIO_*` (up.sh sets them only when MinIO built and runs).
pub fn minio() -> Option<S3Server> {
    match (
        env("CKPT_TEST_MINIO_ENDPOINT"),
        env("CKPT_TEST_MINIO_ACCESS_KEY"),
        env("CKPT_TEST_MINIO_SECRET_KEY"),
    ) {
        (Some(endpoint), Some(access_key), Some(secret_key)) => Some(S3Server {
            name: "minio",
            endpoint,
            access_key,
            secret_key,
            verifies_sigv4: true,
        }),
        _ => super::missing(&format!(
            "MinIO: CKPT_TEST_MINIO_ENDPOINT/_ACCESS_KEY/_SECRET_KEY unset (up.sh prints them only when MinIO runs; CKPT_TESTENV_MINIO=0 disables it); {HOW}"
        )),
    }
}

impl S3Server {
    /// Hadoop configuration with static keys through SimpleAWSCredentialsProvider.
    pub fn conf(&self) -> Configuration {
        let mut conf = self.base_conf();
        conf.set("fs.s3a.access.key", self.access_key.as_str());
        conf.set("fs.s3a.secret.key", self.secret_key.as_str());
        conf.set(
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        );
        conf
    }

    /// Endpoint settings only (no credentials). s3s-fs stores keys as files and prefixes as
    /// directories; its HEAD of a key that is a directory fails with 500, so files are probed
    /// with a one-key LIST there (`fs.s3a.ckpt.file.probe = list`).
    pub fn base_conf(&self) -> Configuration {
        let mut conf = Configuration::from_pairs([
            ("fs.s3a.endpoint", self.endpoint.as_str()),
            ("fs.s3a.path.style.access", "true"),
        ]);
        if self.name == "s3s-fs" {
            conf.set("fs.s3a.ckpt.file.probe", "list");
            // s3s-fs 0.14 honours `If-None-Match: *` by checking for the file and then writing
            // it, without a lock: two concurrent creates can both win (seen in CI). ckpt must
            // not claim atomic create-if-absent there, so s3s-fs runs ckpt's check-then-put
            // path; LocalStack and MinIO run the conditional one.
            conf.set("fs.s3a.create.conditional.enabled", "false");
        }
        conf
    }

    /// A raw SDK client (for test set-up and inspection).
    pub fn sdk(&self) -> aws_sdk_s3::Client {
        let creds = aws_sdk_s3::config::Credentials::new(
            &self.access_key,
            &self.secret_key,
            None,
            None,
            "test",
        );
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(creds)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// Creates `bucket` unless it exists.
    pub async fn ensure_bucket(&self, bucket: &str) {
        let client = self.sdk();
        if client.head_bucket().bucket(bucket).send().await.is_ok() {
            return;
        }
        if let Err(e) = client.create_bucket().bucket(bucket).send().await {
            let text = format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
            assert!(
                text.contains("BucketAlreadyOwnedByYou") || text.contains("BucketAlreadyExists"),
                "creating bucket {bucket} on {}: {text}",
                self.name
            );
        }
    }

    /// The file system for `s3a://BUCKET/` with `conf`.
    pub async fn fs_with(&self, conf: &Configuration) -> Arc<dyn FileSystem> {
        self.ensure_bucket(BUCKET).await;
        let root = Path::parse(&format!("s3a://{BUCKET}/")).unwrap();
        FileSystemRegistry::with_builtins()
            .get(&root, conf)
            .await
            .expect("S3 file system")
    }

    /// A conformance fixture on a fresh prefix.
    pub async fn fixture(&self) -> FsFixture {
        self.fixture_with(&self.conf()).await
    }

    /// A conformance fixture with a given configuration.
    pub async fn fixture_with(&self, conf: &Configuration) -> FsFixture {
        let fs = self.fs_with(conf).await;
        let base = Path::parse(&format!("s3a://{BUCKET}/{}", unique(self.name))).unwrap();
        FsFixture {
            fs,
            base,
            large_listing: 1100,
            guard: None,
        }
    }
}

/// The test IMDSv2 server (`testenv/s3/imds.py`), stopped on drop.
pub struct Imds {
    child: Child,
    /// `http://127.0.0.1:port`.
    pub endpoint: String,
}

impl Imds {
    /// Starts imds.py handing out `access_key`/`secret_key` expiring after `expires_in` s.
    pub fn start(access_key: &str, secret_key: &str, expires_in: u32) -> Option<Imds> {
        let Some(script) = env("CKPT_TEST_IMDS_SCRIPT") else {
            return super::missing(&format!("test IMDS: CKPT_TEST_IMDS_SCRIPT is unset; {HOW}"));
        };
        let mut child = Command::new("python3")
            .arg(&script)
            .args([
                "--port",
                "0",
                "--access-key",
                access_key,
                "--secret-key",
                secret_key,
            ])
            .args(["--expires-in", &expires_in.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start imds.py");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("imds.py output");
        let port = line
            .trim()
            .strip_prefix("IMDS READY ")
            .unwrap_or_else(|| panic!("unexpected imds.py output {line:?}"))
            .to_string();
        Some(Imds {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// `/_test/stats`: how many credentials were issued.
    pub fn issued(&self) -> u64 {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to imds");
        write!(
            stream,
            "GET /_test/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(body).expect("stats JSON");
        v["issued"].as_u64().expect("issued")
    }
}

impl Drop for Imds {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
