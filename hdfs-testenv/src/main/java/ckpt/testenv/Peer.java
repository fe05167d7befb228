package ckpt.testenv;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.seatunnel.engine.checkpoint.storage.PipelineState;
import org.apache.seatunnel.engine.serializer.protobuf.ProtoStuffSerializer;

/**
 * Java peer for compatibility tests, built on SeaTunnel's own classes (checkpoint-storage-api's
 * PipelineState and serializer-protobuf's ProtoStuffSerializer, the serializer that
 * AbstractCheckpointStorage and so the hdfs plugin use) and Hadoop's FileSystem client.
 *
 * <pre>
 * peer encode JOB_ID PIPELINE_ID CHECKPOINT_ID STATES_FILE OUT_FILE
 * peer decode FILE
 * peer fs-smoke CONF_DIR
 * peer fs-put CONF_DIR LOCAL_FILE HDFS_PATH
 * peer fs-get CONF_DIR HDFS_PATH LOCAL_FILE
 * </pre>
 * Results go to stdout; Hadoop logging to stderr. Exit 1 with the exception on stderr on failure.
 */
public final class Peer {
    private static PrintStream out;

    public static void main(String[] args) {
        out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        try {
            if (args.length == 0) usage();
            switch (args[0]) {
                case "encode": need(args, 6); encode(args[1], Integer.parseInt(args[2]), Long.parseLong(args[3]),
                        Path.of(args[4]), Path.of(args[5])); break;
                case "decode": need(args, 2); decode(Path.of(args[1])); break;
                case "fs-smoke": need(args, 2); fsSmoke(Path.of(args[1])); break;
                case "fs-put": need(args, 4); fsPut(Path.of(args[1]), Path.of(args[2]), args[3]); break;
                case "fs-get": need(args, 4); fsGet(Path.of(args[1]), args[2], Path.of(args[3])); break;
                default: usage();
            }
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static void need(String[] a, int n) {
        if (a.length != n) usage();
    }

    private static void usage() {
        System.err.println("usage: peer encode JOB_ID PIPELINE_ID CHECKPOINT_ID STATES_FILE OUT_FILE\n"
                + "       peer decode FILE\n"
                + "       peer fs-smoke CONF_DIR\n"
                + "       peer fs-put CONF_DIR LOCAL_FILE HDFS_PATH\n"
                + "       peer fs-get CONF_DIR HDFS_PATH LOCAL_FILE");
        System.exit(2);
    }

    // ------------------------------------------------------------------ codec

    static void encode(String jobId, int pipelineId, long checkpointId, Path statesFile, Path outFile)
            throws IOException {
        byte[] states = Files.readAllBytes(statesFile);
        PipelineState st = PipelineState.builder().jobId(jobId).pipelineId(pipelineId).checkpointId(checkpointId)
                .states(states).build();
        byte[] bytes = new ProtoStuffSerializer().serialize(st);
        Files.write(outFile, bytes);
        out.println("{\"bytes\":" + bytes.length + ",\"hex\":\"" + HexFormat.of().formatHex(bytes) + "\"}");
    }

    static void decode(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        PipelineState st = new ProtoStuffSerializer().deserialize(bytes, PipelineState.class);
        byte[] states = st.getStates();
        out.println("{\"jobId\":" + MiniCluster.q(st.getJobId())
                + ",\"pipelineId\":" + st.getPipelineId()
                + ",\"checkpointId\":" + st.getCheckpointId()
                + ",\"statesLen\":" + (states == null ? "null" : Integer.toString(states.length))
                + ",\"statesSha256\":" + (states == null ? "null" : "\"" + sha256(states) + "\"")
                + "}");
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    // ------------------------------------------------------------------ Hadoop FileSystem client

    /** Loads CONF_DIR's core-site.xml/hdfs-site.xml; in Kerberos mode logs in from the client keytab. */
    static FileSystem fileSystem(Path confDir) throws Exception {
        Configuration conf = new Configuration(false);
        conf.addResource(new org.apache.hadoop.fs.Path(confDir.resolve("core-site.xml").toUri()));
        conf.addResource(new org.apache.hadoop.fs.Path(confDir.resolve("hdfs-site.xml").toUri()));
        Configuration full = new Configuration();
        for (java.util.Map.Entry<String, String> e : conf) full.set(e.getKey(), e.getValue());
        // a fresh, non-cached FileSystem each run
        full.setBoolean("fs.hdfs.impl.disable.cache", true);
        if ("kerberos".equals(full.get("hadoop.security.authentication"))) {
            String info = Files.readString(confDir.resolve("info.json"));
            System.setProperty("java.security.krb5.conf", confDir.resolve("krb5.conf").toString());
            UserGroupInformation.setConfiguration(full);
            UserGroupInformation.loginUserFromKeytab(jsonString(info, "clientPrincipal"), jsonString(info, "keytab"));
        } else {
            UserGroupInformation.setConfiguration(full);
        }
        return FileSystem.get(full);
    }

    static String jsonString(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        if (!m.find()) throw new IllegalArgumentException("no " + key + " in info.json");
        return m.group(1);
    }

    static void fsSmoke(Path confDir) throws Exception {
        long t0 = System.nanoTime();
        try (FileSystem fs = fileSystem(confDir)) {
            UserGroupInformation ugi = UserGroupInformation.getCurrentUser();
            byte[] data = new byte[3 * 1024 * 1024 + 17];
            new java.util.Random(42).nextBytes(data);
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path("/ckpt/smoke-" + System.nanoTime() + ".bin");
            try (FSDataOutputStream o = fs.create(p, false)) {
                o.write(data);
            }
            byte[] back;
            try (FSDataInputStream i = fs.open(p)) {
                back = readAll(i);
            }
            if (!Arrays.equals(data, back)) throw new IOException("read back differs from what was written");
            long len = fs.getFileStatus(p).getLen();
            String owner = fs.getFileStatus(p).getOwner();
            fs.delete(p, false);
            String readonly;
            try (FSDataOutputStream o = fs.create(new org.apache.hadoop.fs.Path("/readonly/x"), false)) {
                readonly = "WRITABLE (unexpected)";
            } catch (AccessControlException e) {
                readonly = "permission denied (expected)";
            }
            String tgt = "";
            if (ugi.hasKerberosCredentials()) {
                java.lang.reflect.Method gs = UserGroupInformation.class.getDeclaredMethod("getSubject");
                gs.setAccessible(true);
                javax.security.auth.Subject subject = (javax.security.auth.Subject) gs.invoke(ugi);
                for (Object c : subject.getPrivateCredentials()) {
                    if (c instanceof javax.security.auth.kerberos.KerberosTicket) {
                        javax.security.auth.kerberos.KerberosTicket k = (javax.security.auth.kerberos.KerberosTicket) c;
                        if (k.getServer().getName().startsWith("krbtgt/")) {
                            tgt = ",\"tgtLifetimeSeconds\":"
                                    + (k.getEndTime().getTime() - k.getStartTime().getTime()) / 1000
                                    + ",\"tgtRenewTill\":" + MiniCluster.q(String.valueOf(k.getRenewTill()));
                        }
                    }
                }
            }
            out.println("{\"ok\":true,\"user\":" + MiniCluster.q(ugi.getUserName())
                    + ",\"auth\":" + MiniCluster.q(String.valueOf(ugi.getAuthenticationMethod()))
                    + ",\"wrote\":" + data.length + ",\"len\":" + len + ",\"owner\":" + MiniCluster.q(owner)
                    + ",\"readonly\":" + MiniCluster.q(readonly) + tgt
                    + ",\"seconds\":" + String.format("%.2f", (System.nanoTime() - t0) / 1e9) + "}");
        }
    }

    static void fsPut(Path confDir, Path local, String remote) throws Exception {
        byte[] data = Files.readAllBytes(local);
        try (FileSystem fs = fileSystem(confDir);
             FSDataOutputStream o = fs.create(new org.apache.hadoop.fs.Path(remote), true)) {
            o.write(data);
        }
        out.println("{\"ok\":true,\"bytes\":" + data.length + "}");
    }

    static void fsGet(Path confDir, String remote, Path local) throws Exception {
        byte[] data;
        try (FileSystem fs = fileSystem(confDir); FSDataInputStream i = fs.open(new org.apache.hadoop.fs.Path(remote))) {
            data = readAll(i);
        }
        Files.write(local, data);
        out.println("{\"ok\":true,\"bytes\":" + data.length + "}");
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        in.transferTo(b);
        return b.toByteArray();
    }

}
