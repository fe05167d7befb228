//! Compatibility with SeaTunnel's own published checkpoint storage plugins (issue 9):
//! `checkpoint-storage-hdfs` 2.3.8 (`hdfs`, through its Hadoop 3.1.4 client, on local disk
//! with Hadoop's `.crc` sidecars and on the MiniDFSCluster) and `checkpoint-storage-local-file`
//! 2.3.8 (`localfile`), found by SeaTunnel's factory discovery and driven by compat-peer's
//! `PluginPeer`. Both directions, value by value.

mod common;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::conf::Configuration;
use ckpt::fs::{FileSystem, FileSystemRegistry, Path};
use common::hdfs_env::{self, HdfsEnv};
use common::java_peer::{JavaPlugin, Seen};

fn state(job: &str, pipeline: i32, checkpoint: i64, len: usize) -> PipelineState {
    let seed = (checkpoint as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ pipeline as u64;
    PipelineState {
        job_id: job.to_string(),
        pipeline_id: pipeline,
        checkpoint_id: checkpoint,
        states: Bytes::from(
            (0..len)
                .map(|i| (seed.wrapping_add(i as u64).wrapping_mul(31) >> 7) as u8)
                .collect::<Vec<u8>>(),
        ),
    }
}

fn ckpt_storage(fs: Arc<dyn FileSystem>, namespace: Path, checksum: bool) -> FileStorage {
    FileStorage::new(
        fs,
        namespace,
        FileStorageOptions {
            max_retained: None,
            checksum,
            ..FileStorageOptions::default()
        },
    )
}

/// The whole exchange on one storage: `java` and `ckpt` see the same namespace.
/// `sorted_listing`: the file system lists a directory sorted by name (HDFS).
async fn exchange(
    java: &JavaPlugin,
    fs: Arc<dyn FileSystem>,
    namespace: Path,
    work: &std::path::Path,
    sorted_listing: bool,
) {
    let ckpt = ckpt_storage(fs.clone(), namespace.clone(), true);
    let plain = ckpt_storage(fs.clone(), namespace.clone(), false);
    let big_job = i64::MAX.to_string();

    // Java writes; ckpt reads the same values.
    let written = [
        state("4001", 1, 1, 0),
        state("4001", 1, 2, 1 << 20),
        state("4001", 2, i64::MAX, 4096),
        state(&big_job, 1, 0, 100),
    ];
    for s in &written {
        java.store(work, s);
    }
    for s in &written {
        let ours = ckpt
            .get_checkpoint(&s.job_id, s.pipeline_id, s.checkpoint_id)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "ckpt reads {}/{}/{}: {e}",
                    s.job_id, s.pipeline_id, s.checkpoint_id
                )
            });
        assert_eq!(Seen::of(&ours), Seen::of(s));
        let theirs = java.states(&[
            "get",
            &s.job_id,
            &s.pipeline_id.to_string(),
            &s.checkpoint_id.to_string(),
        ]);
        assert_eq!(theirs, vec![Seen::of(s)], "Java reads back what it wrote");
    }
    for (job, pipeline) in [("4001", 1), ("4001", 2), (big_job.as_str(), 1)] {
        let ours = ckpt
            .get_latest_checkpoint_by_pipeline(job, pipeline)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("ckpt finds no latest of {job}/{pipeline}"));
        let theirs = java.states(&["latest", job, &pipeline.to_string()]);
        assert_eq!(theirs, vec![Seen::of(&ours)], "latest of {job}/{pipeline}");
    }
    let mut jobs = ckpt.list_jobs().await.unwrap();
    jobs.sort();
    let mut expected = vec!["4001".to_string(), big_job.clone()];
    expected.sort();
    assert_eq!(jobs, expected);
    let report = ckpt.verify().await.unwrap();
    assert!(report.is_clean(), "verify on what Java wrote: {report:?}");

    // ckpt writes, with and without its CRC field; Java reads every value back equal.
    let ours = [
        state("4002", 1, 10, 0),
        state("4002", 1, 11, 300_000),
        state("4002", 3, i64::MAX, 17),
    ];
    for (i, s) in ours.iter().enumerate() {
        let storage = if i % 2 == 0 { &ckpt } else { &plain };
        storage.store_checkpoint(s).await.unwrap();
        let theirs = java.states(&[
            "get",
            &s.job_id,
            &s.pipeline_id.to_string(),
            &s.checkpoint_id.to_string(),
        ]);
        assert_eq!(theirs, vec![Seen::of(s)], "Java reads what ckpt stored");
    }
    assert_eq!(
        java.states(&["latest", "4002", "1"]),
        vec![Seen::of(&ours[1])],
        "Java's latest of a pipeline ckpt wrote"
    );
    let all: Vec<Seen> = java.states(&["all", "4002"]);
    assert_eq!(all.len(), 3, "{all:?}");

    // Writers interleaved, with ckpt's retention running (max-retained 2): Java and ckpt store
    // the checkpoints of one pipeline in turn; after each store both see it as the latest, and
    // at the end ckpt's retention has kept the newest two of both writers' files.
    let retaining = FileStorage::new(
        fs.clone(),
        namespace.clone(),
        FileStorageOptions {
            max_retained: Some(2),
            ..FileStorageOptions::default()
        },
    );
    for id in 1..=6 {
        let s = state("4020", 1, id, 64 + id as usize);
        if id % 2 == 1 {
            java.store(work, &s);
        } else {
            // Java's files are named by its clock: let the millisecond pass.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            retaining.store_checkpoint(&s).await.unwrap();
        }
        let ours = retaining
            .get_latest_checkpoint_by_pipeline("4020", 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Seen::of(&ours),
            Seen::of(&s),
            "ckpt's latest after store {id}"
        );
        assert_eq!(
            java.states(&["latest", "4020", "1"]),
            vec![Seen::of(&s)],
            "Java's latest after store {id}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let mut kept: Vec<i64> = java
        .states(&["pipeline", "4020", "1"])
        .iter()
        .map(|s| s.checkpoint)
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        vec![5, 6],
        "retention kept the newest two of both writers"
    );
    java.must(&["delete-job", "4020"]);

    // Two files of one pipeline in the same millisecond. ckpt takes the smaller file name (the
    // one an HDFS listing, sorted by name, shows first). Java keeps the first it lists (a
    // strictly newer time replaces it): on HDFS that is the same file; on local disk it is the
    // directory's order, which no name decides.
    let tie_dir = namespace.join("4010").unwrap();
    let tied = [
        ("1700000000000-9-1-7.ser", state("4010", 1, 7, 10)),
        ("1700000000000-10-1-8.ser", state("4010", 1, 8, 20)),
    ];
    for (name, s) in &tied {
        let bytes = ckpt::checkpoint::codec::encode(s, true).unwrap();
        fs.write(&tie_dir.join(name).unwrap(), bytes, false)
            .await
            .unwrap();
    }
    let ours = ckpt
        .get_latest_checkpoint_by_pipeline("4010", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ours.checkpoint_id, 8,
        "ckpt takes the smaller name of a tie"
    );
    let theirs = java.states(&["latest", "4010", "1"]);
    let java_order = java.states(&["pipeline", "4010", "1"]);
    assert_eq!(
        theirs.first(),
        java_order.first(),
        "Java takes the first file it lists of a tie (its listing: {java_order:?})"
    );
    if sorted_listing {
        assert_eq!(
            theirs,
            vec![Seen::of(&ours)],
            "both sides pick the same file of a tie"
        );
    }
    java.must(&["delete-job", "4010"]);

    // Deletes in each direction are seen by the other side.
    let deleted = ckpt.delete_checkpoint_files("4001", 1, &[1]).await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert!(
        java.run(&["get", "4001", "1", "1"]).is_err(),
        "Java still finds the checkpoint ckpt deleted"
    );
    java.must(&["delete", "4002", "1", "10"]);
    let left: Vec<i64> = ckpt
        .list_checkpoints("4002")
        .await
        .unwrap()
        .iter()
        .filter(|e| e.name.pipeline_id == 1)
        .map(|e| e.name.checkpoint_id)
        .collect();
    assert_eq!(left, vec![11], "ckpt lists what Java's delete left");
    java.must(&["delete-job", &big_job]);
    assert!(ckpt.list_checkpoints(&big_job).await.unwrap().is_empty());
    let report = ckpt.verify().await.unwrap();
    assert!(
        report.is_clean(),
        "after the deletes of both sides: {report:?}"
    );
}

