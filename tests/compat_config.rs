//! `ckpt config check` says, key by key, what SeaTunnel's own hdfs checkpoint storage plugin
//! makes of a plugin-config (issue 9 item 5). That model (`ckpt::conf::seatunnel_reading`) is
//! checked here against the real plugin, checkpoint-storage-hdfs 2.3.8, driven by compat-peer's
//! `ConfDump`: for every YAML sample of the seed page and for the corner cases the model
//! claims (prefix replaced everywhere, `disable.cache`, s3n for a bucket without `s3a://`,
//! the plugin's own refusals), the Hadoop keys it sets are the ones the real plugin sets.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use ckpt::conf::seatunnel_reading;
use ckpt::config;

/// What the real plugin built: the keys it set, or the message of its exception.
fn real_plugin(
    cp: &str,
    config: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("plugin-config.properties");
    std::fs::write(
        &props,
        common::compat_peer::properties(config.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )
    .unwrap();
    let out = Command::new("java")
        .args(["-cp", cp, "ckpt.compat.ConfDump"])
        .arg(&props)
        .output()
        .expect("java runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(stdout
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(stdout
        .lines()
        .filter_map(|l| l.strip_prefix("set "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn assert_model_matches(cp: &str, what: &str, config: &BTreeMap<String, String>) {
    let model = seatunnel_reading(config);
    match (real_plugin(cp, config), &model.error) {
        (Ok(real), None) => assert_eq!(model.hadoop, real, "{what}: Hadoop keys"),
        (Err(real), Some(expected)) => assert!(
            real.ends_with(expected.as_str()),
            "{what}: the plugin refused with {real:?}, the model says {expected:?}"
        ),
        (real, _) => panic!("{what}: the plugin gave {real:?}, the model {model:?}"),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_seed_sample_is_read_as_seatunnels_plugin_reads_it() {
    let Some(cp) = common::compat_peer::classpath() else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let mut samples: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    samples.sort();
    assert!(samples.len() >= 7, "seed samples: {samples:?}");
    for sample in samples {
        let loaded = config::load_file(&sample).unwrap();
        let plugin = &loaded.checkpoint.storage.plugin_config;
        assert_model_matches(&cp, &sample.display().to_string(), plugin);
    }
}

#[test]
fn the_models_corner_cases_are_the_plugins() {
    let Some(cp) = common::compat_peer::classpath() else {
        return;
    };
    let cases = [
        (
            "prefix removed everywhere, disable.cache false, hdfs upper-case",
            map(&[
                ("storage.type", "HDFS"),
                ("fs.defaultFS", "hdfs://ns"),
                ("seatunnel.hadoop.a.seatunnel.hadoop.b", "x"),
                ("seatunnel.hadoop.dfs.replication", "2"),
                ("dfs.blocksize", "1m"),
                ("kerberosPrincipal", "p@R"),
                ("kerberosKeytab", "/k"),
                ("disable.cache", "false"),
                ("ckpt.checksum", "true"),
            ]),
        ),
        (
            "s3a bucket passes fs.s3a keys",
            map(&[
                ("storage.type", "s3"),
                ("s3.bucket", "s3a://bucket1"),
                ("fs.s3a.endpoint", "http://127.0.0.1:9000"),
                ("fs.s3a.path.style.access", "true"),
                ("seatunnel.hadoop.fs.s3a.x", "y"),
                ("disable.cache", "FALSE"),
            ]),
        ),
        (
            "s3 bucket without a scheme uses s3n",
            map(&[
                ("storage.type", "s3"),
                ("s3.bucket", "bucket1"),
                ("fs.s3n.awsAccessKeyId", "id"),
                ("fs.s3a.endpoint", "e"),
            ]),
        ),
        (
            "oss",
            map(&[
                ("storage.type", "oss"),
                ("oss.bucket", "oss://bucket1"),
                ("fs.oss.endpoint", "e"),
                ("fs.defaultFS", "hdfs://ignored"),
            ]),
        ),
        (
            "local with its own fs.defaultFS and namespace",
            map(&[
                ("storage.type", "local"),
                ("fs.defaultFS", "file:///tmp"),
                ("namespace", "/x/"),
                ("fs.file.x", "y"),
            ]),
        ),
        (
            "hdfs without fs.defaultFS",
            map(&[("storage.type", "hdfs")]),
        ),
        ("s3 without a bucket", map(&[("storage.type", "s3")])),
        ("an unknown storage type", map(&[("storage.type", "cos")])),
    ];
    for (what, config) in &cases {
        assert_model_matches(&cp, what, config);
    }
}
