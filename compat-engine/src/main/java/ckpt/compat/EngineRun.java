package ckpt.compat;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.instance.impl.HazelcastInstanceFactory;

import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorageFactory;
import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;
import org.apache.seatunnel.engine.client.SeaTunnelClient;
import org.apache.seatunnel.engine.client.job.ClientJobExecutionEnvironment;
import org.apache.seatunnel.engine.client.job.ClientJobProxy;
import org.apache.seatunnel.engine.common.config.ConfigProvider;
import org.apache.seatunnel.engine.common.config.EngineConfig;
import org.apache.seatunnel.engine.common.config.JobConfig;
import org.apache.seatunnel.engine.common.config.SeaTunnelConfig;
import org.apache.seatunnel.engine.common.runtime.ExecutionMode;
import org.apache.seatunnel.engine.core.job.JobResult;
import org.apache.seatunnel.engine.core.job.JobStatus;
import org.apache.seatunnel.engine.serializer.protobuf.ProtoStuffSerializer;
import org.apache.seatunnel.engine.server.SeaTunnelNodeContext;
import org.apache.seatunnel.engine.server.checkpoint.CompletedCheckpoint;

/**
 * SeaTunnel's Zeta engine 2.3.8 embedded in local mode, as {@code seatunnel.sh -m local} runs it:
 * one Hazelcast member (master and worker, bound to 127.0.0.1) plus a SeaTunnelClient connected to
 * it. The job is a streaming FakeSource -> Console with a fixed job id; its checkpoints go through
 * the engine's configured checkpoint storage (the {@code hdfs} plugin, found on the class path).
 *
 * <pre>
 * engine-run MODE WORK_DIR JOB_ID NAMESPACE DEFAULT_FS [KEY=VALUE...]
 *   run N       submits the job, waits until pipeline 1 has a completed checkpoint with id >= N on
 *               storage, prints a JSON line and halts the JVM (a crash: a cancel would delete the
 *               checkpoints)
 *   restore     restores the job JOB_ID from its latest checkpoint; once the job runs and has
 *               completed a new checkpoint, prints a JSON line (the checkpoint the storage offered,
 *               the engine's first new checkpoint) and halts; when the job fails instead, prints
 *               the engine's error and exits 1 (status SUBMIT_FAILED when the engine refuses the
 *               restore at submission, as it does for an unreadable latest checkpoint)
 * </pre>
 * KEY=VALUE pairs are extra plugin-config entries (e.g. hdfs_site_path=...). The configuration
 * files (seatunnel.yaml, hazelcast.yaml, the job's HOCON, log4j2.properties) are written into
 * WORK_DIR and loaded through the engine's own ConfigProvider. Exit code 2: timeout.
 */
