// Has SeaTunnel 2.3.8's own checkpoint storage plugins write checkpoints: `hdfs` (its Hadoop
// 3.1.4 client on fs.defaultFS file:///, so with Hadoop's `.crc` sidecars) and `localfile`, each
// found by factory discovery (compat-peer's PluginPeer.create). Then asks the same plugin what it
// reads back (getCheckpoint, getLatestCheckpointByJobIdAndPipelineId) and writes it all into
// OUT/manifest.json: the golden vectors of tests/golden_real_plugin.rs.
// Run by scripts/golden/real-plugin.sh (single-file source launch, compat-peer's classpath).
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import ckpt.compat.PluginPeer;
import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;

public class RealPluginGolden {
    static final String MAX_JOB = Long.toString(Long.MAX_VALUE);

    /** What each plugin stores: job, pipeline, checkpoint, states. */
    static List<PipelineState> states() {
        byte[] ramp = new byte[256];
        for (int i = 0; i < ramp.length; i++) ramp[i] = (byte) i;
        // 1 MiB; differs from chunk to chunk of Hadoop's 512-byte checksums.
        byte[] mib = new byte[1 << 20];
        for (int i = 0; i < mib.length; i++) mib[i] = (byte) ((i * 131L + (i >>> 9)) % 251);
        List<PipelineState> all = new ArrayList<>();
        all.add(state("0", 0, 0, new byte[0]));
        all.add(state("0", 1, 0, ramp));
        all.add(state("0", 1, 1, mib));
        all.add(state(MAX_JOB, Integer.MAX_VALUE, Long.MAX_VALUE, "ids 0 and Long.MAX_VALUE".getBytes(StandardCharsets.UTF_8)));
        all.add(state(MAX_JOB, Integer.MAX_VALUE, 0, new byte[0]));
        // 10 is newer than 9: ids compare as numbers, not as text.
        all.add(state(MAX_JOB, 1, 9, new byte[] {9, 9, 9}));
        all.add(state(MAX_JOB, 1, 10, new byte[] {1, 0}));
        return all;
    }

    static PipelineState state(String job, int pipeline, long checkpoint, byte[] states) {
        return PipelineState.builder().jobId(job).pipelineId(pipeline).checkpointId(checkpoint).states(states).build();
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]).toAbsolutePath();
        StringBuilder j = new StringBuilder();
        j.append("{\n \"generator\": \"scripts/golden/real-plugin.sh\",\n");
        j.append(" \"seatunnel\": \"2.3.8\",\n");
        j.append(" \"plugins\": [\n");
        String[][] plugins = {
            {"hdfs", "storage.type", "hdfs", "fs.defaultFS", "file:///"},
            {"localfile"},
        };
        for (int p = 0; p < plugins.length; p++) {
            String type = plugins[p][0];
            Map<String, String> config = new LinkedHashMap<>();
            for (int i = 1; i + 1 < plugins[p].length; i += 2) config.put(plugins[p][i], plugins[p][i + 1]);
            Map<String, String> shown = new LinkedHashMap<>(config);
            Path ns = out.resolve(type);
            Files.createDirectories(ns);
            config.put("namespace", ns + "/");
            CheckpointStorage storage = PluginPeer.create(type, config);
            List<PipelineState> written = states();
            List<String> files = new ArrayList<>();
            for (PipelineState s : written) {
                // One millisecond per file: Java picks the latest by the millis in the name, and
                // among equal millis by the order of the directory listing, which on local disk
                // depends on the file system (not a reproducible golden value).
                long before = System.currentTimeMillis();
                // hdfs returns the file name, localfile the file's whole path.
                String name = Path.of(storage.storeCheckPoint(s)).getFileName().toString();
                files.add(name);
                String millis = name.split("-")[0];
                if (Long.parseLong(millis) < before) throw new IllegalStateException("clock went back: " + millis);
                while (System.currentTimeMillis() <= Long.parseLong(millis)) Thread.sleep(1);
            }

            j.append("  {\n   \"plugin\": ").append(q(type)).append(",\n");
            j.append("   \"dir\": ").append(q(type)).append(",\n");
            j.append("   \"plugin_config\": {");
            boolean first = true;
            for (Map.Entry<String, String> e : shown.entrySet()) {
                j.append(first ? "" : ", ").append(q(e.getKey())).append(": ").append(q(e.getValue()));
                first = false;
            }
            j.append("},\n");
            TreeSet<String> jobs = new TreeSet<>();
            for (PipelineState s : written) jobs.add(s.getJobId());
            j.append("   \"jobs\": [");
            first = true;
            for (String job : jobs) {
                j.append(first ? "" : ", ").append(q(job));
                first = false;
            }
            j.append("],\n");
            j.append("   \"stored\": [\n");
            for (int i = 0; i < written.size(); i++) {
                PipelineState s = written.get(i);
                PipelineState back = storage.getCheckpoint(s.getJobId(), Integer.toString(s.getPipelineId()),
                        Long.toString(s.getCheckpointId()));
                j.append("    {\"file\": ").append(q(s.getJobId() + "/" + files.get(i)))
                        .append(", \"stored\": ").append(json(s))
                        .append(",\n     \"getCheckpoint\": ").append(json(back)).append("}")
                        .append(i + 1 < written.size() ? ",\n" : "\n");
            }
            j.append("   ],\n");
            j.append("   \"getLatestCheckpointByJobIdAndPipelineId\": [\n");
            List<String> pairs = new ArrayList<>();
            for (PipelineState s : written) {
                String pair = s.getJobId() + " " + s.getPipelineId();
                if (!pairs.contains(pair)) pairs.add(pair);
            }
            for (int i = 0; i < pairs.size(); i++) {
                String[] jp = pairs.get(i).split(" ");
                PipelineState latest = storage.getLatestCheckpointByJobIdAndPipelineId(jp[0], jp[1]);
                j.append("    {\"job\": ").append(q(jp[0])).append(", \"pipeline\": ").append(jp[1])
                        .append(", \"returns\": ").append(json(latest)).append("}")
                        .append(i + 1 < pairs.size() ? ",\n" : "\n");
            }
            j.append("   ]\n  }").append(p + 1 < plugins.length ? ",\n" : "\n");
        }
        j.append(" ]\n}\n");
        Files.writeString(out.resolve("manifest.json"), j.toString());
    }

    /** A state as the manifest records it; its states' bytes in hex when short. */
    static String json(PipelineState s) throws Exception {
        if (s == null) return "null";
        byte[] b = s.getStates();
        StringBuilder j = new StringBuilder("{\"job\": ").append(q(s.getJobId()))
                .append(", \"pipeline\": ").append(s.getPipelineId())
                .append(", \"checkpoint\": ").append(s.getCheckpointId());
        if (b == null) return j.append(", \"states\": null}").toString();
        j.append(", \"states_len\": ").append(b.length).append(", \"states_sha256\": ").append(q(PluginPeer.sha256(b)));
        if (b.length <= 256) {
            StringBuilder hex = new StringBuilder();
            for (byte x : b) hex.append(String.format("%02x", x));
            j.append(", \"states_hex\": ").append(q(hex.toString()));
        }
        return j.append("}").toString();
    }

    static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
