//! Criterion benches: codec encode/decode, and store (durable, with fsync) and restore on local disk.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use ckpt::checkpoint::codec;
use ckpt::checkpoint::{CheckpointStorage, FileStorage, FileStorageOptions, PipelineState};
use ckpt::fs::Path;
use ckpt::fs::local::LocalFileSystem;

const SIZES: [usize; 3] = [1 << 10, 64 << 10, 4 << 20];

fn state(len: usize, checkpoint: i64) -> PipelineState {
    PipelineState {
        job_id: "733912283451392001".to_string(),
        pipeline_id: 1,
        checkpoint_id: checkpoint,
        states: Bytes::from((0..len).map(|i| (i * 31 % 251) as u8).collect::<Vec<_>>()),
    }
}

fn codec_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    for size in SIZES {
        let s = state(size, 7);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("encode_crc32c", size), &s, |b, s| {
            b.iter(|| codec::encode(black_box(s), true))
        });
        group.bench_with_input(BenchmarkId::new("encode_java", size), &s, |b, s| {
            b.iter(|| codec::encode(black_box(s), false))
        });
        group.bench_with_input(BenchmarkId::new("encode_parts_crc32c", size), &s, |b, s| {
            b.iter(|| codec::encode_parts(black_box(s), true))
        });
        let encoded = codec::encode(&s, true).expect("bench states fit the limit");
        group.bench_with_input(BenchmarkId::new("decode_crc32c", size), &encoded, |b, e| {
            b.iter(|| codec::decode(black_box(e)))
        });
    }
    group.finish();
}

fn local_storage_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let namespace = Path::parse(&format!("file://{}/ns", dir.path().display())).expect("path");
    let storage = Arc::new(FileStorage::new(
        Arc::new(LocalFileSystem),
        namespace,
        FileStorageOptions {
            max_retained: Some(3),
            ..FileStorageOptions::default()
        },
    ));
    let mut group = c.benchmark_group("local");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    for size in [64 << 10, 4 << 20] {
        let s = state(size, 1);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("store_fsync_retain3", size), &s, |b, s| {
            b.to_async(&runtime)
                .iter(|| async { storage.store_checkpoint(s).await.expect("store") })
        });
        group.bench_with_input(BenchmarkId::new("restore_latest", size), &s, |b, _| {
            b.to_async(&runtime).iter(|| async {
                storage
                    .restore_latest("733912283451392001", 1)
                    .await
                    .expect("restore")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec_benches, local_storage_benches);
criterion_main!(benches);
