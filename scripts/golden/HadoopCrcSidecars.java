// Writes files through Hadoop's checksumming LocalFileSystem, which leaves a `.<name>.crc`
// sidecar beside each: the golden vectors of tests/checkpoint_sidecars.rs.
// Run by scripts/golden/hadoop-crc-sidecars.sh (single-file source launch, hdfs-testenv's
// classpath).
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

public class HadoopCrcSidecars {
    public static void main(String[] args) throws Exception {
        Configuration conf = new Configuration();
        FileSystem fs = FileSystem.getLocal(conf);
        Path dir = new Path(args[0]);
        // Lengths around the 512-byte chunk: empty, short, exactly one chunk, several.
        int[] lengths = {0, 1, 511, 512, 513, 1300, 4096};
        for (int len : lengths) {
            byte[] data = new byte[len];
            long x = 0x9E3779B97F4A7C15L ^ len;
            for (int i = 0; i < len; i++) {
                x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
                data[i] = (byte) x;
            }
            try (FSDataOutputStream out = fs.create(new Path(dir, "data-" + len + ".bin"), true)) {
                out.write(data);
            }
        }
        System.out.println(fs.getClass().getName() + ", file.bytes-per-checksum "
                + conf.getInt("file.bytes-per-checksum", 512));
    }
}
