package ckpt.compat;

import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import org.apache.hadoop.conf.Configuration;
import org.apache.seatunnel.engine.checkpoint.storage.hdfs.HdfsStorage;

/**
 * Prints the Hadoop configuration SeaTunnel's own hdfs checkpoint storage plugin builds from a
 * plugin-config, by calling the plugin's private {@code HdfsStorage.getConfiguration(Map)}: the
 * exact code its {@code initStorage} runs before it opens the file system (which is not done
 * here, so no server is needed).
 *
 * <pre>
 * conf-dump PLUGIN_CONFIG.properties
 * </pre>
 * Output, one per line, sorted: "set KEY=VALUE" for every key the plugin set programmatically;
 * "error: CLASS: MESSAGE" and exit 1 when the plugin refuses the configuration.
 */
public final class ConfDump {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8.name());
        System.setOut(System.err);
        if (args.length != 1) {
            System.err.println("usage: conf-dump PLUGIN_CONFIG.properties");
            System.exit(2);
        }
        try {
            Map<String, String> config = new HashMap<>(PluginPeer.load(args[0]));
            // initStorage takes the namespace out before it builds the configuration.
            config.remove("namespace");
            Configuration conf = build(config);
            Map<String, String> set = new TreeMap<>();
            for (Map.Entry<String, String> e : conf) {
                String[] sources = conf.getPropertySources(e.getKey());
                if (sources != null && java.util.Arrays.asList(sources).contains("programmatically")) {
                    set.put(e.getKey(), e.getValue());
                }
            }
            for (Map.Entry<String, String> e : set.entrySet()) {
                out.println("set " + e.getKey() + "=" + e.getValue());
            }
        } catch (Throwable t) {
            Throwable cause = t instanceof java.lang.reflect.InvocationTargetException ? t.getCause() : t;
            cause.printStackTrace();
            out.println("error: " + cause.getClass().getName() + ": " + cause.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    private static Configuration build(Map<String, String> config) throws Exception {
        // An instance without running the constructor (which would connect to the file system).
        Field field = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
        field.setAccessible(true);
        Object unsafe = field.get(null);
        Method allocate = unsafe.getClass().getMethod("allocateInstance", Class.class);
        HdfsStorage storage = (HdfsStorage) allocate.invoke(unsafe, HdfsStorage.class);
        Method getConfiguration = HdfsStorage.class.getDeclaredMethod("getConfiguration", Map.class);
        getConfiguration.setAccessible(true);
        return (Configuration) getConfiguration.invoke(storage, config);
    }
}
