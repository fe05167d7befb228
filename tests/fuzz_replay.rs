//! Replays the fuzz corpora and regression inputs (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same check functions the fuzz targets call
//! (`ckpt::fuzzing`), on stable, with no fuzzer. Also checks the "no allocation driven by a
//! declared length larger than the input" rule: a counting allocator records the largest
//! single allocation made while one input is checked.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// Counts, per thread, the largest single allocation since the last reset.
struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: allocations during thread teardown are not counted.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// The largest single allocation an input of `len` bytes may cause: a small multiple of its
/// length (copies, re-encodings, growing buffers) plus room for fixed-size buffers (the
/// largest today: the YAML parser's, 48 KiB). A length prefix or count taken from the input
/// and allocated for would exceed it by far.
fn allowed(len: usize) -> usize {
    16 * len + 128 * 1024
}

/// Runs `check` once on the empty input before anything is measured, so one-time set-up is
/// not charged to the first input: the statics built on first use, such as the regex set of
/// Hadoop's sensitive-key patterns, whose compilation allocates 320,000 bytes at once (the
/// regex compiler's UTF-8 cache, 10,000 entries of 32 bytes), once per process.
fn warm_up(check: fn(&[u8])) {
    let _ = std::panic::catch_unwind(|| check(&[]));
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(name: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = inputs(&root.join("corpus").join(name));
    let regressions = inputs(&root.join("regressions").join(name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name}/ has no inputs: the replay would test nothing"
    );
    warm_up(check);
    let mut failures = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap();
        LARGEST.with(|l| l.set(0));
        let outcome = std::panic::catch_unwind(|| check(&data));
        let largest = LARGEST.with(Cell::get);
        if outcome.is_err() {
            failures.push(format!("{}: panicked", file.display()));
        } else if largest > allowed(data.len()) {
            failures.push(format!(
                "{}: allocated {largest} bytes at once for a {}-byte input",
                file.display(),
                data.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
    println!(
        "{name}: {} corpus and {} regression inputs replayed",
        corpus.len(),
        regressions.len()
    );
}

#[test]
fn every_target_has_a_replay() {
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut files: Vec<String> = inputs(&targets)
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    files.sort();
    let mut known: Vec<String> = ckpt::fuzzing::TARGETS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    known.sort();
    assert_eq!(
        files, known,
        "fuzz/fuzz_targets and ckpt::fuzzing::TARGETS differ"
    );
}

#[test]
fn the_allocation_check_catches_a_length_driven_allocation() {
    // The rule the replays enforce, shown to fire: 1 MiB for a 4-byte input.
    LARGEST.with(|l| l.set(0));
    let v = std::hint::black_box(vec![0u8; 1 << 20]);
    drop(v);
    assert!(LARGEST.with(Cell::get) > allowed(4));
}

macro_rules! replay_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            let (_, check) = ckpt::fuzzing::TARGETS
                .iter()
                .find(|(n, _)| *n == stringify!($name))
                .expect("a target of that name");
            replay(stringify!($name), *check);
        }
    )*};
}

replay_tests!(
    checkpoint_decode,
    file_name,
    seatunnel_yaml,
    site_xml,
    plugin_config,
    oss_xml
);
