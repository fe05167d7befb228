package dev.ckpt.seatunnel;

import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;

/** The native methods of ckpt-jni (ckpt-jni/src/lib.rs); a storage is a handle. */
final class NativeStorage {
    private NativeStorage() {}

    static native long open(String[] keys, String[] values) throws CheckpointStorageException;

    static native void close(long handle) throws CheckpointStorageException;

    static native String store(long handle, String jobId, int pipelineId, long checkpointId,
            byte[] states) throws CheckpointStorageException;

    static native void storeAsync(long handle, String jobId, int pipelineId, long checkpointId,
            byte[] states) throws CheckpointStorageException;

    static native PipelineState[] getAll(long handle, String jobId)
            throws CheckpointStorageException;

    static native PipelineState[] getLatest(long handle, String jobId)
            throws CheckpointStorageException;

    static native PipelineState getLatestOfPipeline(long handle, String jobId, int pipelineId)
            throws CheckpointStorageException;

    static native PipelineState[] getOfPipeline(long handle, String jobId, int pipelineId)
            throws CheckpointStorageException;

    static native PipelineState get(long handle, String jobId, int pipelineId, long checkpointId)
            throws CheckpointStorageException;

    static native void deleteJob(long handle, String jobId) throws CheckpointStorageException;

    static native void delete(long handle, String jobId, int pipelineId, long checkpointId)
            throws CheckpointStorageException;

    static native void deleteMany(long handle, String jobId, int pipelineId, long[] checkpointIds)
            throws CheckpointStorageException;

    /** Panics inside the native library (tests: the panic must arrive as an exception). */
    static native void panicForTest() throws CheckpointStorageException;
}
