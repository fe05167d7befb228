package ckpt.compat;

import java.io.FileInputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;

import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorageFactory;

/**
 * Drives one of SeaTunnel's own published checkpoint storage plugins, found the way the engine
 * finds them (ServiceLoader over CheckpointStorageFactory, matched by factoryIdentifier()).
 *
 * <pre>
 * plugin-peer TYPE PLUGIN_CONFIG.properties COMMAND ARGS...
 *   store JOB P C STATES_FILE     stores; prints the file name the plugin returned
 *   store-null JOB P C            stores a state whose states are null
 *   latest JOB P                  getLatestCheckpointByJobIdAndPipelineId
 *   get JOB P C                   getCheckpoint
 *   all JOB                       getAllCheckpoints
 *   latest-all JOB                getLatestCheckpoint
 *   pipeline JOB P                getCheckpointsByJobIdAndPipelineId
 *   delete JOB P C[,C...]         deleteCheckpoint(job, pipeline, ids)
 *   delete-job JOB                deleteCheckpoint(job)
 * </pre>
 * A state is printed as one line "state JOB P C LEN SHA256" ("state JOB P C null -" when its
 * states are null); "none" when there is none. The plugin's own exceptions end the process
 * with exit 1 and "error: CLASS: MESSAGE" on stdout (stack on stderr).
 */
public final class PluginPeer {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8.name());
        System.setOut(System.err);
        if (args.length < 3) {
            System.err.println("usage: plugin-peer TYPE PLUGIN_CONFIG.properties COMMAND ARGS...");
            System.exit(2);
        }
        try {
            CheckpointStorage storage = create(args[0], load(args[1]));
            run(storage, out, Arrays.copyOfRange(args, 2, args.length));
        } catch (Throwable t) {
            t.printStackTrace();
            out.println("error: " + t.getClass().getName() + ": " + t.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    static Map<String, String> load(String file) throws Exception {
        Properties props = new Properties();
        try (InputStream in = new FileInputStream(file)) {
            props.load(in);
        }
        Map<String, String> map = new HashMap<>();
        for (String key : props.stringPropertyNames()) {
            map.put(key, props.getProperty(key));
        }
        return map;
    }

    /** The plugin whose {@code factoryIdentifier()} is {@code type}, created from {@code config}. */
    public static CheckpointStorage create(String type, Map<String, String> config) throws Exception {
        List<String> found = new ArrayList<>();
        for (CheckpointStorageFactory factory : ServiceLoader.load(CheckpointStorageFactory.class)) {
            found.add(factory.factoryIdentifier());
            if (factory.factoryIdentifier().equals(type)) {
                return factory.create(config);
            }
        }
        throw new IllegalArgumentException("no checkpoint storage factory '" + type + "' on the class path; found " + found);
    }

    static void run(CheckpointStorage s, PrintStream out, String[] a) throws Exception {
        switch (a[0]) {
            case "store": {
                byte[] states = Files.readAllBytes(Paths.get(a[4]));
                out.println("stored " + s.storeCheckPoint(state(a[1], a[2], a[3], states)));
                break;
            }
            case "store-null":
                out.println("stored " + s.storeCheckPoint(state(a[1], a[2], a[3], null)));
                break;
            case "latest": print(out, s.getLatestCheckpointByJobIdAndPipelineId(a[1], a[2])); break;
            case "get": print(out, s.getCheckpoint(a[1], a[2], a[3])); break;
            case "all": printAll(out, s.getAllCheckpoints(a[1])); break;
            case "latest-all": printAll(out, s.getLatestCheckpoint(a[1])); break;
            case "pipeline": printAll(out, s.getCheckpointsByJobIdAndPipelineId(a[1], a[2])); break;
            case "delete": s.deleteCheckpoint(a[1], a[2], Arrays.asList(a[3].split(","))); out.println("deleted"); break;
            case "delete-job": s.deleteCheckpoint(a[1]); out.println("deleted"); break;
            default: throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    static PipelineState state(String job, String pipeline, String checkpoint, byte[] states) {
        return PipelineState.builder().jobId(job).pipelineId(Integer.parseInt(pipeline))
                .checkpointId(Long.parseLong(checkpoint)).states(states).build();
    }

    static void printAll(PrintStream out, List<PipelineState> states) throws Exception {
        if (states == null || states.isEmpty()) {
            out.println("none");
            return;
        }
        for (PipelineState st : states) print(out, st);
    }

    static void print(PrintStream out, PipelineState st) throws Exception {
        if (st == null) {
            out.println("none");
            return;
        }
        byte[] b = st.getStates();
        String digest = b == null ? "null -" : b.length + " " + sha256(b);
        out.println("state " + st.getJobId() + " " + st.getPipelineId() + " " + st.getCheckpointId() + " " + digest);
    }

    /** Lower-case hex SHA-256 of {@code b}. */
    public static String sha256(byte[] b) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (byte x : MessageDigest.getInstance("SHA-256").digest(b)) sb.append(String.format("%02x", x));
        return sb.toString();
    }
}
