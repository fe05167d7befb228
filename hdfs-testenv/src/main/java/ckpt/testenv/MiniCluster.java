package ckpt.testenv;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.protocol.HdfsConstants.SafeModeAction;
import org.apache.hadoop.hdfs.server.blockmanagement.BlockManager;
import org.apache.hadoop.hdfs.server.blockmanagement.BlockManagerTestUtil;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.hdfs.server.namenode.NameNode;
import org.apache.hadoop.minikdc.MiniKdc;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.ssl.KeyStoreTestUtil;

/**
 * Starts a MiniDFSCluster (optionally HA and/or Kerberized with a MiniKdc), writes the client-side
 * configuration into a directory, prints one READY line on stdout and then obeys line commands
 * read from stdin. See README.md.
 */
public final class MiniCluster {
    static final String NAMESERVICE = "ns1";
    static final String NN_PRINCIPAL_PRIMARY = "hdfs/localhost";
    static final String HTTP_PRINCIPAL_PRIMARY = "HTTP/localhost";
    static final String FAILOVER_PROVIDER =
            "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";

    // options
    private final String mode;
    private final boolean ha;
    private final boolean kerberos;
    private final Path dir;
    private String protection = "authentication";
    /** SASL on the data transfer protocol (off: DataNodes trusted as on privileged ports). */
    private boolean dnSasl = true;
    /** The client's way to the KDC (see kdc-down / kdc-up). */
    private KdcGate kdcGate;
    private long ticketLifetime = 120;
    private long renewLifetime = -1;
    private int numDataNodes = 3;
    private String clientUser;
    private String clientPrincipalPrimary = "client";
    /** dfs.namenode.heartbeat.recheck-interval: a DataNode is dead 2x this + 10 heartbeats after it stops. */
    private int heartbeatRecheckMs = 5000;

    // state
    private final PrintStream out;
    private MiniKdc kdc;
    private MiniDFSCluster cluster;
    private String realm;
    private String nnPrincipal;
    private String clientPrincipal;
    private final List<DataNode> dataNodes = new ArrayList<>();
    private final Map<Integer, MiniDFSCluster.DataNodeProperties> stoppedDataNodes = new LinkedHashMap<>();

    private MiniCluster(String mode, Path dir, PrintStream out) {
        this.mode = mode;
        this.dir = dir;
        this.out = out;
        switch (mode) {
            case "single": ha = false; kerberos = false; break;
            case "ha": ha = true; kerberos = false; break;
            case "kerberos": ha = false; kerberos = true; break;
            case "ha-kerberos": ha = true; kerberos = true; break;
            default: throw new IllegalArgumentException("unknown mode " + mode
                    + " (expected single|ha|kerberos|ha-kerberos)");
        }
    }

