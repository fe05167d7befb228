package dev.ckpt.seatunnel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;

/**
 * SeaTunnel's {@link CheckpointStorage} over ckpt's Rust core (ckpt-jni): the storage of the
 * {@code hdfs} plugin (same plugin-config, layout and file encoding) with ckpt's improvements.
 * Thread-safe; {@link #close()} frees the native storage (the engine never calls it: one
 * storage lives as long as the engine).
 *
 * <p>Retention is the engine's: its checkpoint coordinator deletes superseded checkpoints
 * through {@link #deleteCheckpoint(String, String, List)}, so this storage deletes nothing on
 * its own.
 */
public final class CkptCheckpointStorage implements CheckpointStorage, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CkptCheckpointStorage.class.getName());

    /** Guards {@link #handle}: operations share it, {@link #close()} takes it alone. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;

    /** Opens the storage of a plugin-config (the {@code hdfs} plugin's keys and ckpt.*). */
    public CkptCheckpointStorage(Map<String, String> pluginConfig)
            throws CheckpointStorageException {
        NativeLoader.load();
        Map<String, String> config =
                pluginConfig == null ? Collections.<String, String>emptyMap() : pluginConfig;
        String[] keys = new String[config.size()];
        String[] values = new String[config.size()];
        int i = 0;
        for (Map.Entry<String, String> e : config.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new CheckpointStorageException(
                        "plugin-config has a null key or value (key " + e.getKey() + ")");
            }
            keys[i] = e.getKey();
            values[i] = e.getValue();
            i++;
        }
        this.handle = NativeStorage.open(keys, values);
    }

    private interface Call<T> {
        T run(long handle) throws CheckpointStorageException;
    }

    private <T> T call(Call<T> call) throws CheckpointStorageException {
        lock.readLock().lock();
        try {
            if (handle == 0) {
                throw new CheckpointStorageException("the ckpt checkpoint storage is closed");
            }
            return call.run(handle);
        } finally {
            lock.readLock().unlock();
        }
    }

    private static int pipelineId(String pipelineId) throws CheckpointStorageException {
        try {
            return Integer.parseInt(pipelineId);
        } catch (NumberFormatException e) {
            throw new CheckpointStorageException("pipeline id is not a number: " + pipelineId, e);
        }
    }

    private static long checkpointId(String checkpointId) throws CheckpointStorageException {
        try {
            return Long.parseLong(checkpointId);
        } catch (NumberFormatException e) {
            throw new CheckpointStorageException(
                    "checkpoint id is not a number: " + checkpointId, e);
        }
    }

    private static PipelineState checked(PipelineState state) throws CheckpointStorageException {
        if (state == null) {
            throw new CheckpointStorageException("the pipeline state is null");
        }
        return state;
    }

    private static List<PipelineState> list(PipelineState[] states) {
        return new ArrayList<>(Arrays.asList(states));
    }

    @Override
    public String storeCheckPoint(PipelineState state) throws CheckpointStorageException {
        final PipelineState s = checked(state);
        return call(h -> NativeStorage.store(
                h, s.getJobId(), s.getPipelineId(), s.getCheckpointId(), s.getStates()));
    }

    @Override
    public void asyncStoreCheckPoint(PipelineState state) throws CheckpointStorageException {
        final PipelineState s = checked(state);
        call(h -> {
            NativeStorage.storeAsync(
                    h, s.getJobId(), s.getPipelineId(), s.getCheckpointId(), s.getStates());
            return null;
        });
    }

    @Override
    public List<PipelineState> getAllCheckpoints(String jobId) throws CheckpointStorageException {
        return list(call(h -> NativeStorage.getAll(h, jobId)));
    }

    @Override
    public List<PipelineState> getLatestCheckpoint(String jobId)
            throws CheckpointStorageException {
        return list(call(h -> NativeStorage.getLatest(h, jobId)));
    }

    @Override
    public PipelineState getLatestCheckpointByJobIdAndPipelineId(String jobId, String pipelineId)
            throws CheckpointStorageException {
        final int p = pipelineId(pipelineId);
        return call(h -> NativeStorage.getLatestOfPipeline(h, jobId, p));
    }

    @Override
    public List<PipelineState> getCheckpointsByJobIdAndPipelineId(String jobId, String pipelineId)
            throws CheckpointStorageException {
        final int p = pipelineId(pipelineId);
        return list(call(h -> NativeStorage.getOfPipeline(h, jobId, p)));
    }

    /** Deletes a job's checkpoints; as the {@code hdfs} plugin, a failure is only logged. */
    @Override
    public void deleteCheckpoint(String jobId) {
        try {
            call(h -> {
                NativeStorage.deleteJob(h, jobId);
                return null;
            });
        } catch (CheckpointStorageException e) {
            LOG.log(Level.WARNING, "Failed to delete checkpoint for job " + jobId, e);
        }
    }

    @Override
    public PipelineState getCheckpoint(String jobId, String pipelineId, String checkpointId)
            throws CheckpointStorageException {
        final int p = pipelineId(pipelineId);
        final long c = checkpointId(checkpointId);
        return call(h -> NativeStorage.get(h, jobId, p, c));
    }

    @Override
    public void deleteCheckpoint(String jobId, String pipelineId, String checkpointId)
            throws CheckpointStorageException {
        final int p = pipelineId(pipelineId);
        final long c = checkpointId(checkpointId);
        call(h -> {
            NativeStorage.delete(h, jobId, p, c);
            return null;
        });
    }

    @Override
    public void deleteCheckpoint(String jobId, String pipelineId, List<String> checkpointIdList)
            throws CheckpointStorageException {
        final int p = pipelineId(pipelineId);
        final long[] ids = new long[checkpointIdList.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = checkpointId(checkpointIdList.get(i));
        }
        call(h -> {
            NativeStorage.deleteMany(h, jobId, p, ids);
            return null;
        });
    }

    /** Frees the native storage; later calls throw. Background stores still finish. */
    @Override
    public void close() throws CheckpointStorageException {
        lock.writeLock().lock();
        try {
            long h = handle;
            handle = 0;
            if (h != 0) {
                NativeStorage.close(h);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
