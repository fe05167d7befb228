//! Byte compatibility with the Java engine, checked against Apache SeaTunnel's own serializer
//! (`checkpoint-storage-api` + `serializer-protobuf` from Maven Central, run by hdfs-testenv's peer).

mod common;

use std::path::{Path as StdPath, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use bytes::Bytes;
use ckpt::checkpoint::codec::{self, Integrity};
use ckpt::checkpoint::layout::CheckpointFileName;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::fs::Path;
use ckpt::fs::local::LocalFileSystem;
use sha2::{Digest, Sha256};

/// The Java class path of hdfs-testenv (built once per test binary).
fn java_classpath() -> Option<String> {
    static CP: OnceLock<Result<String, String>> = OnceLock::new();
    let built = CP.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(root.join("hdfs-testenv/build.sh"))
            .output()
            .map_err(|e| format!("cannot run hdfs-testenv/build.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "hdfs-testenv/build.sh failed (needs Java 17 + Maven): {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    match built {
        Ok(cp) => Some(cp.clone()),
        Err(why) => common::missing(why),
    }
}

fn peer(cp: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("java")
        .args(["-cp", cp, "ckpt.testenv.Peer"])
        .args(args)
        .output()
        .expect("java runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sample_states() -> Vec<(String, i32, i64, Vec<u8>)> {
    vec![
        ("1234567890".into(), 1, 7, b"hello".to_vec()),
        ("733912283451392001".into(), 0, 0, Vec::new()),
        (
            "42".into(),
            3,
            i64::MAX,
            (0..70_000u32).map(|i| (i * 7) as u8).collect(),
        ),
        ("9".into(), 2_147_483_647, 1 << 40, vec![0xFF; 129]),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn java_decode(cp: &str, file: &StdPath) -> serde_json::Value {
    let (ok, stdout, stderr) = peer(cp, &["decode", &file.display().to_string()]);
    assert!(ok, "Java could not decode {}: {stderr}", file.display());
    serde_json::from_str(stdout.trim()).expect("peer prints JSON")
}

#[test]
fn java_encoding_equals_ours_byte_for_byte() {
    let Some(cp) = java_classpath() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (job, p, c, states) in sample_states() {
        let states_file = dir.path().join("states.bin");
        let out_file = dir.path().join("java.ser");
        std::fs::write(&states_file, &states).unwrap();
        let (ok, _, stderr) = peer(
            &cp,
            &[
                "encode",
                &job,
                &p.to_string(),
                &c.to_string(),
                &states_file.display().to_string(),
                &out_file.display().to_string(),
            ],
        );
        assert!(ok, "Java encode failed: {stderr}");
        let java = std::fs::read(&out_file).unwrap();
        let state = PipelineState {
            job_id: job.clone(),
            pipeline_id: p,
            checkpoint_id: c,
            states: Bytes::from(states.clone()),
        };
        assert_eq!(
            codec::encode(&state, false).unwrap().as_ref(),
            java.as_slice(),
            "job {job}"
        );
        // The zero-copy pieces the store path writes are the same bytes.
        let parts = codec::encode_parts(&state, false).unwrap();
        let joined: Vec<u8> = parts
            .chunks()
            .iter()
            .flat_map(|b| b.iter().copied())
            .collect();
        assert_eq!(joined, java, "encode_parts, job {job}");
        let (decoded, integrity) = codec::decode(&Bytes::from(java)).unwrap();
        assert_eq!((decoded, integrity), (state, Integrity::Absent));
    }
}

#[test]
fn java_reads_our_files_with_and_without_checksum() {
    let Some(cp) = java_classpath() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (job, p, c, states) in sample_states() {
        let state = PipelineState {
            job_id: job.clone(),
            pipeline_id: p,
            checkpoint_id: c,
            states: Bytes::from(states.clone()),
        };
        for checksum in [true, false] {
            let file = dir.path().join(format!("ours-{checksum}.ser"));
            std::fs::write(&file, codec::encode(&state, checksum).unwrap()).unwrap();
            let v = java_decode(&cp, &file);
            assert_eq!(v["jobId"], job.as_str());
            assert_eq!(v["pipelineId"], p);
            assert_eq!(v["checkpointId"], c);
            assert_eq!(v["statesLen"], states.len());
            assert_eq!(v["statesSha256"], hex(&Sha256::digest(&states)));
        }
    }
}

#[tokio::test]
async fn a_namespace_written_by_java_restores_in_ckpt_and_back() {
    let Some(cp) = java_classpath() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ns = Path::parse(&format!(
        "file://{}/seatunnel/checkpoint",
        dir.path().display()
    ))
    .unwrap();
    // Java's layout and bytes, as the hdfs plugin writes them on a local file system.
    let job_dir = dir.path().join("seatunnel/checkpoint/555");
    std::fs::create_dir_all(&job_dir).unwrap();
    let states_file = dir.path().join("s.bin");
    for (millis, checkpoint) in [(1_700_000_000_000u64, 1), (1_700_000_001_000, 2)] {
        std::fs::write(&states_file, format!("java state {checkpoint}")).unwrap();
        let name = CheckpointFileName {
            millis,
            random: 17,
            pipeline_id: 1,
            checkpoint_id: checkpoint,
        };
        let (ok, _, stderr) = peer(
            &cp,
            &[
                "encode",
                "555",
                "1",
                &checkpoint.to_string(),
                &states_file.display().to_string(),
                &job_dir.join(name.file_name()).display().to_string(),
            ],
        );
        assert!(ok, "{stderr}");
    }
    let storage = FileStorage::new(
        std::sync::Arc::new(LocalFileSystem),
        ns,
        FileStorageOptions {
            max_retained: Some(5),
            ..FileStorageOptions::default()
        },
    );
    let restored = storage.restore_latest("555", 1).await.unwrap();
    assert_eq!(
        restored.state.unwrap().states,
        Bytes::from_static(b"java state 2")
    );
    assert_eq!(restored.integrity, Some(Integrity::Absent));

    // ckpt stores the next one; Java decodes it from the same directory.
    let stored = storage
        .store_checkpoint(&PipelineState {
            job_id: "555".into(),
            pipeline_id: 1,
            checkpoint_id: 3,
            states: Bytes::from_static(b"ckpt state 3"),
        })
        .await
        .unwrap();
    let file = PathBuf::from(stored.path.trim_start_matches("file://"));
    let v = java_decode(&cp, &file);
    assert_eq!(
        (v["jobId"].as_str(), v["checkpointId"].as_i64()),
        (Some("555"), Some(3))
    );
}