/// A namespace on local disk, `file:///`, as the Java engine's default deployment has it.
fn local_namespace(dir: &std::path::Path) -> (String, Path) {
    let ns = format!("{}/ns/", dir.display());
    (ns.clone(), Path::parse(&format!("file://{ns}")).unwrap())
}

/// The `hdfs` plugin on local disk (`fs.defaultFS: file:///`) with namespace `ns`.
fn hdfs_plugin_on_local_disk(cp: &str, dir: &std::path::Path, ns: String) -> JavaPlugin {
    JavaPlugin::new(
        cp,
        "hdfs",
        dir,
        &[
            ("storage.type", "hdfs".into()),
            ("fs.defaultFS", "file:///".into()),
            ("namespace", ns),
        ],
    )
}

async fn local_fs(namespace: &Path) -> Arc<dyn FileSystem> {
    FileSystemRegistry::with_builtins()
        .get(namespace, &Configuration::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn hdfs_plugin_on_local_disk_both_directions() {
    let Some(cp) = common::compat_peer::classpath() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ns, namespace) = local_namespace(dir.path());
    let java = hdfs_plugin_on_local_disk(&cp, dir.path(), ns);
    exchange(
        &java,
        local_fs(&namespace).await,
        namespace,
        dir.path(),
        false,
    )
    .await;
    // Hadoop's local file system left its sidecars: ckpt removed them with their files.
    let job = dir.path().join("ns/4001");
    let names: Vec<String> = std::fs::read_dir(&job)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let sidecars = names.iter().filter(|n| n.ends_with(".crc")).count();
    let files = names.iter().filter(|n| n.ends_with(".ser")).count();
    assert!(sidecars > 0, "the plugin wrote sidecars: {names:?}");
    assert_eq!(sidecars, files, "one sidecar per remaining file: {names:?}");
}

#[tokio::test]
async fn localfile_plugin_both_directions() {
    let Some(cp) = common::compat_peer::classpath() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ns, namespace) = local_namespace(dir.path());
    let java = JavaPlugin::new(&cp, "localfile", dir.path(), &[("namespace", ns)]);
    exchange(
        &java,
        local_fs(&namespace).await,
        namespace,
        dir.path(),
        false,
    )
    .await;
}

