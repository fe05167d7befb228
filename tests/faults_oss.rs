//! Faults on the wire between ckpt and the OSS test server (`testenv/oss/oss_server.py`, which
//! verifies signatures): the shared suite of `tests/common/wire_suite.rs`.

#![cfg(feature = "oss")]

mod common;

use std::sync::Arc;

use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FileSystemRegistry, Path};

use common::fault_proxy::FaultProxy;
use common::oss_env::{Auth, BUCKET, OssServer};
use common::wire_suite::{WireTarget, set_retry_budget};

async fn fs_with(conf: &Configuration) -> Arc<dyn FileSystem> {
    FileSystemRegistry::with_builtins()
        .get(&Path::parse(&format!("oss://{BUCKET}/")).unwrap(), conf)
        .await
        .expect("OSS file system")
}

async fn targets() -> Vec<WireTarget> {
    let Some(server) = OssServer::start() else {
        return Vec::new();
    };
    server.create_bucket(BUCKET);
    let proxy = FaultProxy::start(([127, 0, 0, 1], server.port).into()).await;
    let mut conf = server.conf(Auth::V4);
    conf.set("fs.oss.endpoint", proxy.endpoint());
    conf.set("fs.oss.attempts.maximum", "50");
    set_retry_budget(&mut conf);
    vec![WireTarget {
        name: "oss".to_string(),
        root: format!("oss://{BUCKET}"),
        fs: fs_with(&conf).await,
        direct: fs_with(&server.conf(Auth::V4)).await,
        proxy,
        guard: Some(Box::new(server)),
    }]
}

wire_suite!(targets().await);
