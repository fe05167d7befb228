package org.apache.hadoop.hdfs.server.blockmanagement;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.apache.hadoop.hdfs.AddBlockFlag;
import org.apache.hadoop.hdfs.protocol.BlockStoragePolicy;
import org.apache.hadoop.net.Node;

/**
 * Hadoop's default block placement, plus two test controls for the pipelines of new blocks
 * (addBlock): one DataNode can be put first, in the middle or last of every pipeline it is part
 * of ({@link #prefer}), and every pipeline handed out is recorded in order ({@link #drain}).
 * Lives in the blockmanagement package to override the package-private method addBlock uses.
 * Pipeline recovery (getAdditionalDatanode) and re-replication are left as they are.
 */
public class PipelineOrderForTests extends BlockPlacementPolicyDefault {
    private static volatile String preferredAddr;
    private static volatile String preferredPosition = "off";
    private static final List<String> handedOut = new ArrayList<>();

    /** From now on, put the DataNode with this transfer address at {@code position}. */
    public static void prefer(String xferAddr, String position) {
        if (!List.of("first", "middle", "last", "off").contains(position)) {
            throw new IllegalArgumentException("position must be first|middle|last|off, not " + position);
        }
        preferredAddr = position.equals("off") ? null : xferAddr;
        preferredPosition = position;
    }

    /** The pipelines handed out since the last call, oldest first ("PATH=addr,addr,addr" each). */
    public static List<String> drain() {
        synchronized (handedOut) {
            List<String> r = new ArrayList<>(handedOut);
            handedOut.clear();
            return r;
        }
    }

    @Override
    DatanodeStorageInfo[] chooseTarget(String src, int numOfReplicas, Node writer, Set<Node> excludedNodes,
            long blocksize, List<DatanodeDescriptor> favoredNodes, BlockStoragePolicy storagePolicy,
            EnumSet<AddBlockFlag> flags) {
        DatanodeStorageInfo[] targets = super.chooseTarget(src, numOfReplicas, writer, excludedNodes, blocksize,
                favoredNodes, storagePolicy, flags);
        String addr = preferredAddr;
        if (addr != null && targets.length > 1) {
            int at = -1;
            for (int i = 0; i < targets.length; i++) {
                if (targets[i].getDatanodeDescriptor().getXferAddr().equals(addr)) at = i;
            }
            if (at >= 0) {
                int want = switch (preferredPosition) {
                    case "first" -> 0;
                    case "middle" -> targets.length / 2;
                    default -> targets.length - 1;
                };
                List<DatanodeStorageInfo> order = new ArrayList<>(List.of(targets));
                DatanodeStorageInfo moved = order.remove(at);
                order.add(want, moved);
                targets = order.toArray(new DatanodeStorageInfo[0]);
            }
        }
        StringBuilder b = new StringBuilder(src).append('=');
        for (int i = 0; i < targets.length; i++) {
            if (i > 0) b.append(',');
            b.append(targets[i].getDatanodeDescriptor().getXferAddr());
        }
        synchronized (handedOut) {
            handedOut.add(b.toString());
        }
        return targets;
    }
}
