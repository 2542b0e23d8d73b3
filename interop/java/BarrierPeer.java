import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.zookeeper.KeeperException;

/**
 * Curator 5.4's side of zookit's double barrier interop test.
 *
 * BarrierPeer CONNECT PATH THREADS MEMBERS SECONDS
 *   THREADS threads, each with its own session, are members of the
 *   DistributedDoubleBarrier on PATH with memberQty MEMBERS (Go and Java
 *   members together). Each does what barriertest.Member does: registers
 *   under PATH-arrived, enters, prints "ENTERED <registered>", registers
 *   under PATH-leaving, leaves, prints "LEFT <registered> <members' nodes
 *   left on PATH>"; every wait is bounded by SECONDS. Prints
 *   "OK <threads>" at the end, or throws.
 */
public class BarrierPeer {
    public static void main(String[] args) throws Exception {
        String connect = args[0], path = args[1];
        int threads = Integer.parseInt(args[2]);
        int members = Integer.parseInt(args[3]);
        long seconds = Long.parseLong(args[4]);
        Peers.inThreads(threads, run -> member(connect, path, members, seconds));
        System.out.println("OK " + threads);
    }

    static void member(String connect, String path, int members, long seconds) throws Exception {
        CuratorFramework client = Peers.connect(connect, 10000, seconds);
        try {
            DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(client, path, members);
            register(client, path + "-arrived");
            if (!barrier.enter(seconds, TimeUnit.SECONDS)) {
                throw new IllegalStateException("enter timed out");
            }
            System.out.println("ENTERED " + client.getChildren().forPath(path + "-arrived").size());
            register(client, path + "-leaving");
            if (!barrier.leave(seconds, TimeUnit.SECONDS)) {
                throw new IllegalStateException("leave timed out");
            }
            System.out.println("LEFT " + client.getChildren().forPath(path + "-leaving").size()
                    + " " + members(client, path));
        } finally {
            client.close();
        }
    }

    /** Counts the children of path but ready, as barriertest.Count does. */
    static long members(CuratorFramework client, String path) throws Exception {
        try {
            return client.getChildren().forPath(path).stream().filter(n -> !n.equals("ready")).count();
        } catch (KeeperException.NoNodeException e) {
            return 0;
        }
    }

    /** A persistent registration that outlives the session, as the Go side makes. */
    static void register(CuratorFramework client, String dir) throws Exception {
        client.create().creatingParentContainersIfNeeded().forPath(dir + "/" + UUID.randomUUID());
    }
}
