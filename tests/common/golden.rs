//! Golden vectors under `tests/fixtures/`, written by Java (scripts/golden/): where they are and
//! the checks every golden test shares.

use std::path::{Path, PathBuf};

use ckpt::checkpoint::sidecar;

/// `tests/fixtures/<name>` of this crate.
pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Checks every Hadoop `.crc` sidecar in `dir` against its file, byte for byte both ways: ckpt
/// accepts Hadoop's checksums, writes the same sidecar for the same data, and refuses the file
/// once one byte of it changed. Returns how many sidecars it checked.
pub fn check_sidecars_in(dir: &Path) -> usize {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut seen = 0;
    for name in &names {
        let Some(file) = sidecar::file_of_sidecar(name) else {
            continue;
        };
        let sums = std::fs::read(dir.join(name)).unwrap();
        let data = std::fs::read(dir.join(file))
            .unwrap_or_else(|e| panic!("the file of sidecar {name} in {}: {e}", dir.display()));
        assert_eq!(sidecar::check(&sums, &data), Ok(()), "{name}");
        assert_eq!(sidecar::encode(&data, 512), sums, "{name}");
        if !data.is_empty() {
            let mut changed = data.clone();
            changed[data.len() - 1] ^= 1;
            assert!(sidecar::check(&sums, &changed).is_err(), "{name}");
        }
        seen += 1;
    }
    seen
}