public final class EngineRun {
    static final String PIPELINE = "1";
    static final long TIMEOUT_MS = 120_000;

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8.name());
        // The Console sink prints rows on System.out: keep stdout for our JSON lines.
        System.setOut(System.err);
        if (args.length < 5) {
            System.err.println("usage: engine-run run N|restore WORK_DIR JOB_ID NAMESPACE DEFAULT_FS [KEY=VALUE...]");
            System.exit(2);
        }
        String mode = args[0];
        int i = 1;
        long target = 0;
        if (mode.equals("run")) {
            target = Long.parseLong(args[i++]);
        } else if (!mode.equals("restore")) {
            System.err.println("unknown mode " + mode);
            System.exit(2);
        }
        Path work = Paths.get(args[i++]).toAbsolutePath();
        long jobId = Long.parseLong(args[i++]);
        Map<String, String> plugin = new LinkedHashMap<>();
        plugin.put("storage.type", "hdfs");
        plugin.put("namespace", args[i++]);
        plugin.put("fs.defaultFS", args[i++]);
        for (; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            plugin.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        try {
            run(out, mode, target, work, jobId, plugin);
        } catch (JobEnded e) {
            out.println("{\"mode\":\"" + mode + "\",\"job\":" + jobId + ",\"status\":\"" + e.result.getStatus()
                    + "\",\"error\":" + json(e.result.getError()) + "}");
            out.flush();
            Runtime.getRuntime().halt(1);
        } catch (Timeout e) {
            out.println("{\"mode\":\"" + mode + "\",\"job\":" + jobId + ",\"status\":\"TIMEOUT\",\"error\":"
                    + json(e.getMessage()) + "}");
            out.flush();
            Runtime.getRuntime().halt(2);
        } catch (Throwable t) {
            t.printStackTrace();
            out.println("{\"mode\":\"" + mode + "\",\"job\":" + jobId + ",\"status\":\"HARNESS_ERROR\",\"error\":"
                    + json(t.toString()) + "}");
            out.flush();
            Runtime.getRuntime().halt(3);
        }
        // Never a clean shutdown: the member's threads would keep the JVM, and a client shutdown
        // hook could cancel the job (which deletes its checkpoints).
        Runtime.getRuntime().halt(0);
    }

    static void run(PrintStream out, String mode, long target, Path work, long jobId, Map<String, String> plugin)
            throws Exception {
        Path jobFile = writeConfig(work, plugin);
        SeaTunnelConfig config = ConfigProvider.locateAndGetSeaTunnelConfig();
        String clusterName = "ckpt-compat-" + ProcessHandle.current().pid();
        config.getHazelcastConfig().setClusterName(clusterName);
        // What ClientExecuteCommand does for -m local.
        config.getEngineConfig().setClusterRole(EngineConfig.ClusterRole.MASTER_AND_WORKER);
        config.getEngineConfig().setMode(ExecutionMode.LOCAL);
        config.getHazelcastConfig().getNetworkConfig().setPortAutoIncrement(true);
        HazelcastInstance member = HazelcastInstanceFactory.newHazelcastInstance(
                config.getHazelcastConfig(), Thread.currentThread().getName(), new SeaTunnelNodeContext(config));
        int port = member.getCluster().getLocalMember().getSocketAddress().getPort();
        ClientConfig clientConfig = ConfigProvider.locateAndGetClientConfig();
        clientConfig.setClusterName(clusterName);
        clientConfig.getNetworkConfig().setAddresses(List.of("127.0.0.1:" + port));
        SeaTunnelClient client = new SeaTunnelClient(clientConfig);

        // The same plugin, built from the same plugin-config, to watch what the engine stored.
        CheckpointStorage storage = storage(config.getEngineConfig().getCheckpointConfig().getStorage().getStorage(),
                config.getEngineConfig().getCheckpointConfig().getStorage().getStoragePluginConfig());
        JobConfig jobConfig = new JobConfig();
        jobConfig.setName("ckpt-compat-" + jobId);
        if (mode.equals("run")) {
            ClientJobExecutionEnvironment env =
                    client.createExecutionContext(jobFile.toString(), null, jobConfig, config, jobId);
            ClientJobProxy job = env.execute();
            CompletableFuture<JobResult> done = CompletableFuture.supplyAsync(job::waitForJobCompleteV2);
            PipelineState latest = waitForCheckpoint(storage, jobId, target - 1, done);
            out.println("{\"mode\":\"run\",\"job\":" + jobId + ",\"status\":\"" + job.getJobStatus()
                    + "\",\"port\":" + port + ",\"latest\":" + latest.getCheckpointId() + "}");
            out.flush();
            return;
        }
        // What the engine's restore will be offered: the plugin's latest of pipeline 1, and the
        // id of the CompletedCheckpoint inside its states (the engine deserializes it the same way).
        long offeredId = -1;
        String offered = "null";
        try {
            PipelineState state = storage.getLatestCheckpointByJobIdAndPipelineId(String.valueOf(jobId), PIPELINE);
            if (state != null) {
                offeredId = state.getCheckpointId();
                CompletedCheckpoint inner = new ProtoStuffSerializer().deserialize(state.getStates(), CompletedCheckpoint.class);
                offered = "{\"checkpoint\":" + offeredId + ",\"inner_checkpoint\":" + inner.getCheckpointId() + "}";
            }
        } catch (Exception e) {
            offered = "{\"error\":" + json(e.toString()) + "}";
        }
        ClientJobExecutionEnvironment env =
                client.restoreExecutionContext(jobFile.toString(), null, jobConfig, config, jobId);
        ClientJobProxy job;
        try {
            job = env.execute();
        } catch (Exception e) {
            // The engine refused the restore when the job was submitted (its coordinator reads the
            // latest checkpoint then).
            e.printStackTrace();
            out.println("{\"mode\":\"restore\",\"job\":" + jobId + ",\"status\":\"SUBMIT_FAILED\",\"offered\":"
                    + offered + ",\"error\":" + json(firstLines(e)) + "}");
            out.flush();
            Runtime.getRuntime().halt(1);
            return;
        }
        CompletableFuture<JobResult> done = CompletableFuture.supplyAsync(job::waitForJobCompleteV2);
        PipelineState next;
        try {
            next = waitForCheckpoint(storage, jobId, offeredId, done);
        } catch (JobEnded e) {
            out.println("{\"mode\":\"restore\",\"job\":" + jobId + ",\"status\":\"" + e.result.getStatus()
                    + "\",\"offered\":" + offered + ",\"error\":" + json(e.result.getError()) + "}");
            out.flush();
            Runtime.getRuntime().halt(1);
            return;
        }
        out.println("{\"mode\":\"restore\",\"job\":" + jobId + ",\"status\":\"" + job.getJobStatus()
                + "\",\"offered\":" + offered + ",\"first_new\":" + next.getCheckpointId() + "}");
        out.flush();
    }

    /** Polls the storage (as the engine itself reads it) for a checkpoint of pipeline 1 newer than {@code after}. */
    static PipelineState waitForCheckpoint(CheckpointStorage storage, long jobId, long after,
            CompletableFuture<JobResult> done) throws Exception {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (done.isDone()) {
                throw new JobEnded(done.get());
            }
            try {
                PipelineState latest = storage.getLatestCheckpointByJobIdAndPipelineId(String.valueOf(jobId), PIPELINE);
                if (latest != null && latest.getCheckpointId() > after) {
                    return latest;
                }
            } catch (CheckpointStorageException unreadable) {
                // A corrupted newest file: the job's own restore meets it too; wait for its verdict.
            }
            try {
                JobResult result = done.get(200, TimeUnit.MILLISECONDS);
                throw new JobEnded(result);
            } catch (java.util.concurrent.TimeoutException stillRunning) {
                // keep polling
            }
        }
        throw new Timeout("no checkpoint after " + after + " of job " + jobId + " within " + TIMEOUT_MS + " ms");
    }

    static CheckpointStorage storage(String type, Map<String, String> config) throws Exception {
        List<String> found = new ArrayList<>();
        for (CheckpointStorageFactory factory : ServiceLoader.load(CheckpointStorageFactory.class)) {
            found.add(factory.factoryIdentifier());
            if (factory.factoryIdentifier().equals(type)) {
                return factory.create(config);
            }
        }
        throw new IllegalArgumentException("no checkpoint storage factory '" + type + "'; found " + found);
    }

    /** Writes the engine's, Hazelcast's, the job's and log4j2's configuration; returns the job file. */
    static Path writeConfig(Path work, Map<String, String> plugin) throws Exception {
        Files.createDirectories(work);
        StringBuilder pluginYaml = new StringBuilder();
        for (Map.Entry<String, String> e : plugin.entrySet()) {
            pluginYaml.append("          ").append(e.getKey()).append(": ").append(yaml(e.getValue())).append('\n');
        }
        Path seatunnel = work.resolve("seatunnel.yaml");
        Files.writeString(seatunnel, String.join("\n",
                "seatunnel:",
                "  engine:",
                "    backup-count: 1",
                "    queue-type: blockingqueue",
                "    print-execution-info-interval: 60",
                "    slot-service:",
                "      dynamic-slot: true",
                "    checkpoint:",
                "      interval: 2000",
                "      timeout: 30000",
                "      storage:",
                "        type: hdfs",
                "        max-retained: 3",
                "        plugin-config:",
                pluginYaml.toString(),
                "    telemetry:",
                "      metric:",
                "        enabled: false",
                ""));
        Path hazelcast = work.resolve("hazelcast.yaml");
        Files.writeString(hazelcast, String.join("\n",
                "hazelcast:",
                "  cluster-name: ckpt-compat",
                "  network:",
                "    interfaces:",
                "      enabled: true",
                "      interfaces:",
                "        - 127.0.0.1",
                "    join:",
                "      multicast:",
                "        enabled: false",
                "      tcp-ip:",
                "        enabled: true",
                "        member-list:",
                "          - 127.0.0.1",
                "    port:",
                "      auto-increment: true",
                "      port-count: 100",
                "      port: 5801",
                "  properties:",
                "    hazelcast.local.localAddress: 127.0.0.1",
                // Without these Hazelcast listens on 0.0.0.0 whatever the interfaces say.
                "    hazelcast.socket.bind.any: false",
                "    hazelcast.socket.client.bind.any: false",
                "    hazelcast.phone.home.enabled: false",
                "    hazelcast.logging.type: log4j2",
                "    hazelcast.invocation.max.retry.count: 20",
                "    hazelcast.tcp.join.port.try.count: 30",
                ""));
        Path client = work.resolve("hazelcast-client.yaml");
        Files.writeString(client, String.join("\n",
                "hazelcast-client:",
                "  cluster-name: ckpt-compat",
                "  properties:",
                "    hazelcast.logging.type: log4j2",
                "  network:",
                "    cluster-members:",
                "      - 127.0.0.1:5801",
                ""));
        Path job = work.resolve("job.conf");
        Files.writeString(job, String.join("\n",
                "env {",
                "  parallelism = 1",
                "  job.mode = \"STREAMING\"",
                "  checkpoint.interval = 2000",
                "}",
                "source {",
                "  FakeSource {",
                "    row.num = 5",
                "    split.num = 1",
                "    schema = { fields { id = \"bigint\", name = \"string\" } }",
                "  }",
                "}",
                "sink {",
                "  Console {}",
                "}",
                ""));
        Path log4j = work.resolve("log4j2.properties");
        Files.writeString(log4j, String.join("\n",
                "status = warn",
                "appender.err.type = Console",
                "appender.err.name = err",
                "appender.err.target = SYSTEM_ERR",
                "appender.err.layout.type = PatternLayout",
                "appender.err.layout.pattern = %d{HH:mm:ss.SSS} %-5p [%c{1}] %m%n",
                "rootLogger.level = warn",
                "rootLogger.appenderRef.err.ref = err",
                "logger.ckpt.name = org.apache.seatunnel.engine.server.checkpoint",
                "logger.ckpt.level = info",
                ""));
        Files.createDirectories(work.resolve("connectors"));
        System.setProperty("seatunnel.home", work.toString());
        System.setProperty("SEATUNNEL_HOME", work.toString());
        System.setProperty("seatunnel.config", seatunnel.toString());
        System.setProperty("hazelcast.config", hazelcast.toString());
        System.setProperty("hazelcast.client.config", client.toString());
        System.setProperty("log4j2.configurationFile", log4j.toString());
        return job;
    }

    /** The first line of each message in the cause chain. */
    static String firstLines(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            int nl = m.indexOf('\n');
            sb.append(sb.length() == 0 ? "" : " <- ").append(c.getClass().getSimpleName()).append(": ")
                    .append(nl < 0 ? m : m.substring(0, nl));
            if (c.getCause() == c) {
                break;
            }
        }
        return sb.toString();
    }

    static String yaml(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    static final class JobEnded extends Exception {
        final JobResult result;

        JobEnded(JobResult result) {
            super("job ended: " + result.getStatus());
            this.result = result;
        }
    }

    static final class Timeout extends Exception {
        Timeout(String message) {
            super(message);
        }
    }
}