    public static void main(String[] args) throws Exception {
        // Keep stdout for the protocol only: everything else (Hadoop included) goes to stderr.
        PrintStream out = new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        System.setOut(System.err);
        if (args.length < 2) {
            System.err.println("usage: MiniCluster single|ha|kerberos|ha-kerberos DIR [--protection "
                    + "authentication|integrity|privacy] [--ticket-lifetime SECONDS] [--renew-lifetime SECONDS] "
                    + "[--datanodes N] [--client-user NAME] [--client-principal NAME] [--dn-sasl on|off] "
                    + "[--heartbeat-recheck-ms MS]");
            System.exit(2);
        }
        MiniCluster mc = new MiniCluster(args[0], Path.of(args[1]).toAbsolutePath(), out);
        for (int i = 2; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            if (v == null) throw new IllegalArgumentException("missing value for " + a);
            switch (a) {
                case "--protection": mc.protection = v; break;
                case "--ticket-lifetime": mc.ticketLifetime = Long.parseLong(v); break;
                case "--renew-lifetime": mc.renewLifetime = Long.parseLong(v); break;
                case "--datanodes": mc.numDataNodes = Integer.parseInt(v); break;
                case "--dn-sasl":
                    if (!List.of("on", "off").contains(v)) throw new IllegalArgumentException("bad --dn-sasl " + v);
                    mc.dnSasl = v.equals("on");
                    break;
                case "--client-user": mc.clientUser = v; break;
                case "--heartbeat-recheck-ms": mc.heartbeatRecheckMs = Integer.parseInt(v); break;
                case "--client-principal": mc.clientPrincipalPrimary = v; break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
            i++;
        }
        if (!List.of("authentication", "integrity", "privacy").contains(mc.protection)) {
            throw new IllegalArgumentException("bad --protection " + mc.protection);
        }
        int rc = 0;
        try {
            long t0 = System.nanoTime();
            mc.start();
            System.err.printf("hdfs-testenv: %s cluster up in %.1f s%n", mc.mode, (System.nanoTime() - t0) / 1e9);
            out.println("HDFS-TESTENV READY " + mc.dir.resolve("info.json"));
            mc.loop();
        } catch (Throwable t) {
            t.printStackTrace();
            rc = 1;
        } finally {
            mc.stop();
        }
        out.flush();
        System.err.flush();
        // halt: Hadoop's shutdown hooks could wait on threads of an already stopped cluster
        Runtime.getRuntime().halt(rc);
    }

    // ------------------------------------------------------------------ start-up

    private void start() throws Exception {
        Files.createDirectories(dir);
        for (String f : List.of("core-site.xml", "hdfs-site.xml", "krb5.conf", "client.keytab", "info.json")) {
            Files.deleteIfExists(dir.resolve(f));
        }
        File work = dir.resolve("work").toFile();
        FileUtil.fullyDelete(work);
        work.mkdirs();

        // Kerberos modes: keystores + ssl-server.xml/ssl-client.xml for HTTPS_ONLY. Hadoop loads the
        // xml files as class path resources, so their directory joins the context class loader (which
        // every Configuration made from now on, and every thread started from here, inherits).
        File ssl = dir.resolve(".ssl").toFile();
        FileUtil.fullyDelete(ssl);
        if (kerberos) {
            ssl.mkdirs();
            Thread.currentThread().setContextClassLoader(new java.net.URLClassLoader(
                    new java.net.URL[] {ssl.toURI().toURL()}, Thread.currentThread().getContextClassLoader()));
        }
        Configuration conf = new HdfsConfiguration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(work, "dfs").getAbsolutePath());
        conf.setBoolean("dfs.permissions.enabled", true);
        conf.set("hadoop.user.group.static.mapping.overrides", "dr.who=;hdfs=supergroup");
        conf.setInt("dfs.replication", Math.min(3, numDataNodes));
        conf.setLong("dfs.blocksize", 16L * 1024 * 1024);
        conf.setInt("dfs.namenode.safemode.extension", 0);
        // Notice dead DataNodes fast (kill-dn also marks them dead right away).
        conf.setLong("dfs.heartbeat.interval", 1);
        conf.setInt("dfs.namenode.heartbeat.recheck-interval", heartbeatRecheckMs);
        // Default placement, plus the pipeline-order / pipelines test controls.
        conf.set("dfs.block.replicator.classname",
                org.apache.hadoop.hdfs.server.blockmanagement.PipelineOrderForTests.class.getName());
        conf.setLong("dfs.namenode.stale.datanode.interval", 5000);
        // Give up on a killed NameNode quickly (DataNodes otherwise retry for long, which also
        // stalls their shutdown).
        conf.setInt("ipc.client.connect.max.retries", 2);
        conf.setInt("ipc.client.connect.retry.interval", 200);
        conf.setInt("ipc.client.connect.timeout", 2000);
        // Everything on loopback, ephemeral ports.
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.set("dfs.namenode.https-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.https.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        if (ha) {
            conf.set("dfs.ha.tail-edits.period", "1s");
            conf.set("dfs.ha.log-roll.period", "10s");
        }

        if (kerberos) {
            startKdc(work);
            File serverKeytab = new File(work, "hdfs.keytab");
            kdc.createPrincipal(serverKeytab, NN_PRINCIPAL_PRIMARY, HTTP_PRINCIPAL_PRIMARY);
            kdc.createPrincipal(dir.resolve("client.keytab").toFile(), clientPrincipalPrimary);
            realm = kdc.getRealm();
            nnPrincipal = NN_PRINCIPAL_PRIMARY + "@" + realm;
            clientPrincipal = clientPrincipalPrimary + "@" + realm;
            clientUser = clientPrincipalPrimary.split("/")[0];
            writeKrb5Conf();

            conf.set("hadoop.security.authentication", "kerberos");
            conf.set("hadoop.rpc.protection", protection);
            conf.set("hadoop.kerberos.keytab.login.autorenewal.enabled", "true");
            conf.set("dfs.namenode.kerberos.principal", nnPrincipal);
            conf.set("dfs.namenode.keytab.file", serverKeytab.getAbsolutePath());
            conf.set("dfs.datanode.kerberos.principal", nnPrincipal);
            conf.set("dfs.datanode.keytab.file", serverKeytab.getAbsolutePath());
            conf.set("dfs.web.authentication.kerberos.principal", HTTP_PRINCIPAL_PRIMARY + "@" + realm);
            conf.set("dfs.web.authentication.kerberos.keytab", serverKeytab.getAbsolutePath());
            conf.setBoolean("dfs.block.access.token.enable", true);
            if (dnSasl) {
                // DataNodes on unprivileged ports: SASL on the data transfer protocol + HTTPS
                // only, the way Hadoop's own secure MiniDFSCluster tests run.
                conf.set("dfs.data.transfer.protection", protection);
            } else {
                // The classic secure DataNode (privileged ports, started by jsvc as root): clients
                // trust it without SASL and need no dfs.data.transfer.protection. Ports below
                // 1024 cannot be used here, so the DataNode's port check is what is switched off.
                conf.setBoolean("ignore.secure.ports.for.testing", true);
            }
            conf.set("dfs.http.policy", "HTTPS_ONLY");
            conf.setInt("ipc.client.connect.max.retries.on.sasl", 10);
            KeyStoreTestUtil.setupSSLConfig(ssl.getAbsolutePath(), ssl.getAbsolutePath(), conf, false);
            conf.set("dfs.client.https.keystore.resource", KeyStoreTestUtil.getClientSSLConfigFileName());
            conf.set("dfs.https.server.keystore.resource", KeyStoreTestUtil.getServerSSLConfigFileName());
            conf.set("hadoop.ssl.hostname.verifier", "ALLOW_ALL");
            UserGroupInformation.setConfiguration(conf);
        } else {
            // The NameNode's superuser is the JVM's user: make it "hdfs", so that the client
            // (typically root here) is an ordinary user and permission checks apply to it.
            System.setProperty("HADOOP_USER_NAME", "hdfs");
            UserGroupInformation.setConfiguration(conf);
            if (clientUser == null) clientUser = System.getProperty("user.name");
        }

        MiniDFSCluster.Builder b = new MiniDFSCluster.Builder(conf).numDataNodes(numDataNodes)
                .format(true).checkDataNodeHostConfig(true);
        if (ha) {
            b.nnTopology(new MiniDFSNNTopology().addNameservice(new MiniDFSNNTopology.NSConf(NAMESERVICE)
                    .addNN(new MiniDFSNNTopology.NNConf("nn0"))
                    .addNN(new MiniDFSNNTopology.NNConf("nn1"))));
        }
        cluster = b.build();
        cluster.waitActive();
        if (ha) {
            cluster.transitionToActive(0);
        }
        cluster.waitActive();
        dataNodes.addAll(cluster.getDataNodes());
        int active = activeIndex();
        DistributedFileSystem fs = cluster.getFileSystem(Math.max(active, 0));
        waitSafeModeOff(fs);
        setupNamespace(fs);
        writeClientConfig();
    }

