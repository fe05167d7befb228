//! Check functions of the fuzz targets (`fuzz/`), shared with the corpus replay test
//! (`tests/fuzz_replay.rs`) so that stable `cargo test` runs every kept input through exactly
//! what the fuzzer ran. Not a stable API.
//!
//! Each function takes arbitrary bytes and panics only on a bug: a parser that panics, or a
//! result that breaks an invariant (asserted here). Parse errors are expected and ignored.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::checkpoint::{codec, layout};
use crate::conf::{Configuration, PluginConfig, StorageType, parse_site_xml};
use crate::fs::Path;

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and corpus directory) and
/// its check function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("checkpoint_decode", checkpoint_decode),
    ("file_name", file_name),
    ("seatunnel_yaml", seatunnel_yaml),
    ("site_xml", site_xml),
    ("plugin_config", plugin_config),
    ("oss_xml", oss_xml),
];

/// Checkpoint decoding: never panics; what decodes re-encodes (both ways) to bytes that decode
/// to the same state, and the states come from the input (no length beyond it).
pub fn checkpoint_decode(data: &[u8]) {
    let input = Bytes::copy_from_slice(data);
    let Ok((state, integrity)) = codec::decode(&input) else {
        return;
    };
    assert!(
        state.states.len() <= data.len(),
        "states longer than the input"
    );
    for checksum in [false, true] {
        let encoded = codec::encode(&state, checksum).expect("a decoded state re-encodes");
        let parts = codec::encode_parts(&state, checksum).expect("a decoded state re-encodes");
        let joined: Vec<u8> = parts
            .chunks()
            .iter()
            .flat_map(|b| b.iter().copied())
            .collect();
        assert_eq!(joined, encoded.as_ref(), "encode_parts differs from encode");
        let (again, again_integrity) = codec::decode(&encoded).expect("re-encoded bytes decode");
        assert_eq!(again, state);
        assert_eq!(again_integrity == codec::Integrity::Verified, checksum);
    }
    if integrity == codec::Integrity::Verified {
        // A verified file ends with the checksum of everything before it.
        let body = data.len() - 5;
        assert_eq!(
            data[body + 1..],
            crc32c::crc32c(&data[..body]).to_le_bytes()
        );
    }
}

/// File-name and id parsing: never panics; a parsed name prints back to a name that parses to
/// the same value; a valid job id stays a direct child of the namespace.
pub fn file_name(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let committed = layout::CheckpointFileName::parse(text);
    let temp = layout::CheckpointFileName::parse_temp(text);
    assert!(
        committed.is_none() || temp.is_none(),
        "both committed and temp"
    );
    if let Some(n) = committed {
        assert_eq!(layout::CheckpointFileName::parse(&n.file_name()), Some(n));
        assert_eq!(layout::CheckpointFileName::parse_temp(&n.file_name()), None);
    }
    if let Some(n) = temp {
        assert_eq!(
            layout::CheckpointFileName::parse_temp(&n.temp_name()),
            Some(n)
        );
    }
    if let Ok(p) = layout::parse_pipeline_id(text) {
        assert!(layout::validate_pipeline_id(p).is_ok());
    }
    if let Ok(c) = layout::parse_checkpoint_id(text) {
        assert!(layout::validate_checkpoint_id(c).is_ok());
    }
    let namespace = Path::parse("hdfs://ns/seatunnel/checkpoint").expect("a valid path");
    if layout::validate_job_id(text).is_ok() {
        let dir = namespace
            .join(text)
            .expect("a valid job id is a path segment");
        assert_eq!(dir.parent().as_ref(), Some(&namespace));
    }
    // Any relative text either stays inside the namespace or is refused.
    if let Ok(joined) = namespace.join(text) {
        assert!(
            joined.starts_with(&namespace),
            "{joined} escaped {namespace}"
        );
    }
    // Path::parse trims surrounding whitespace (configuration values), so only text without it
    // prints back to itself.
    if let Ok(path) = Path::parse(text) {
        let shown = path.to_string();
        if shown.trim() == shown {
            assert_eq!(Path::parse(&shown).ok().as_ref(), Some(&path), "{shown}");
        }
    }
}

/// `seatunnel.yaml` loading: never panics; a loaded plugin-config goes through the mapping.
pub fn seatunnel_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = crate::config::parse(text, "fuzz.yaml") else {
        return;
    };
    let _ = format!("{:?}", loaded.checkpoint);
    let _ = serde_json::to_string(&loaded.checkpoint);
    map_plugin_config(
        &loaded.checkpoint.storage.plugin_config,
        &Configuration::new(),
    );
}

/// Hadoop site XML loading: never panics; redaction and printing of the result work.
pub fn site_xml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(conf) = parse_site_xml(text, "fuzz-site.xml") {
        let _ = conf.redacted();
        let _ = format!("{conf:?} {conf}");
    }
}

/// The plugin-config mapping and the backend settings it leads to. Input: `key=value` lines
/// of plugin-config, then optionally a `---` line and `key=value` lines of site configuration.
pub fn plugin_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut plugin = BTreeMap::new();
    let mut site = Configuration::new();
    let mut in_site = false;
    for line in text.lines() {
        if line == "---" {
            in_site = true;
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if in_site {
            site.set(key, value);
        } else {
            plugin.insert(key.to_string(), value.to_string());
        }
    }
    map_plugin_config(&plugin, &site);
}

/// Maps plugin-config, then the file system settings of the storage type it names.
fn map_plugin_config(plugin: &BTreeMap<String, String>, site: &Configuration) {
    let Ok(mapped) = PluginConfig::from_map(plugin, site) else {
        return;
    };
    let ns = mapped.namespace_display();
    assert!(ns.ends_with('/'), "{ns}");
    assert!(mapped.namespace.starts_with(&mapped.default_fs.root()));
    let _ = format!("{mapped:?}");
    let root = mapped.default_fs.root();
    match mapped.storage_type {
        StorageType::Local => {}
        StorageType::Hdfs => match root.scheme() {
            #[cfg(feature = "hdfs")]
            Some("hdfs") => {
                if let Ok(target) = crate::fs::hdfs::config::resolve_target(&root, &mapped.hadoop) {
                    let _ = crate::fs::hdfs::config::client_options(&mapped.hadoop, &target);
                }
            }
            Some("viewfs") => {
                use crate::fs::viewfs::mount::MountTable;
                let cluster = MountTable::cluster_of(&root, &mapped.hadoop);
                if let Ok(table) = MountTable::from_conf(&cluster, &mapped.hadoop) {
                    let _ = table.resolve(mapped.namespace.path());
                }
            }
            _ => {}
        },
        #[cfg(feature = "s3")]
        StorageType::S3 => {
            let bucket = root.authority().unwrap_or_default();
            let _ = crate::fs::s3::config::settings_from_conf(&mapped.hadoop, bucket);
        }
        #[cfg(feature = "oss")]
        StorageType::Oss => {
            let _ =
                crate::fs::oss::config::OssSettings::from_conf(&root, &mapped.hadoop, &|_| None);
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// OSS XML responses (listings, errors, multipart upload ids) and the dates in them. ckpt
/// parses no S3 XML itself: the AWS SDK does.
pub fn oss_xml(data: &[u8]) {
    #[cfg(feature = "oss")]
    crate::fs::oss::fuzz_responses(data);
    #[cfg(not(feature = "oss"))]
    let _ = data;
}
