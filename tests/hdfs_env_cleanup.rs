//! The MiniDFSCluster driver (tests/common/hdfs_env.rs) leaves no work directories behind: a
//! dropped cluster removes its own, and starting one removes those of dead test processes.

mod common;

use common::hdfs_env::HdfsEnv;

#[test]
fn work_directories_are_removed_when_stopped_and_when_stale() {
    // A pid that no longer runs: a child that has exited and been reaped.
    let mut gone = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let dead_pid = gone.id();
    gone.wait().expect("wait");
    let tmp = std::env::temp_dir();
    let stale = tmp.join(format!("ckpt-hdfs-single-{dead_pid}-0badcafe"));
    let alive = tmp.join(format!("ckpt-hdfs-single-{}-0badcafe", std::process::id()));
    let unrelated = tmp.join(format!("ckpt-hdfs-notes-{dead_pid}"));
    for d in [&stale, &alive, &unrelated] {
        std::fs::create_dir_all(d.join("cluster")).expect("mkdir");
    }

    let env = match HdfsEnv::start("single", &[]) {
        Ok(env) => env,
        Err(e) => {
            for d in [&stale, &alive, &unrelated] {
                let _ = std::fs::remove_dir_all(d);
            }
            common::missing::<()>(&format!("hdfs-testenv single cluster: {e}"));
            return;
        }
    };
    let dir = env.dir.clone();
    assert!(dir.join("cluster").is_dir(), "{}", dir.display());
    assert!(!stale.exists(), "stale {} not removed", stale.display());
    assert!(
        alive.exists(),
        "the directory of a running process was removed"
    );
    assert!(
        unrelated.exists(),
        "a directory not named by the driver was removed"
    );
    drop(env);
    assert!(
        !dir.exists(),
        "{} left after the cluster stopped",
        dir.display()
    );
    for d in [&alive, &unrelated] {
        std::fs::remove_dir_all(d).expect("cleanup");
    }
}
