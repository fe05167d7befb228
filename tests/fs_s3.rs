//! The FileSystem conformance suite and the checkpoint suite, unchanged, on real S3 servers:
//! LocalStack, s3s-fs (SigV4 enforced) and MinIO (started by `testenv/s3/up.sh`).

#![cfg(feature = "s3")]

mod common;

use common::checkpoint_suite::CheckpointFixture;
use common::conformance::unique;
use common::s3_env::{self, BUCKET, S3Server};

async fn fixture(server: Option<S3Server>) -> Option<common::conformance::FsFixture> {
    Some(server?.fixture().await)
}

async fn checkpoint_fixture(server: Option<S3Server>) -> Option<CheckpointFixture> {
    let server = server?;
    let fs = server.fs_with(&server.conf()).await;
    let namespace = ckpt::fs::Path::parse(&format!(
        "s3a://{BUCKET}/{}/seatunnel/checkpoint",
        unique(server.name)
    ))
    .unwrap();
    Some(CheckpointFixture {
        fs,
        namespace,
        guard: None,
    })
}

mod localstack {
    use super::*;
    fs_conformance_suite!(fixture(s3_env::localstack()).await);
    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture(s3_env::localstack()).await);
    }
}

mod s3s {
    use super::*;
    fs_conformance_suite!(fixture(s3_env::s3s()).await);
    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture(s3_env::s3s()).await);
    }
}

mod minio {
    use super::*;
    fs_conformance_suite!(fixture(s3_env::minio()).await);
    mod checkpoint {
        use super::*;
        checkpoint_suite!(checkpoint_fixture(s3_env::minio()).await);
    }
}
