package ckpt.testenv;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.AbstractCheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;

/**
 * The Java side of {@code scripts/bench-vs-java.sh}: the workload of {@code ckpt bench}, run on
 * Apache SeaTunnel's checkpoint storage the way the Java engine runs it.
 *
 * <pre>
 * JavaBench --fs URI --namespace PATH [--conf-dir DIR] [--size 64K] [--pipelines 4] [--checkpoints 50]
 *           [--max-retained 3] [--warmup-passes 1]
 * </pre>
 *
 * <p>The storage is SeaTunnel's own {@code AbstractCheckpointStorage} (checkpoint-storage-api
 * 2.3.10: file names, latest selection, ProtoStuffSerializer) with the file-system part of the
 * {@code hdfs} storage plugin written out here, because checkpoint-storage-hdfs is not published
 * on Maven Central: the Hadoop configuration is built as the plugin builds it for
 * {@code storage.type} local and hdfs; a store writes {@code <name>tmp} with overwrite=false,
 * renames it to the final name and then deletes the temporary file if it still exists; a lookup
 * checks that the job directory exists and lists its {@code *.ser} files; a read copies the whole
 * file and deserializes it. {@code max-retained} is applied as the engine's checkpoint coordinator
 * applies it (per pipeline, in memory: when 2N completed ids are held, the N oldest are deleted
 * through {@code deleteCheckpoint(job, pipeline, ids)}), inside the timed store like ckpt's
 * retention is inside its store.
 *
 * <p>Phases match {@code src/cli/bench.rs}: {@code store} (checkpoint-major, pipeline-minor) then
 * {@code restore_latest} (checkpoints x pipelines lookups of the newest file of a pipeline). Before
 * the measured pass, {@code --warmup-passes} full passes run on another job id so the JIT has
 * compiled the hot paths; they are reported ({@code java.warmup_ms}) and excluded from the phases.
 * The JSON on stdout has the keys of {@code ckpt --json bench} plus {@code implementation} and
 * {@code java}. Hadoop logs go to stderr.
 */
public final class JavaBench {
    /** Same job id as ckpt bench. */
    static final String BENCH_JOB = "990000000000000001";
    /** Warm-up passes write here (deleted before and after). */
    static final String WARMUP_JOB = "990000000000000002";

    private static PrintStream out;

