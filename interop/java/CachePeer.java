import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

/**
 * Curator 5.4's side of zookit's cache interop test.
 *
 * CachePeer CONNECT ROOT N SEED  follows ROOT with a CuratorCache while it makes N random creates,
 *                                sets and deletes at depths 1 to 3 below ROOT; once the CuratorCache
 *                                equals the server it prints "NODE <path> <version> <data>" for each
 *                                cached node, then "OK".
 */
public class CachePeer {
    public static void main(String[] args) throws Exception {
        String connect = args[0], root = args[1];
        int n = Integer.parseInt(args[2]);
        Random rng = new Random(Long.parseLong(args[3]));
        CuratorFramework client = Peers.connect(connect, 10000, 60);
        try (CuratorCache cache = CuratorCache.build(client, root)) {
            CountDownLatch initialized = new CountDownLatch(1);
            cache.listenable().addListener(CuratorCacheListener.builder().forInitialized(initialized::countDown).build());
            cache.start();
            if (!initialized.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("CuratorCache not initialized within 60 s");
            }
            for (int i = 0; i < n; i++) {
                change(client, root, rng, ("java-" + i).getBytes(StandardCharsets.UTF_8));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!serverTree(client, root).equals(cacheTree(cache))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("CuratorCache differs from the server after 60 s");
                }
                Thread.sleep(20);
            }
            cacheTree(cache).forEach((path, state) -> System.out.println("NODE " + path + " " + state));
            System.out.println("OK");
        } finally {
            client.close();
        }
    }

    /** One random change; a path whose parent is missing, that exists or that has children is skipped. */
    static void change(CuratorFramework client, String root, Random rng, byte[] data) throws Exception {
        StringBuilder path = new StringBuilder(root);
        int depth = 1 + rng.nextInt(3);
        for (int d = 0; d < depth; d++) {
            path.append('/').append((char) ('a' + rng.nextInt(3)));
        }
        try {
            switch (rng.nextInt(3)) {
                case 0:
                    client.create().forPath(path.toString(), data);
                    break;
                case 1:
                    client.setData().forPath(path.toString(), data);
                    break;
                default:
                    client.delete().forPath(path.toString());
            }
        } catch (KeeperException.NoNodeException | KeeperException.NodeExistsException | KeeperException.NotEmptyException e) {
            // Expected of random paths: the tree did not allow this change.
        }
    }

    /** The cache's content: path to "version data". */
    static SortedMap<String, String> cacheTree(CuratorCache cache) {
        SortedMap<String, String> out = new TreeMap<>();
        cache.stream().forEach(d -> out.put(d.getPath(), state(d.getStat(), d.getData())));
        return out;
    }

    /** The server's subtree in cacheTree's form. */
    static SortedMap<String, String> serverTree(CuratorFramework client, String root) throws Exception {
        SortedMap<String, String> out = new TreeMap<>();
        walk(client, root, out);
        return out;
    }

    static void walk(CuratorFramework client, String path, SortedMap<String, String> out) throws Exception {
        try {
            Stat stat = new Stat();
            byte[] data = client.getData().storingStatIn(stat).forPath(path);
            out.put(path, state(stat, data));
            for (String child : client.getChildren().forPath(path)) {
                walk(client, path + "/" + child, out);
            }
        } catch (KeeperException.NoNodeException e) {
            // Deleted while we walked; the caller compares again.
        }
    }

    static String state(Stat stat, byte[] data) {
        return stat.getVersion() + " " + new String(data == null ? new byte[0] : data, StandardCharsets.UTF_8);
    }
}
