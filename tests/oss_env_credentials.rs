//! OSS credentials from the environment (`EnvironmentVariableCredentialsProvider`, reading
//! `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET`, `OSS_SESSION_TOKEN`) against the project's
//! signature-verifying OSS server. One test in its own binary: it sets process environment
//! variables before any other thread runs.

#![cfg(feature = "oss")]

mod common;

use bytes::Bytes;
use ckpt::fs::{FileSystemRegistry, FsError, Path};
use common::oss_env::{Auth, BUCKET, OssServer, STS_AK, STS_SK, STS_TOKEN};

const PROVIDER: &str = "com.aliyun.oss.common.auth.EnvironmentVariableCredentialsProvider";

#[test]
fn environment_variable_provider_signs_with_the_environment_keys() {
    let Some(server) = OssServer::start() else {
        return;
    };
    server.create_bucket(BUCKET);
    // SAFETY: this binary has a single test and no other thread of ours is running yet.
    unsafe {
        std::env::set_var("OSS_ACCESS_KEY_ID", STS_AK);
        std::env::set_var("OSS_ACCESS_KEY_SECRET", STS_SK);
        std::env::set_var("OSS_SESSION_TOKEN", STS_TOKEN);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let root = Path::parse(&format!("oss://{BUCKET}")).unwrap();
        // The configured static keys are wrong on purpose: the environment provider must not
        // use them.
        let mut conf = server.conf(Auth::V4);
        conf.set("fs.oss.accessKeyId", "not-this-one");
        conf.set("fs.oss.accessKeySecret", "not-this-secret");
        conf.remove("fs.oss.securityToken");
        conf.set("fs.oss.credentials.provider", PROVIDER);
        let fs = FileSystemRegistry::with_builtins()
            .get(&root, &conf)
            .await
            .expect("OSS file system");
        let p = root.join("env-credentials/file").unwrap();
        fs.write(&p, Bytes::from_static(b"from the environment"), true)
            .await
            .expect("write signed with the environment's STS keys");
        assert_eq!(
            fs.read(&p).await.unwrap(),
            Bytes::from_static(b"from the environment")
        );

        // Without the session token the server refuses the STS key: a clear error naming the
        // provider, never the key id or a secret.
        // SAFETY: as above; the runtime's threads do not read the environment.
        unsafe { std::env::remove_var("OSS_SESSION_TOKEN") };
        let fs = FileSystemRegistry::with_builtins()
            .get(&root, &conf)
            .await
            .expect("OSS file system");
        let err = fs.read(&p).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(matches!(err, FsError::Auth { .. }), "{text}");
        assert!(
            text.contains("EnvironmentVariableCredentialsProvider") && !text.contains(STS_AK),
            "{text}"
        );
        assert!(
            !text.contains(STS_SK) && !text.contains(STS_TOKEN),
            "{text}"
        );
    });
}