    private void startKdc(File work) throws Exception {
        Properties kc = MiniKdc.createConf();
        kc.setProperty(MiniKdc.KDC_BIND_ADDRESS, "127.0.0.1");
        kc.setProperty(MiniKdc.KDC_PORT, "0");
        kc.setProperty(MiniKdc.TRANSPORT, "TCP");
        // Kerby takes these in seconds.
        kc.setProperty(MiniKdc.MAX_TICKET_LIFETIME, Long.toString(ticketLifetime));
        kc.setProperty(MiniKdc.MAX_RENEWABLE_LIFETIME,
                Long.toString(renewLifetime >= 0 ? renewLifetime : ticketLifetime));
        kc.setProperty(MiniKdc.MIN_TICKET_LIFETIME, "1");
        File kdcDir = new File(work, "kdc");
        kdcDir.mkdirs();
        kdc = new MiniKdc(kc, kdcDir);
        kdc.start();
        kdcGate = new KdcGate(kdc.getPort());
    }

    private void writeKrb5Conf() throws IOException {
        long renew = renewLifetime >= 0 ? renewLifetime : ticketLifetime;
        String s = "[libdefaults]\n"
                + "  default_realm = " + realm + "\n"
                + "  dns_lookup_realm = false\n"
                + "  dns_lookup_kdc = false\n"
                + "  dns_canonicalize_hostname = false\n"
                + "  rdns = false\n"
                + "  ignore_acceptor_hostname = true\n"
                + "  udp_preference_limit = 1\n"
                + "  ticket_lifetime = " + ticketLifetime + "\n"
                + "  renew_lifetime = " + renew + "\n"
                + "  forwardable = true\n"
                + "\n[realms]\n"
                + "  " + realm + " = {\n"
                + "    kdc = 127.0.0.1:" + kdcGate.port() + "\n"
                + "  }\n"
                + "\n[domain_realm]\n"
                + "  localhost = " + realm + "\n"
                + "  127.0.0.1 = " + realm + "\n";
        Files.writeString(dir.resolve("krb5.conf"), s);
    }

