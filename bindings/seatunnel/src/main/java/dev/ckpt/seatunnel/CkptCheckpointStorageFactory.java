package dev.ckpt.seatunnel;

import java.util.Map;

import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorage;
import org.apache.seatunnel.engine.checkpoint.storage.api.CheckpointStorageFactory;
import org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException;

/**
 * SeaTunnel discovers this factory through {@code META-INF/services}; {@code type: ckpt} in
 * {@code seatunnel.engine.checkpoint.storage} selects it, with the plugin-config of the
 * {@code hdfs} plugin.
 */
public class CkptCheckpointStorageFactory implements CheckpointStorageFactory {
    /** The storage type of seatunnel.yaml. */
    public static final String IDENTIFIER = "ckpt";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public CheckpointStorage create(Map<String, String> configuration)
            throws CheckpointStorageException {
        return new CkptCheckpointStorage(configuration);
    }
}
