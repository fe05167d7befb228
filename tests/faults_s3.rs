//! Faults on the wire between ckpt and real S3 servers (LocalStack, MinIO): the shared suite of
//! `tests/common/wire_suite.rs`.

#![cfg(feature = "s3")]

mod common;

use std::net::SocketAddr;

use common::fault_proxy::FaultProxy;
use common::s3_env::{self, BUCKET};
use common::wire_suite::{WireTarget, set_retry_budget};

async fn targets() -> Vec<WireTarget> {
    let mut targets = Vec::new();
    for server in [s3_env::localstack(), s3_env::minio()]
        .into_iter()
        .flatten()
    {
        let upstream: SocketAddr = server
            .endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("test servers listen on 127.0.0.1:port");
        let proxy = FaultProxy::start(upstream).await;
        let mut conf = server.conf();
        conf.set("fs.s3a.endpoint", proxy.endpoint());
        set_retry_budget(&mut conf);
        targets.push(WireTarget {
            name: server.name.to_string(),
            root: format!("s3a://{BUCKET}"),
            fs: server.fs_with(&conf).await,
            direct: server.fs_with(&server.conf()).await,
            proxy,
            guard: None,
        });
    }
    targets
}

wire_suite!(targets().await);