/// A Java state whose states are null (the file has no field 4). Java's `getCheckpoint` gives
/// back null states, on which the engine's restore cannot deserialize a checkpoint. ckpt
/// decides: such a file is not a usable checkpoint; reading it names the missing field, and a
/// restore falls back to the previous checkpoint of the pipeline, naming the file it skipped.
#[tokio::test]
async fn null_states_written_by_java_are_not_a_usable_checkpoint() {
    let Some(cp) = common::compat_peer::classpath() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ns, namespace) = local_namespace(dir.path());
    let java = hdfs_plugin_on_local_disk(&cp, dir.path(), ns);
    let older = state("4003", 1, 4, 64);
    java.store(dir.path(), &older);
    java.must(&["store-null", "4003", "1", "5"]);
    assert_eq!(
        java.states(&["get", "4003", "1", "5"]),
        vec![Seen {
            job: "4003".into(),
            pipeline: 1,
            checkpoint: 5,
            states: None
        }],
        "Java gives back null states"
    );
    let ckpt = ckpt_storage(local_fs(&namespace).await, namespace, true);
    let err = ckpt
        .get_checkpoint("4003", 1, 5)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("states") && err.contains("not a readable checkpoint"),
        "{err}"
    );
    let restore = ckpt.restore_latest("4003", 1).await.unwrap();
    assert_eq!(restore.state.map(|s| Seen::of(&s)), Some(Seen::of(&older)));
    assert_eq!(restore.skipped.len(), 1, "{:?}", restore.skipped);
    assert!(restore.skipped[0].path.ends_with("-1-5.ser"));
}

static SINGLE: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();
static HA: OnceLock<Result<HdfsEnv, String>> = OnceLock::new();

async fn on_cluster(cell: &'static OnceLock<Result<HdfsEnv, String>>, mode: &str) {
    let Some(cp) = common::compat_peer::classpath() else {
        return;
    };
    let Some(env) = hdfs_env::shared_blocking(cell, mode) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let namespace = env.fresh_dir("compat-plugin");
    let hdfs_site = env.info.conf_dir.join("hdfs-site.xml");
    let java = JavaPlugin::new(
        &cp,
        "hdfs",
        dir.path(),
        &[
            ("storage.type", "hdfs".into()),
            ("fs.defaultFS", env.info.default_fs.clone()),
            ("hdfs_site_path", hdfs_site.display().to_string()),
            ("namespace", format!("{}/", namespace.path())),
        ],
    );
    exchange(
        &java,
        env.file_system(&[]).await,
        namespace,
        dir.path(),
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_plugin_on_a_single_namenode_cluster() {
    on_cluster(&SINGLE, "single").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_plugin_on_an_ha_nameservice() {
    on_cluster(&HA, "ha").await;
}