    public static void main(String[] args) {
        long uptimeAtMain = ManagementFactory.getRuntimeMXBean().getUptime();
        out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        int code;
        try {
            code = run(args, uptimeAtMain);
        } catch (IllegalArgumentException e) {
            System.err.println("java-bench: " + e.getMessage());
            code = 2;
        } catch (Throwable t) {
            System.err.println("java-bench: failed: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    static final String USAGE = "usage: JavaBench --fs URI --namespace PATH [--conf-dir DIR] [--size 64K]"
            + " [--pipelines 4] [--checkpoints 50] [--max-retained 3] [--warmup-passes 1]";

    static int run(String[] args, long uptimeAtMain) throws Exception {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.err.println(USAGE);
                return 0;
            }
            if (!a.startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException(
                    "bad argument " + a + "\n" + USAGE);
            opts.put(a.substring(2), args[++i]);
        }
        for (String k : opts.keySet()) {
            if (!List.of("fs", "namespace", "conf-dir", "size", "pipelines", "checkpoints", "max-retained",
                    "warmup-passes").contains(k)) throw new IllegalArgumentException("unknown option --" + k + "\n" + USAGE);
        }
        String fsUri = required(opts, "fs");
        String namespace = required(opts, "namespace");
        int stateBytes = (int) parseSize(opts.getOrDefault("size", "64K"));
        int pipelines = Integer.parseInt(opts.getOrDefault("pipelines", "4"));
        long checkpoints = Long.parseLong(opts.getOrDefault("checkpoints", "50"));
        int maxRetained = Integer.parseInt(opts.getOrDefault("max-retained", "3"));
        int warmupPasses = Integer.parseInt(opts.getOrDefault("warmup-passes", "1"));
        if (pipelines < 1 || checkpoints < 1) throw new IllegalArgumentException(
                "--pipelines and --checkpoints must be at least 1");
        if (maxRetained < 1) throw new IllegalArgumentException("--max-retained must be at least 1");
        if (warmupPasses < 0) throw new IllegalArgumentException("--warmup-passes must be at least 0");

        // What a seatunnel.yaml plugin-config would hand the hdfs storage factory.
        Map<String, String> pluginConfig = new LinkedHashMap<>();
        String scheme = java.net.URI.create(fsUri).getScheme();
        if ("file".equals(scheme)) {
            pluginConfig.put("storage.type", "local");
        } else if ("hdfs".equals(scheme)) {
            pluginConfig.put("storage.type", "hdfs");
        } else {
            throw new IllegalArgumentException("--fs must be a file:/// or hdfs:// URI, not " + fsUri);
        }
        pluginConfig.put("fs.defaultFS", fsUri);
        pluginConfig.put("namespace", namespace);
        if (opts.containsKey("conf-dir")) {
            java.nio.file.Path site = java.nio.file.Path.of(opts.get("conf-dir")).resolve("hdfs-site.xml");
            if (!Files.isRegularFile(site)) throw new IllegalArgumentException(site + " not found");
            pluginConfig.put("hdfs_site_path", site.toString());
        }
        Map<String, String> shownConfig = new LinkedHashMap<>(pluginConfig);

        byte[] states = new byte[stateBytes];
        for (int i = 0; i < stateBytes; i++) states[i] = (byte) ((i * 131L) % 251);

        PluginStorage storage = new PluginStorage(new HashMap<>(pluginConfig));
        try {
            storage.deleteCheckpoint(BENCH_JOB);
            storage.deleteCheckpoint(WARMUP_JOB);

            long warmupStart = System.nanoTime();
            for (int pass = 0; pass < warmupPasses; pass++) {
                workload(storage, WARMUP_JOB, states, pipelines, checkpoints, maxRetained);
                storage.deleteCheckpoint(WARMUP_JOB);
            }
            double warmupMs = (System.nanoTime() - warmupStart) / 1e6;

            Result r = workload(storage, BENCH_JOB, states, pipelines, checkpoints, maxRetained);
            storage.deleteCheckpoint(BENCH_JOB);

            StringBuilder j = new StringBuilder("{");
            j.append("\"implementation\":\"java\"");
            j.append(",\"namespace\":").append(MiniCluster.q(storage.fs.makeQualified(
                    new Path(storage.getStorageParentDirectory())).toString()));
            j.append(",\"state_bytes\":").append(stateBytes);
            j.append(",\"pipelines\":").append(pipelines);
            j.append(",\"checkpoints_per_pipeline\":").append(checkpoints);
            j.append(",\"phases\":[").append(phase("store", r.store, stateBytes, r.storeTotalNanos)).append(',')
                    .append(phase("restore_latest", r.restore, stateBytes, r.restoreTotalNanos)).append(']');
            Long rss = peakRss();
            j.append(",\"peak_rss_bytes\":").append(rss == null ? "null" : rss.toString());
            j.append(",\"java\":{");
            j.append("\"storage\":\"SeaTunnel 2.3.10 AbstractCheckpointStorage + hdfs plugin file-system code\"");
            j.append(",\"plugin_config\":{");
            boolean first = true;
            for (Map.Entry<String, String> e : shownConfig.entrySet()) {
                if (!first) j.append(',');
                first = false;
                j.append(MiniCluster.q(e.getKey())).append(':').append(MiniCluster.q(e.getValue()));
            }
            j.append('}');
            j.append(",\"max_retained\":").append(maxRetained);
            j.append(",\"retention\":\"coordinator rule: at 2N completed ids per pipeline delete the N oldest\"");
            j.append(",\"warmup_passes\":").append(warmupPasses);
            j.append(",\"warmup_ms\":").append(fmt(warmupMs));
            j.append(",\"jvm_uptime_at_main_ms\":").append(uptimeAtMain);
            // Without libhadoop, the local file system sets permissions by running chmod.
            j.append(",\"hadoop_native\":").append(org.apache.hadoop.util.NativeCodeLoader.isNativeCodeLoaded());
            j.append(",\"jvm\":").append(MiniCluster.q(System.getProperty("java.vm.name") + " "
                    + System.getProperty("java.runtime.version")));
            j.append(",\"jvm_args\":").append(MiniCluster.q(String.join(" ",
                    ManagementFactory.getRuntimeMXBean().getInputArguments())));
            j.append("}}");
            out.println(j);
        } finally {
            storage.fs.close();
        }
        return 0;
    }

    static String required(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("--" + key + " is required\n" + USAGE);
        return v;
    }

    /** Sizes as ckpt parses them: a number with an optional binary suffix k m g (and an optional b). */
    static long parseSize(String text) {
        String v = text.trim().toLowerCase(Locale.ROOT);
        if (v.endsWith("b") && v.length() > 1) v = v.substring(0, v.length() - 1);
        int shift = 0;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'k': shift = 10; break;
                case 'm': shift = 20; break;
                case 'g': shift = 30; break;
                default: break;
            }
        }
        if (shift > 0) v = v.substring(0, v.length() - 1).trim();
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(text + " is not a size such as 4096, 64K or 4M");
        }
        long bytes = n << shift;
        if (n < 0 || (bytes >> shift) != n || bytes > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("--size " + text + " is out of range");
        }
        return bytes;
    }

    // ------------------------------------------------------------------ workload

    static final class Result {
        long[] store;
        long storeTotalNanos;
        long[] restore;
        long restoreTotalNanos;
    }

    static Result workload(PluginStorage storage, String jobId, byte[] states, int pipelines, long checkpoints,
            int maxRetained) throws Exception {
        Result r = new Result();
        int n = Math.toIntExact(pipelines * checkpoints);
        // The coordinator's per-pipeline list of completed checkpoint ids.
        List<ArrayDeque<String>> completed = new ArrayList<>();
        for (int p = 0; p < pipelines; p++) completed.add(new ArrayDeque<>(maxRetained + 1));

        r.store = new long[n];
        int k = 0;
        long started = System.nanoTime();
        for (long checkpoint = 1; checkpoint <= checkpoints; checkpoint++) {
            for (int pipeline = 1; pipeline <= pipelines; pipeline++) {
                PipelineState state = PipelineState.builder().jobId(jobId).pipelineId(pipeline)
                        .checkpointId(checkpoint).states(states).build();
                long t = System.nanoTime();
                ArrayDeque<String> ids = completed.get(pipeline - 1);
                ids.addLast(Long.toString(checkpoint));
                storage.storeCheckPoint(state);
                if (ids.size() % maxRetained == 0 && ids.size() / maxRetained > 1) {
                    List<String> victims = new ArrayList<>();
                    for (int i = 0; i < maxRetained; i++) victims.add(ids.removeFirst());
                    storage.deleteCheckpoint(jobId, Integer.toString(pipeline), victims);
                }
                r.store[k++] = System.nanoTime() - t;
            }
        }
        r.storeTotalNanos = System.nanoTime() - started;

        r.restore = new long[n];
        k = 0;
        started = System.nanoTime();
        for (long round = 1; round <= checkpoints; round++) {
            for (int pipeline = 1; pipeline <= pipelines; pipeline++) {
                long t = System.nanoTime();
                PipelineState restored = storage.getLatestCheckpointByJobIdAndPipelineId(jobId,
                        Integer.toString(pipeline));
                r.restore[k++] = System.nanoTime() - t;
                if (restored == null || restored.getStates() == null || restored.getStates().length != states.length) {
                    throw new IOException("bench: pipeline " + pipeline + " did not restore its state");
                }
            }
        }
        r.restoreTotalNanos = System.nanoTime() - started;
        return r;
    }

    /** One phase, computed exactly as src/cli/bench.rs computes it. */
    static String phase(String operation, long[] samplesNanos, int bytesEach, long totalNanos) {
        long[] s = samplesNanos.clone();
        java.util.Arrays.sort(s);
        int n = s.length;
        double p50 = n == 0 ? 0 : s[(int) Math.round((n - 1) * 0.5)] / 1e6;
        double p99 = n == 0 ? 0 : s[(int) Math.round((n - 1) * 0.99)] / 1e6;
        double max = n == 0 ? 0 : s[n - 1] / 1e6;
        double moved = ((double) bytesEach * n) / (1024.0 * 1024.0);
        double mibPerS = totalNanos == 0 ? 0 : moved / (totalNanos / 1e9);
        return "{\"operation\":\"" + operation + "\",\"count\":" + n + ",\"total_ms\":" + fmt(totalNanos / 1e6)
                + ",\"p50_ms\":" + fmt(p50) + ",\"p99_ms\":" + fmt(p99) + ",\"max_ms\":" + fmt(max)
                + ",\"mib_per_s\":" + fmt(mibPerS) + "}";
    }

    static String fmt(double d) {
        return String.format(Locale.ROOT, "%.6f", d);
    }

    /** Peak resident memory of this JVM (Linux VmHWM), as ckpt reports its own. */
    static Long peakRss() {
        try {
            for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.split("\\s+")[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    // ------------------------------------------------------------------ the storage

    /**
     * The hdfs storage plugin's behaviour on SeaTunnel's own AbstractCheckpointStorage, limited to
     * the calls the engine makes in this workload (store, latest by pipeline, the coordinator's
     * retention delete, job delete).
     */
    static final class PluginStorage extends AbstractCheckpointStorage {
        FileSystem fs;

        PluginStorage(Map<String, String> pluginConfig) throws CheckpointStorageException {
            initStorage(pluginConfig);
        }

        @Override
        public void initStorage(Map<String, String> config) throws CheckpointStorageException {
            String ns = config.remove("namespace");
            if (ns != null && !ns.isBlank()) setStorageNameSpace(ns);
            try {
                fs = FileSystem.get(hadoopConfiguration(config));
            } catch (IOException e) {
                throw new CheckpointStorageException("Failed to get file system", e);
            }
        }

        /** The Hadoop configuration the plugin builds for storage.type local and hdfs. */
        static Configuration hadoopConfiguration(Map<String, String> config) {
            String type = config.getOrDefault("storage.type", "local").toLowerCase(Locale.ROOT);
            config.remove("storage.type");
            Configuration conf = new Configuration();
            switch (type) {
                case "local":
                    conf.set("fs.file.impl", "org.apache.hadoop.fs.LocalFileSystem");
                    conf.set("fs.defaultFS", config.getOrDefault("fs.defaultFS", "file:///"));
                    break;
                case "hdfs": {
                    String defaultFs = config.get("fs.defaultFS");
                    if (defaultFs == null) throw new IllegalArgumentException("fs.defaultFS is required");
                    conf.set("fs.defaultFS", defaultFs);
                    conf.set("fs.hdfs.impl", "org.apache.hadoop.hdfs.DistributedFileSystem");
                    if (config.containsKey("hdfs_site_path")) conf.addResource(new Path(config.get("hdfs_site_path")));
                    conf.setBoolean("fs.hdfs.impl.disable.cache",
                            Boolean.parseBoolean(config.getOrDefault("disable.cache", "true")));
                    for (Map.Entry<String, String> e : config.entrySet()) {
                        if (e.getKey().startsWith("seatunnel.hadoop.")) {
                            conf.set(e.getKey().substring("seatunnel.hadoop.".length()), e.getValue());
                        }
                    }
                    break;
                }
                default:
                    throw new IllegalArgumentException("storage.type " + type + " is not benchmarked (local, hdfs)");
            }
            return conf;
        }

        private String jobDir(String jobId) {
            return getStorageParentDirectory() + jobId;
        }

        @Override
        public String storeCheckPoint(PipelineState state) throws CheckpointStorageException {
            byte[] data;
            try {
                data = serializeCheckPointData(state);
            } catch (IOException e) {
                throw new CheckpointStorageException("Failed to serialize checkpoint data", e);
            }
            // Two calls, two names: the temporary file is another generated name plus "tmp".
            Path target = new Path(jobDir(state.getJobId()) + "/" + getCheckPointName(state));
            Path temp = new Path(jobDir(state.getJobId()) + "/" + getCheckPointName(state) + "tmp");
            try (FSDataOutputStream o = fs.create(temp, false)) {
                o.write(data);
            } catch (IOException e) {
                throw new CheckpointStorageException("Failed to write checkpoint data, file: " + temp, e);
            }
            try {
                if (!fs.rename(temp, target)) {
                    throw new CheckpointStorageException("Failed to rename tmp file to final file");
                }
            } catch (IOException e) {
                throw new CheckpointStorageException("Failed to rename tmp file to final file");
            } finally {
                try {
                    if (fs.exists(temp)) fs.delete(temp, false);
                } catch (IOException e) {
                    System.err.println("java-bench: could not delete " + temp + ": " + e);
                }
            }
            return target.getName();
        }

        /** The *.ser names in a job directory; empty when the directory does not exist. */
        private List<String> checkpointNames(String jobId) throws CheckpointStorageException {
            Path dir = new Path(jobDir(jobId));
            try {
                if (!fs.exists(dir)) return new ArrayList<>();
                List<String> names = new ArrayList<>();
                for (FileStatus st : fs.listStatus(dir, p -> p.getName().endsWith(FILE_FORMAT))) {
                    names.add(st.getPath().getName());
                }
                return names;
            } catch (IOException e) {
                throw new CheckpointStorageException("Failed to list " + dir, e);
            }
        }

        private PipelineState read(String jobId, String name) throws CheckpointStorageException {
            Path file = new Path(jobDir(jobId) + DEFAULT_CHECKPOINT_FILE_PATH_SPLIT + name);
            try (FSDataInputStream in = fs.open(file); ByteArrayOutputStream buf = new ByteArrayOutputStream()) {
                org.apache.hadoop.io.IOUtils.copyBytes(in, buf, 1024);
                return deserializeCheckPointData(buf.toByteArray());
            } catch (IOException e) {
                throw new CheckpointStorageException("Failed to read checkpoint data, file " + file, e);
            }
        }

        @Override
        public PipelineState getLatestCheckpointByJobIdAndPipelineId(String jobId, String pipelineId)
                throws CheckpointStorageException {
            List<String> names = checkpointNames(jobId);
            if (names.isEmpty()) return null;
            String latest = getLatestCheckpointFileNameByJobIdAndPipelineId(names, pipelineId);
            return latest == null ? null : read(jobId, latest);
        }

        @Override
        public void deleteCheckpoint(String jobId) {
            try {
                fs.delete(new Path(jobDir(jobId)), true);
            } catch (IOException e) {
                System.err.println("java-bench: could not delete job " + jobId + ": " + e);
            }
        }

        @Override
        public void deleteCheckpoint(String jobId, String pipelineId, List<String> checkpointIds)
                throws CheckpointStorageException {
            List<String> names = checkpointNames(jobId);
            if (names.isEmpty()) throw new CheckpointStorageException("No checkpoint found for job, job id is: " + jobId);
            for (String name : names) {
                if (pipelineId.equals(getPipelineIdByFileName(name))
                        && checkpointIds.contains(getCheckpointIdByFileName(name))) {
                    try {
                        fs.delete(new Path(jobDir(jobId) + DEFAULT_CHECKPOINT_FILE_PATH_SPLIT + name), false);
                    } catch (IOException e) {
                        System.err.println("java-bench: could not delete " + name + ": " + e);
                    }
                }
            }
        }

        // Not part of the benchmarked workload.
        @Override
        public List<PipelineState> getAllCheckpoints(String jobId) {
            throw new UnsupportedOperationException("not used by the bench");
        }

        @Override
        public List<PipelineState> getLatestCheckpoint(String jobId) {
            throw new UnsupportedOperationException("not used by the bench");
        }

        @Override
        public List<PipelineState> getCheckpointsByJobIdAndPipelineId(String jobId, String pipelineId) {
            throw new UnsupportedOperationException("not used by the bench");
        }

        @Override
        public PipelineState getCheckpoint(String jobId, String pipelineId, String checkpointId) {
            throw new UnsupportedOperationException("not used by the bench");
        }

        @Override
        public void deleteCheckpoint(String jobId, String pipelineId, String checkpointId) {
            throw new UnsupportedOperationException("not used by the bench");
        }
    }
}
