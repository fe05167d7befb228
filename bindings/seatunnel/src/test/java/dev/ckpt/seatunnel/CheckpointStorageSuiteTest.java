package dev.ckpt.seatunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorageFactory;
import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CheckpointStorage interface, run against the {@code ckpt} plugin and SeaTunnel's own
 * {@code hdfs} plugin 2.3.8 (with its Hadoop 3.1.4 client) on local disk, both found by the
 * engine's discovery (ServiceLoader + factoryIdentifier) and created from the same
 * plugin-config: every operation gives the same answer, except ckpt's improvements, which are
 * asserted one by one.
 */
class CheckpointStorageSuiteTest {
    @TempDir Path dir;

    /**
     * The hdfs plugin's namespace. Its factory hands out one storage per JVM (the first
     * create's plugin-config wins), so every test shares this one, with its own job ids.
     */
    private static Path hdfsNamespace;

    @BeforeAll
    static void hdfsNamespace() throws IOException {
        hdfsNamespace = Files.createTempDirectory("ckpt-suite-hdfs-");
    }

    @AfterAll
    static void removeHdfsNamespace() throws IOException {
        try (Stream<Path> s = Files.walk(hdfsNamespace)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(p);
            }
        }
    }

    static Map<String, String> hdfsConfig() {
        Map<String, String> config = new HashMap<>();
        config.put("storage.type", "hdfs");
        config.put("fs.defaultFS", "file:///");
        config.put("namespace", hdfsNamespace.toAbsolutePath() + "/");
        return config;
    }

    /** The plugin-config of the hdfs plugin on local disk; ckpt takes it unchanged. */
    private Map<String, String> localConfig(String name) throws IOException {
        Path ns = Files.createDirectories(dir.resolve(name));
        Map<String, String> config = new HashMap<>();
        config.put("storage.type", "hdfs");
        config.put("fs.defaultFS", "file:///");
        config.put("namespace", ns.toAbsolutePath() + "/");
        return config;
    }

    /** As the engine does it: the factory whose identifier is seatunnel.yaml's type. */
    static CheckpointStorage create(String type, Map<String, String> config) throws Exception {
        List<String> found = new ArrayList<>();
        for (CheckpointStorageFactory f : ServiceLoader.load(CheckpointStorageFactory.class)) {
            found.add(f.factoryIdentifier());
            if (f.factoryIdentifier().equals(type)) {
                // A copy: the hdfs plugin removes the keys it reads from the map it is given.
                return f.create(new HashMap<>(config));
            }
        }
        throw new AssertionError("no factory " + type + " on the class path; found " + found);
    }

    static PipelineState state(String job, int pipeline, long checkpoint, String payload) {
        return PipelineState.builder().jobId(job).pipelineId(pipeline).checkpointId(checkpoint)
                .states(payload.getBytes(StandardCharsets.UTF_8)).build();
    }

    static String describe(PipelineState s) {
        if (s == null) {
            return "null";
        }
        return s.getJobId() + "/" + s.getPipelineId() + "/" + s.getCheckpointId() + "="
                + (s.getStates() == null ? "null" : new String(s.getStates(), StandardCharsets.UTF_8));
    }

    static String describe(List<PipelineState> states) {
        if (states == null) {
            return "null";
        }
        // Listing order is the file system's on both sides: compare as sets.
        return states.stream().map(CheckpointStorageSuiteTest::describe).sorted()
                .collect(Collectors.joining(", ", "[", "]"));
    }

    interface Op {
        Object run() throws Exception;
    }

    static String outcome(Op op) {
        try {
            Object v = op.run();
            if (v instanceof PipelineState) {
                return describe((PipelineState) v);
            }
            if (v instanceof List) {
                @SuppressWarnings("unchecked")
                List<PipelineState> l = (List<PipelineState>) v;
                return describe(l);
            }
            return String.valueOf(v);
        } catch (Exception e) {
            return "threw " + e.getClass().getSimpleName();
        }
    }

    /** The checkpoint files under a namespace, without the timestamp of their names. */
    static List<String> files(Path ns) throws IOException {
        if (!Files.isDirectory(ns)) {
            return Collections.emptyList();
        }
        try (Stream<Path> s = Files.walk(ns)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .map(p -> ns.relativize(p).toString().replaceFirst("(^|/)\\d+-\\d+-", "$1<ts>-<random>-"))
                    .sorted().collect(Collectors.toList());
        }
    }

    /** What storeCheckPoint returned, without the time stamp and random part of the name. */
    static String stored(String name) {
        return name == null ? "null" : name.replaceFirst("^\\d+-\\d+-", "<ts>-<random>-");
    }

    static PipelineState awaitLatest(CheckpointStorage s, String job, String pipeline, long id)
            throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            try {
                PipelineState st = s.getLatestCheckpointByJobIdAndPipelineId(job, pipeline);
                if (st != null && st.getCheckpointId() == id) {
                    return st;
                }
            } catch (CheckpointStorageException e) {
                // not there yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("async store of " + job + "/" + pipeline + "/" + id
                        + " never became visible");
            }
            Thread.sleep(20);
        }
    }

    /** Every operation of the interface, in an order the engine uses them, with its outcome. */
    List<String> transcript(CheckpointStorage s, Path namespace) throws Exception {
        List<String> t = new ArrayList<>();
        String job = "880022";
        Path ns = namespace.resolve(job);
        t.add("unknown job all: " + outcome(() -> s.getAllCheckpoints("404")));
        t.add("unknown job latest: " + outcome(() -> s.getLatestCheckpoint("404")));
        t.add("unknown job latest p1: "
                + outcome(() -> s.getLatestCheckpointByJobIdAndPipelineId("404", "1")));
        t.add("unknown job p1: " + outcome(() -> s.getCheckpointsByJobIdAndPipelineId("404", "1")));
        t.add("unknown job get: " + outcome(() -> s.getCheckpoint("404", "1", "1")));
        for (long c = 1; c <= 3; c++) {
            final long id = c;
            t.add("store 1/" + c + ": "
                    + outcome(() -> stored(s.storeCheckPoint(state(job, 1, id, "p1c" + id)))));
        }
        t.add("store 2/1: " + outcome(() -> stored(s.storeCheckPoint(state(job, 2, 1, "p2c1")))));
        t.add("files: " + files(ns));
        t.add("all: " + outcome(() -> s.getAllCheckpoints(job)));
        t.add("latest: " + outcome(() -> s.getLatestCheckpoint(job)));
        t.add("latest p1: " + outcome(() -> s.getLatestCheckpointByJobIdAndPipelineId(job, "1")));
        t.add("latest p3: " + outcome(() -> s.getLatestCheckpointByJobIdAndPipelineId(job, "3")));
        t.add("p1: " + outcome(() -> s.getCheckpointsByJobIdAndPipelineId(job, "1")));
        t.add("p3: " + outcome(() -> s.getCheckpointsByJobIdAndPipelineId(job, "3")));
        t.add("get 1/2: " + outcome(() -> s.getCheckpoint(job, "1", "2")));
        t.add("get 1/9: " + outcome(() -> s.getCheckpoint(job, "1", "9")));
        t.add("delete 1/1: " + outcome(() -> {
            s.deleteCheckpoint(job, "1", "1");
            return "ok";
        }));
        t.add("delete 1/[2]: " + outcome(() -> {
            s.deleteCheckpoint(job, "1", Collections.singletonList("2"));
            return "ok";
        }));
        t.add("p1 after deletes: " + outcome(() -> s.getCheckpointsByJobIdAndPipelineId(job, "1")));
        t.add("files after deletes: " + files(ns));
        t.add("async 1/4: " + outcome(() -> {
            s.asyncStoreCheckPoint(state(job, 1, 4, "p1c4"));
            return describe(awaitLatest(s, job, "1", 4));
        }));
        t.add("delete job: " + outcome(() -> {
            s.deleteCheckpoint(job);
            return "ok";
        }));
        t.add("all after delete job: " + outcome(() -> s.getAllCheckpoints(job)));
        t.add("files after delete job: " + files(ns));
        return t;
    }

    @Test
    void bothPluginsBehaveTheSame() throws Exception {
        Map<String, String> ckptConfig = localConfig("ckpt");
        CheckpointStorage hdfs = create("hdfs", hdfsConfig());
        List<String> expected = transcript(hdfs, hdfsNamespace);
        try (CkptCheckpointStorage ckpt = (CkptCheckpointStorage) create("ckpt", ckptConfig)) {
            List<String> actual = transcript(ckpt, Paths.get(ckptConfig.get("namespace")));
            assertEquals(String.join("\n", expected), String.join("\n", actual));
        }
    }

    /** The same namespace, written by one plugin and read by the other, both ways. */
    @Test
    void eachReadsWhatTheOtherWrote() throws Exception {
        Map<String, String> config = hdfsConfig();
        CheckpointStorage hdfs = create("hdfs", config);
        try (CkptCheckpointStorage ckpt = (CkptCheckpointStorage) create("ckpt", config)) {
            byte[] big = new byte[1 << 20];
            new java.util.Random(7).nextBytes(big);
            PipelineState fromJava = PipelineState.builder().jobId("7").pipelineId(1)
                    .checkpointId(1).states(big).build();
            hdfs.storeCheckPoint(fromJava);
            PipelineState read = ckpt.getCheckpoint("7", "1", "1");
            assertArrayEquals(big, read.getStates());
            ckpt.storeCheckPoint(state("7", 1, 2, "from ckpt"));
            assertEquals("7/1/2=from ckpt",
                    describe(hdfs.getLatestCheckpointByJobIdAndPipelineId("7", "1")));
            assertEquals(describe(hdfs.getAllCheckpoints("7")), describe(ckpt.getAllCheckpoints("7")));
        }
    }

    /**
     * Improvement: the newest checkpoint file of a pipeline is corrupt (a torn write, a bad
     * disk block). The hdfs plugin fails the restore; ckpt restores the previous checkpoint.
     */
    @Test
    void corruptNewestCheckpointFallsBackOnlyWithCkpt() throws Exception {
        for (String type : Arrays.asList("hdfs", "ckpt")) {
            Map<String, String> config =
                    type.equals("hdfs") ? hdfsConfig() : localConfig("corrupt-" + type);
            CheckpointStorage s = create(type, config);
            s.storeCheckPoint(state("5", 1, 1, "older"));
            s.storeCheckPoint(state("5", 1, 2, "newest"));
            Path ns = Paths.get(config.get("namespace"));
            Path newest;
            try (Stream<Path> files = Files.list(ns.resolve("5"))) {
                newest = files.filter(p -> p.getFileName().toString().endsWith("-1-2.ser"))
                        .findFirst().orElseThrow(() -> new AssertionError("no file of 5/1/2"));
            }
            Files.write(newest, new byte[] {(byte) 0xff, 0x13, 0x37, 0x00, 0x7f});
            // Hadoop's local file system keeps a .crc beside each file: drop it, as a copied
            // or rewritten namespace has none, so the Java side sees the corrupt bytes.
            Files.deleteIfExists(newest.resolveSibling("." + newest.getFileName() + ".crc"));
            if (type.equals("hdfs")) {
                assertThrows(Exception.class,
                        () -> s.getLatestCheckpointByJobIdAndPipelineId("5", "1"));
            } else {
                assertEquals("5/1/1=older",
                        describe(s.getLatestCheckpointByJobIdAndPipelineId("5", "1")));
                assertEquals("[5/1/1=older]", describe(s.getLatestCheckpoint("5")));
                ((CkptCheckpointStorage) s).close();
            }
        }
    }

    /**
     * Improvement: the hdfs plugin's factory returns one storage per JVM, whatever the
     * plugin-config of later creates; every ckpt storage uses its own plugin-config.
     */
    @Test
    void eachCkptStorageKeepsItsOwnNamespace() throws Exception {
        Map<String, String> other = localConfig("other-hdfs");
        create("hdfs", hdfsConfig());
        CheckpointStorage second = create("hdfs", other);
        second.storeCheckPoint(state("61", 1, 1, "x"));
        assertTrue(Files.isDirectory(hdfsNamespace.resolve("61")), "hdfs wrote to its first namespace");
        assertEquals(Collections.emptyList(), files(Paths.get(other.get("namespace"))));
        second.deleteCheckpoint("61");

        Map<String, String> a = localConfig("ckpt-a");
        Map<String, String> b = localConfig("ckpt-b");
        try (CkptCheckpointStorage first = (CkptCheckpointStorage) create("ckpt", a);
                CkptCheckpointStorage then = (CkptCheckpointStorage) create("ckpt", b)) {
            first.storeCheckPoint(state("62", 1, 1, "a"));
            then.storeCheckPoint(state("62", 1, 1, "b"));
            assertEquals("62/1/1=a", describe(first.getCheckpoint("62", "1", "1")));
            assertEquals("62/1/1=b", describe(then.getCheckpoint("62", "1", "1")));
        }
    }

    @Test
    void configurationErrorsCarryCkptsMessage() throws Exception {
        Map<String, String> config = localConfig("bad");
        config.put("storage.type", "ftp");
        CheckpointStorageException e =
                assertThrows(CheckpointStorageException.class, () -> create("ckpt", config));
        assertNotNull(e.getMessage());
        assertTrue(e.getMessage().contains("ftp"), e.getMessage());
    }

    @Test
    void aRustPanicArrivesAsAnException() throws Exception {
        NativeLoader.load();
        CheckpointStorageException e =
                assertThrows(CheckpointStorageException.class, NativeStorage::panicForTest);
        assertTrue(e.getMessage().contains("panicked"), e.getMessage());
        // The JVM and the library are still fine afterwards.
        try (CkptCheckpointStorage s = new CkptCheckpointStorage(localConfig("after-panic"))) {
            s.storeCheckPoint(state("1", 1, 1, "alive"));
            assertEquals("1/1/1=alive", describe(s.getCheckpoint("1", "1", "1")));
        }
    }

    @Test
    void aClosedStorageThrows() throws Exception {
        CkptCheckpointStorage s = new CkptCheckpointStorage(localConfig("closed"));
        s.close();
        s.close();
        CheckpointStorageException e = assertThrows(CheckpointStorageException.class,
                () -> s.storeCheckPoint(state("1", 1, 1, "x")));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void badIdsAreStorageExceptions() throws Exception {
        try (CkptCheckpointStorage s = new CkptCheckpointStorage(localConfig("ids"))) {
            assertThrows(CheckpointStorageException.class, () -> s.getCheckpoint("1", "x", "1"));
            assertThrows(CheckpointStorageException.class, () -> s.getCheckpoint("1", "1", "y"));
        }
    }

    @Test
    void otherPlatformsAreNamed() {
        assertEquals("linux-x86_64", NativeLoader.platform("Linux", "amd64"));
        String message = NativeLoader.unsupported(NativeLoader.platform("Mac OS X", "aarch64"));
        assertTrue(message.contains("mac os x-aarch64"), message);
        assertTrue(message.contains(NativeLoader.PROPERTY), message);
    }

    static String sha(byte[] b) throws Exception {
        return new java.math.BigInteger(1, MessageDigest.getInstance("SHA-256").digest(b)).toString(16);
    }
}
