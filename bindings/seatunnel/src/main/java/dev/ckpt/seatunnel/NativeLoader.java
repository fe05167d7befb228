package dev.ckpt.seatunnel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;

/**
 * Loads ckpt's native library once per class loader: the copy named by the system property
 * {@value #PROPERTY} when set, else the linux-x86_64 build inside this jar, extracted to a
 * private temporary file (owner-only permissions) that is deleted again once loaded.
 */
final class NativeLoader {
    /** System property: path of a libckpt_jni build to load instead of the bundled one. */
    static final String PROPERTY = "ckpt.native.library";
    static final String BUNDLED_PLATFORM = "linux-x86_64";
    private static final String RESOURCE =
            "/dev/ckpt/seatunnel/native/" + BUNDLED_PLATFORM + "/libckpt_jni.so";

    private static boolean loaded;
    private static String failure;

    private NativeLoader() {}

    /** Loads the library, or throws (every time) why it could not be loaded. */
    static synchronized void load() throws CheckpointStorageException {
        if (loaded) {
            return;
        }
        if (failure != null) {
            throw new CheckpointStorageException(failure);
        }
        try {
            String explicit = System.getProperty(PROPERTY);
            if (explicit != null && !explicit.isEmpty()) {
                System.load(Paths.get(explicit).toAbsolutePath().toString());
            } else {
                loadBundled(platform(System.getProperty("os.name"), System.getProperty("os.arch")));
            }
            loaded = true;
        } catch (CheckpointStorageException e) {
            failure = e.getMessage();
            throw e;
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            failure = "cannot load ckpt's native library: " + e;
            throw new CheckpointStorageException(failure, e);
        }
    }

    /** The platform name of a JVM ({@code linux-x86_64}, {@code mac os x-aarch64}...). */
    static String platform(String osName, String osArch) {
        String os = osName == null ? "unknown" : osName.toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "unknown" : osArch.toLowerCase(Locale.ROOT);
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            arch = "x86_64";
        }
        return os + "-" + arch;
    }

    private static void loadBundled(String platform) throws IOException, CheckpointStorageException {
        if (!platform.equals(BUNDLED_PLATFORM)) {
            throw new CheckpointStorageException(unsupported(platform));
        }
        Path file = Files.createTempFile("ckpt-jni-", ".so");
        try {
            try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new CheckpointStorageException(
                            "this ckpt plugin jar has no native library (" + RESOURCE
                                    + "): build it with scripts/seatunnel-plugin.sh, or set -D"
                                    + PROPERTY + "=/path/to/libckpt_jni.so");
                }
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            System.load(file.toAbsolutePath().toString());
        } finally {
            // Loaded libraries stay mapped: nothing is left behind, even if the JVM is killed.
            Files.deleteIfExists(file);
        }
    }

    /** The error for a platform without a bundled library. */
    static String unsupported(String platform) {
        return "the ckpt checkpoint storage plugin bundles its native library for "
                + BUNDLED_PLATFORM + " only, and this JVM runs on " + platform
                + ": build ckpt-jni on this platform (cargo build --release -p ckpt-jni) and start"
                + " the engine with -D" + PROPERTY + "=/path/to/the/built/library";
    }
}