    private void waitSafeModeOff(DistributedFileSystem fs) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (fs.setSafeMode(SafeModeAction.SAFEMODE_GET)) {
            if (System.currentTimeMillis() > deadline) {
                fs.setSafeMode(SafeModeAction.SAFEMODE_LEAVE);
                break;
            }
            Thread.sleep(100);
        }
    }

    private void setupNamespace(DistributedFileSystem fs) throws IOException {
        org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path("/tmp");
        fs.mkdirs(tmp);
        fs.setPermission(tmp, new FsPermission((short) 01777));
        org.apache.hadoop.fs.Path home = new org.apache.hadoop.fs.Path("/user/" + clientUser);
        fs.mkdirs(home);
        fs.setOwner(home, clientUser, null);
        fs.setPermission(home, new FsPermission((short) 0755));
        org.apache.hadoop.fs.Path ckpt = new org.apache.hadoop.fs.Path("/ckpt");
        fs.mkdirs(ckpt);
        fs.setOwner(ckpt, clientUser, null);
        fs.setPermission(ckpt, new FsPermission((short) 0755));
        // SeaTunnel's default namespace, writable by the client so the seed samples run as written.
        org.apache.hadoop.fs.Path seatunnel = new org.apache.hadoop.fs.Path("/seatunnel/checkpoint");
        fs.mkdirs(seatunnel);
        fs.setOwner(new org.apache.hadoop.fs.Path("/seatunnel"), clientUser, null);
        fs.setOwner(seatunnel, clientUser, null);
        org.apache.hadoop.fs.Path ro = new org.apache.hadoop.fs.Path("/readonly");
        fs.mkdirs(ro);
        fs.setOwner(ro, "hdfs", "supergroup");
        fs.setPermission(ro, new FsPermission((short) 0755));
    }

    private List<String> nnAddresses() {
        List<String> r = new ArrayList<>();
        int n = ha ? 2 : 1;
        for (int i = 0; i < n; i++) {
            NameNode nn = cluster.getNameNode(i);
            if (nn != null && nn.getNameNodeAddress() != null) {
                java.net.InetSocketAddress a = nn.getNameNodeAddress();
                r.add(a.getAddress().getHostAddress() + ":" + a.getPort());
            } else {
                r.add(null);
            }
        }
        return r;
    }

    private void writeClientConfig() throws IOException {
        List<String> addrs = nnAddresses();
        String defaultFs = ha ? "hdfs://" + NAMESERVICE : "hdfs://" + addrs.get(0);

        Configuration core = new Configuration(false);
        core.set("fs.defaultFS", defaultFs);
        core.set("hadoop.security.authentication", kerberos ? "kerberos" : "simple");
        if (kerberos) {
            core.set("hadoop.rpc.protection", protection);
        }
        Configuration hdfs = new Configuration(false);
        hdfs.set("dfs.replication", Integer.toString(Math.min(3, numDataNodes)));
        hdfs.set("dfs.client.block.write.replace-datanode-on-failure.best-effort", "true");
        if (ha) {
            hdfs.set("dfs.nameservices", NAMESERVICE);
            hdfs.set("dfs.ha.namenodes." + NAMESERVICE, "nn0,nn1");
            hdfs.set("dfs.namenode.rpc-address." + NAMESERVICE + ".nn0", addrs.get(0));
            hdfs.set("dfs.namenode.rpc-address." + NAMESERVICE + ".nn1", addrs.get(1));
            hdfs.set("dfs.client.failover.proxy.provider." + NAMESERVICE, FAILOVER_PROVIDER);
            hdfs.set("dfs.client.failover.sleep.base.millis", "100");
            hdfs.set("dfs.client.failover.sleep.max.millis", "1000");
        }
        if (kerberos) {
            hdfs.set("dfs.namenode.kerberos.principal", nnPrincipal);
            hdfs.set("dfs.datanode.kerberos.principal", nnPrincipal);
            if (dnSasl) hdfs.set("dfs.data.transfer.protection", protection);
            hdfs.set("dfs.block.access.token.enable", "true");
            hdfs.set("dfs.http.policy", "HTTPS_ONLY");
        }
        try (OutputStream o = Files.newOutputStream(dir.resolve("core-site.xml"))) {
            core.writeXml(o);
        }
        try (OutputStream o = Files.newOutputStream(dir.resolve("hdfs-site.xml"))) {
            hdfs.writeXml(o);
        }

        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"mode\": ").append(q(mode)).append(",\n");
        j.append("  \"confDir\": ").append(q(dir.toString())).append(",\n");
        j.append("  \"defaultFS\": ").append(q(defaultFs)).append(",\n");
        j.append("  \"nameservice\": ").append(ha ? q(NAMESERVICE) : "null").append(",\n");
        j.append("  \"namenodes\": [");
        for (int i = 0; i < addrs.size(); i++) {
            if (i > 0) j.append(", ");
            j.append("{\"id\": ").append(q(ha ? "nn" + i : "nn0")).append(", \"rpcAddress\": ").append(q(addrs.get(i)))
                    .append("}");
        }
        j.append("],\n");
        j.append("  \"datanodes\": ").append(numDataNodes).append(",\n");
        j.append("  \"clientUser\": ").append(q(clientUser)).append(",\n");
        j.append("  \"superUser\": \"hdfs\",\n");
        j.append("  \"kerberos\": ").append(kerberos).append(",\n");
        j.append("  \"protection\": ").append(kerberos ? q(protection) : "null").append(",\n");
        j.append("  \"data_transfer_protection\": ").append(kerberos && dnSasl ? q(protection) : "null").append(",\n");
        j.append("  \"realm\": ").append(kerberos ? q(realm) : "null").append(",\n");
        j.append("  \"kdc\": ").append(kerberos ? q("127.0.0.1:" + kdcGate.port()) : "null").append(",\n");
        j.append("  \"clientPrincipal\": ").append(kerberos ? q(clientPrincipal) : "null").append(",\n");
        j.append("  \"keytab\": ").append(kerberos ? q(dir.resolve("client.keytab").toString()) : "null").append(",\n");
        j.append("  \"krb5Conf\": ").append(kerberos ? q(dir.resolve("krb5.conf").toString()) : "null").append(",\n");
        j.append("  \"namenodePrincipal\": ").append(kerberos ? q(nnPrincipal) : "null").append(",\n");
        j.append("  \"ticketLifetimeSeconds\": ").append(kerberos ? Long.toString(ticketLifetime) : "null").append(",\n");
        j.append("  \"coreSite\": ").append(q(dir.resolve("core-site.xml").toString())).append(",\n");
        j.append("  \"hdfsSite\": ").append(q(dir.resolve("hdfs-site.xml").toString())).append(",\n");
        j.append("  \"pid\": ").append(ProcessHandle.current().pid()).append("\n");
        j.append("}\n");
        Path tmp = dir.resolve("info.json.tmp");
        Files.writeString(tmp, j.toString());
        Files.move(tmp, dir.resolve("info.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    // ------------------------------------------------------------------ commands

    private void loop() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            line = line.trim();
            if (line.isEmpty()) continue;
            String[] p = line.split("\\s+");
            if (p[0].equals("stop")) {
                stop();
                out.println("OK stopped");
                return;
            }
            String reply;
            try {
                reply = "OK" + handle(p);
            } catch (Throwable t) {
                t.printStackTrace();
                String m = String.valueOf(t.getMessage()).replace('\n', ' ').replace('\r', ' ');
                reply = "ERR " + t.getClass().getSimpleName() + ": " + m;
            }
            out.println(reply);
        }
        // EOF on stdin = stop
    }

    private int arg(String[] p, int max) {
        if (p.length < 2) throw new IllegalArgumentException(p[0] + " needs an index");
        int i = Integer.parseInt(p[1]);
        if (i < 0 || i >= max) throw new IllegalArgumentException("index out of range: " + i);
        return i;
    }

    private String handle(String[] p) throws Exception {
        int nns = ha ? 2 : 1;
        switch (p[0]) {
            case "status":
                return " " + status();
            case "active": {
                int a = activeIndex();
                if (a < 0) throw new IllegalStateException("no active namenode");
                return " " + a;
            }
            case "kdc-down":
            case "kdc-up": {
                if (kdcGate == null) throw new IllegalStateException(p[0] + " needs a Kerberos mode");
                if (p[0].equals("kdc-down")) kdcGate.down(); else kdcGate.up();
                return " kdc " + (kdcGate.isUp() ? "up" : "down") + " for the client";
            }
            case "failover": {
                if (!ha) throw new IllegalStateException("failover needs an HA mode");
                int a = activeIndex();
                if (a < 0) throw new IllegalStateException("no active namenode");
                int other = 1 - a;
                if (!cluster.isNameNodeUp(other)) throw new IllegalStateException("nn" + other + " is down");
                cluster.transitionToStandby(a);
                cluster.transitionToActive(other);
                return " active=" + other + " standby=" + a;
            }
            case "kill-nn": {
                int i = arg(p, nns);
                boolean wasActive = ha && isActive(i);
                cluster.shutdownNameNode(i);
                if (ha && wasActive && cluster.isNameNodeUp(1 - i)) {
                    cluster.transitionToActive(1 - i);
                    return " killed nn" + i + "; nn" + (1 - i) + " made active";
                }
                return " killed nn" + i;
            }
            case "restart-nn": {
                int i = arg(p, nns);
                if (cluster.getNameNode(i) != null && cluster.isNameNodeUp(i)) {
                    cluster.shutdownNameNode(i);
                }
                restartNameNodeWhenPortFree(i);
                // In HA a restarted NameNode comes back as standby (MiniDFSCluster leaves it so);
                // in single mode wait for it to be usable again.
                if (!ha) {
                    cluster.waitActive(0);
                    waitSafeModeOff(cluster.getFileSystem(0));
                } else if (activeIndex() < 0) {
                    cluster.transitionToActive(i);
                    return " restarted nn" + i + " (made active: no other active)";
                }
                return " restarted nn" + i + (ha ? " (standby)" : "");
            }
            case "kill-dn": {
                int i = arg(p, dataNodes.size());
                if (stoppedDataNodes.containsKey(i)) throw new IllegalStateException("dn" + i + " already down");
                DataNode dn = dataNodes.get(i);
                int cur = cluster.getDataNodes().indexOf(dn);
                if (cur < 0) throw new IllegalStateException("dn" + i + " not found");
                org.apache.hadoop.hdfs.protocol.DatanodeID id = dn.getDatanodeId();
                MiniDFSCluster.DataNodeProperties props = cluster.stopDataNode(cur);
                stoppedDataNodes.put(i, props);
                markDead(id);
                return " killed dn" + i;
            }
            case "stop-dn": {
                // Like kill-dn, but the NameNodes are not told: they keep handing the DataNode
                // out until they miss its heartbeats (see --heartbeat-recheck-ms).
                int i = arg(p, dataNodes.size());
                if (stoppedDataNodes.containsKey(i)) throw new IllegalStateException("dn" + i + " already down");
                String addr = dataNodes.get(i).getDatanodeId().getXferAddr();
                int cur = cluster.getDataNodes().indexOf(dataNodes.get(i));
                if (cur < 0) throw new IllegalStateException("dn" + i + " not found");
                stoppedDataNodes.put(i, cluster.stopDataNode(cur));
                return " stopped dn" + i + " at " + addr + " (NameNodes not told)";
            }
            case "nn-dn-state": {
                // What the NameNodes think of DataNode I: after stop-dn, "live" until they miss
                // its heartbeats (see --heartbeat-recheck-ms).
                int i = arg(p, dataNodes.size());
                return " " + nnDataNodeState(dataNodes.get(i).getDatanodeId());
            }
            case "dn-address": {
                int i = arg(p, dataNodes.size());
                return " " + dataNodes.get(i).getDatanodeId().getXferAddr();
            }
            case "pipeline-order": {
                if (p.length < 3) throw new IllegalArgumentException("pipeline-order I first|middle|last|off");
                int i = arg(p, dataNodes.size());
                String addr = dataNodes.get(i).getDatanodeId().getXferAddr();
                org.apache.hadoop.hdfs.server.blockmanagement.PipelineOrderForTests.prefer(addr, p[2]);
                return " dn" + i + " at " + addr + " goes " + p[2] + " in new pipelines";
            }
            case "pipelines":
                return " " + String.join(" ",
                        org.apache.hadoop.hdfs.server.blockmanagement.PipelineOrderForTests.drain());
            case "restart-dn": {
                int i = arg(p, dataNodes.size());
                MiniDFSCluster.DataNodeProperties props = stoppedDataNodes.remove(i);
                if (props == null) {
                    // running: stop it first, then bring it back on the same ports
                    int cur = cluster.getDataNodes().indexOf(dataNodes.get(i));
                    props = cluster.stopDataNode(cur);
                }
                String how;
                try {
                    how = restartDataNodeOnSomePort(props);
                } catch (Exception e) {
                    stoppedDataNodes.put(i, props); // still down: status and a later restart must know
                    throw e;
                }
                List<DataNode> now = cluster.getDataNodes();
                DataNode restarted = now.get(now.size() - 1);
                dataNodes.set(i, restarted);
                if (stoppedDataNodes.isEmpty()) {
                    cluster.waitActive();
                } else {
                    // waitActive would wait for the NameNodes to count as many live DataNodes
                    // as are running, and they still count the other stopped ones after stop-dn.
                    cluster.waitDatanodeFullyStarted(restarted, 120_000);
                    cluster.waitDatanodeConnectedToActive(restarted, 120_000);
                }
                return " restarted dn" + i + how;
            }
            default:
                throw new IllegalArgumentException("unknown command " + p[0]);
        }
    }

    /**
     * Brings a stopped DataNode back, on its old ports when they are free. Its ports were
     * ephemeral, so while it was down another process (a client socket, a parallel test) may
     * have taken one; then it comes back on new ports, which clients learn from the NameNode.
     */
    private String restartDataNodeOnSomePort(MiniDFSCluster.DataNodeProperties props) throws Exception {
        for (int attempt = 1; attempt <= 3; attempt++) {
            try {
                cluster.restartDataNode(props, true);
                return "";
            } catch (java.io.IOException e) {
                if (!causedByBind(e)) throw e;
                System.err.println("hdfs-testenv: old DataNode port busy (attempt " + attempt + "): " + e.getMessage());
                Thread.sleep(500L * attempt);
            }
        }
        org.apache.hadoop.hdfs.DataNodePorts.forgetPorts(props);
        cluster.restartDataNode(props, false);
        return " (on new ports: the old ones were taken)";
    }

    /**
     * A NameNode must come back on its configured RPC port (clients know it). A client that keeps
     * connecting to the dead port can briefly hold it (a loopback self-connect), so wait a little.
     */
    private void restartNameNodeWhenPortFree(int i) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                cluster.restartNameNode(i, false);
                return;
            } catch (java.io.IOException e) {
                if (!causedByBind(e) || attempt >= 10) throw e;
                System.err.println("hdfs-testenv: nn" + i + " port busy (attempt " + attempt + "): " + e.getMessage());
                Thread.sleep(1000L);
            }
        }
    }

    private static boolean causedByBind(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.net.BindException) return true;
        }
        return false;
    }

    private void markDead(org.apache.hadoop.hdfs.protocol.DatanodeID id) {
        int nns = ha ? 2 : 1;
        for (int n = 0; n < nns; n++) {
            try {
                if (!cluster.isNameNodeUp(n)) continue;
                BlockManager bm = cluster.getNamesystem(n).getBlockManager();
                DatanodeDescriptor d = bm.getDatanodeManager().getDatanode(id);
                if (d != null) {
                    DFSTestUtil.setDatanodeDead(d);
                    BlockManagerTestUtil.checkHeartbeat(bm);
                }
            } catch (Throwable t) {
                System.err.println("hdfs-testenv: could not mark datanode dead on nn" + n + ": " + t);
            }
        }
    }

    /** "nn0=live nn1=dead": each NameNode's view of a DataNode (live, dead, unknown or down for a stopped NameNode). */
    private String nnDataNodeState(org.apache.hadoop.hdfs.protocol.DatanodeID id) throws java.io.IOException {
        int nns = ha ? 2 : 1;
        StringBuilder b = new StringBuilder();
        for (int n = 0; n < nns; n++) {
            String st;
            if (!cluster.isNameNodeUp(n)) {
                st = "down";
            } else {
                DatanodeDescriptor d = cluster.getNamesystem(n).getBlockManager().getDatanodeManager().getDatanode(id);
                st = d == null ? "unknown" : d.isAlive() ? "live" : "dead";
            }
            if (n > 0) b.append(' ');
            b.append("nn").append(n).append('=').append(st);
        }
        return b.toString();
    }

    private boolean isActive(int i) {
        try {
            NameNode nn = cluster.getNameNode(i);
            return nn != null && cluster.isNameNodeUp(i) && nn.isActiveState();
        } catch (Throwable t) {
            return false;
        }
    }

    private int activeIndex() {
        int nns = ha ? 2 : 1;
        for (int i = 0; i < nns; i++) {
            if (isActive(i)) return i;
        }
        return -1;
    }

    private String status() {
        StringBuilder b = new StringBuilder("mode=").append(mode);
        int nns = ha ? 2 : 1;
        for (int i = 0; i < nns; i++) {
            String st;
            NameNode nn = cluster.getNameNode(i);
            if (nn == null || !cluster.isNameNodeUp(i)) {
                st = "down";
            } else {
                st = nn.isActiveState() ? "active" : nn.isStandbyState() ? "standby" : "other";
            }
            b.append(" nn").append(i).append('=').append(st);
        }
        for (int i = 0; i < dataNodes.size(); i++) {
            String st = stoppedDataNodes.containsKey(i) ? "down" : "up";
            b.append(" dn").append(i).append('=').append(st);
        }
        return b.toString();
    }

    private boolean stopped;

    private synchronized void stop() {
        if (stopped) return;
        stopped = true;
        Thread sd = new Thread(() -> {
            try {
                if (cluster != null) cluster.shutdown(true);
            } catch (Throwable e) {
                System.err.println("hdfs-testenv: cluster shutdown: " + e);
            }
        }, "hdfs-testenv-shutdown");
        sd.setDaemon(true);
        sd.start();
        try {
            sd.join(30_000);
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
        if (sd.isAlive()) {
            System.err.println("hdfs-testenv: cluster shutdown still running after 30 s; exiting anyway");
        }
        try {
            if (kdc != null) kdc.stop();
        } catch (Throwable t) {
            System.err.println("hdfs-testenv: kdc stop: " + t);
        }
    }
}
