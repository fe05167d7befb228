package ckpt.compat;

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

import org.apache.hadoop.fs.Path;
import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.hdfs.HdfsStorage;

/**
 * The Java side of {@code scripts/bench-vs-java.sh}: the workload of {@code ckpt bench}, run on
 * Apache SeaTunnel's own {@code hdfs} checkpoint storage plugin the way the Java engine runs it.
 *
 * <pre>
 * JavaBench --fs URI --namespace PATH [--conf-dir DIR] [--size 64K] [--pipelines 4] [--checkpoints 50]
 *           [--max-retained 3] [--warmup-passes 1]
 * </pre>
 *
 * <p>The storage is checkpoint-storage-hdfs 2.3.8's {@code HdfsStorage} with its Hadoop 3.1.4
 * client, created by SeaTunnel's factory discovery ({@link PluginPeer#create}) from the
 * plugin-config a seatunnel.yaml would give it ({@code storage.type} local for file:///, hdfs
 * with {@code hdfs_site_path} for hdfs://). {@code max-retained} is applied as the engine's
 * checkpoint coordinator applies it (per pipeline, in memory: when 2N completed ids are held, the
 * N oldest are deleted through {@code deleteCheckpoint(job, pipeline, ids)}), inside the timed
 * store like ckpt's retention is inside its store.
 *
 * <p>Phases match {@code src/cli/bench.rs}: {@code store} (checkpoint-major, pipeline-minor) then
 * {@code restore_latest} (checkpoints x pipelines calls of
 * {@code getLatestCheckpointByJobIdAndPipelineId}). Before the measured pass,
 * {@code --warmup-passes} full passes run on another job id so the JIT has compiled the hot
 * paths; they are reported ({@code java.warmup_ms}) and excluded from the phases. The JSON on
 * stdout has the keys of {@code ckpt --json bench} plus {@code implementation} and {@code java}.
 * Logs go to stderr.
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

        CheckpointStorage storage = PluginPeer.create("hdfs", new HashMap<>(pluginConfig));
        if (!(storage instanceof HdfsStorage)) throw new IllegalStateException(
                "factory hdfs created " + storage.getClass().getName() + ", not HdfsStorage");
        HdfsStorage hdfs = (HdfsStorage) storage;
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
            j.append(",\"namespace\":").append(q(hdfs.fs.makeQualified(
                    new Path(hdfs.getStorageParentDirectory())).toString()));
            j.append(",\"state_bytes\":").append(stateBytes);
            j.append(",\"pipelines\":").append(pipelines);
            j.append(",\"checkpoints_per_pipeline\":").append(checkpoints);
            j.append(",\"phases\":[").append(phase("store", r.store, stateBytes, r.storeTotalNanos)).append(',')
                    .append(phase("restore_latest", r.restore, stateBytes, r.restoreTotalNanos)).append(']');
            Long rss = peakRss();
            j.append(",\"peak_rss_bytes\":").append(rss == null ? "null" : rss.toString());
            j.append(",\"java\":{");
            j.append("\"storage\":").append(q("SeaTunnel 2.3.8 checkpoint-storage-hdfs " + storage.getClass().getName()
                    + " (factory hdfs), Hadoop " + org.apache.hadoop.util.VersionInfo.getVersion()));
            j.append(",\"plugin_config\":{");
            boolean first = true;
            for (Map.Entry<String, String> e : shownConfig.entrySet()) {
                if (!first) j.append(',');
                first = false;
                j.append(q(e.getKey())).append(':').append(q(e.getValue()));
            }
            j.append('}');
            j.append(",\"max_retained\":").append(maxRetained);
            j.append(",\"retention\":\"coordinator rule: at 2N completed ids per pipeline delete the N oldest\"");
            j.append(",\"warmup_passes\":").append(warmupPasses);
            j.append(",\"warmup_ms\":").append(fmt(warmupMs));
            j.append(",\"jvm_uptime_at_main_ms\":").append(uptimeAtMain);
            // Without libhadoop, the local file system sets permissions by running chmod.
            j.append(",\"hadoop_native\":").append(org.apache.hadoop.util.NativeCodeLoader.isNativeCodeLoaded());
            j.append(",\"jvm\":").append(q(System.getProperty("java.vm.name") + " "
                    + System.getProperty("java.runtime.version")));
            j.append(",\"jvm_args\":").append(q(String.join(" ",
                    ManagementFactory.getRuntimeMXBean().getInputArguments())));
            j.append("}}");
            out.println(j);
        } finally {
            hdfs.fs.close();
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

    static Result workload(CheckpointStorage storage, String jobId, byte[] states, int pipelines, long checkpoints,
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

    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
