package org.apache.hadoop.hdfs;

/**
 * Lives in MiniDFSCluster's package only to reach the package-private configuration a stopped
 * DataNode restarts with: after a first start it holds the ports the DataNode was given.
 */
public final class DataNodePorts {
    private DataNodePorts() {}

    /** Makes the DataNode's next restart pick fresh ephemeral ports on loopback. */
    public static void forgetPorts(MiniDFSCluster.DataNodeProperties props) {
        for (String key : new String[] {
                DFSConfigKeys.DFS_DATANODE_ADDRESS_KEY,
                DFSConfigKeys.DFS_DATANODE_IPC_ADDRESS_KEY,
                DFSConfigKeys.DFS_DATANODE_HTTP_ADDRESS_KEY,
                DFSConfigKeys.DFS_DATANODE_HTTPS_ADDRESS_KEY}) {
            props.conf.set(key, "127.0.0.1:0");
        }
    }
}
