import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

/**
 * Curator 5.4's side of zookit's lock interop test and benchmark.
 *
 * LockPeer CONNECT MODE PATH THREADS ROUNDS [MAX_LEASES]
 *   MODE mutex | write | read | semaphore: THREADS threads on one session
 *   each take the lock ROUNDS times and, while holding it, run the same
 *   overlap check the Go side runs (markers next to PATH, see
 *   lock/locktest). Prints "OK <acquisitions>", or throws.
 * LockPeer CONNECT bench PATH THREADS MILLIS
 *   InterProcessMutex acquire/release cycles for MILLIS; prints
 *   "CYCLES <n> <seconds>".
 */
public class LockPeer {
    interface Held { void release() throws Exception; }
    interface Acquirer { Held acquire() throws Exception; }

    public static void main(String[] args) throws Exception {
        String connect = args[0], mode = args[1], path = args[2];
        int threads = Integer.parseInt(args[3]);
        CuratorFramework client = Peers.connect(connect, 10000, 60);
        try {
            if (mode.equals("bench")) {
                bench(client, path, threads, Long.parseLong(args[4]));
            } else {
                contend(client, mode, path, threads, Integer.parseInt(args[4]),
                        args.length > 5 ? Integer.parseInt(args[5]) : 1);
            }
        } finally {
            client.close();
        }
    }

    static Acquirer acquirer(CuratorFramework client, String mode, String path, int maxLeases) {
        switch (mode) {
            case "mutex": {
                InterProcessMutex m = new InterProcessMutex(client, path);
                return () -> { m.acquire(); return m::release; };
            }
            case "write": {
                InterProcessMutex m = new InterProcessReadWriteLock(client, path).writeLock();
                return () -> { m.acquire(); return m::release; };
            }
            case "read": {
                InterProcessMutex m = new InterProcessReadWriteLock(client, path).readLock();
                return () -> { m.acquire(); return m::release; };
            }
            case "semaphore": {
                InterProcessSemaphoreV2 s = new InterProcessSemaphoreV2(client, path, maxLeases);
                return () -> { Lease l = s.acquire(); return () -> s.returnLease(l); };
            }
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
    }

    static void contend(CuratorFramework client, String mode, String path, int threads, int rounds, int maxLeases)
            throws Exception {
        AtomicLong acquired = new AtomicLong();
        Peers.inThreads(threads, run -> {
            Acquirer a = acquirer(client, mode, path, maxLeases);
            for (int r = 0; r < rounds && run.ok(); r++) {
                Held h = a.acquire();
                try {
                    check(client, mode, path, maxLeases);
                } finally {
                    h.release();
                }
                acquired.incrementAndGet();
            }
        });
        System.out.println("OK " + acquired.get());
    }

    /** The overlap check of lock/locktest, byte for byte the same paths. */
    static void check(CuratorFramework client, String mode, String path, int maxLeases) throws Exception {
        String id = UUID.randomUUID().toString();
        switch (mode) {
            case "mutex":
            case "write": {
                String marker = path + "-holder";
                try {
                    client.create().withMode(CreateMode.EPHEMERAL).forPath(marker);
                } catch (KeeperException.NodeExistsException e) {
                    throw new IllegalStateException("OVERLAP: " + marker + " exists", e);
                }
                if (mode.equals("write") && client.checkExists().forPath(path + "-readers") != null
                        && !client.getChildren().forPath(path + "-readers").isEmpty()) {
                    throw new IllegalStateException("OVERLAP: readers inside while writing");
                }
                client.delete().forPath(marker);
                break;
            }
            case "read": {
                String me = path + "-readers/" + id;
                client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(me);
                if (client.checkExists().forPath(path + "-holder") != null) {
                    throw new IllegalStateException("OVERLAP: writer inside while reading");
                }
                client.delete().forPath(me);
                break;
            }
            case "semaphore": {
                String me = path + "-holders/" + id;
                client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(me);
                int n = client.getChildren().forPath(path + "-holders").size();
                if (n > maxLeases) {
                    throw new IllegalStateException("OVERLAP: " + n + " lease holders, max " + maxLeases);
                }
                client.delete().forPath(me);
                break;
            }
            default:
                throw new IllegalArgumentException(mode);
        }
    }

    static void bench(CuratorFramework client, String path, int threads, long millis) throws Exception {
        AtomicLong cycles = new AtomicLong();
        long start = System.nanoTime();
        long end = start + TimeUnit.MILLISECONDS.toNanos(millis);
        Peers.inThreads(threads, run -> {
            InterProcessMutex m = new InterProcessMutex(client, path);
            while (System.nanoTime() < end && run.ok()) {
                m.acquire();
                m.release();
                cycles.incrementAndGet();
            }
        });
        double secs = (System.nanoTime() - start) / 1e9;
        System.out.println("CYCLES " + cycles.get() + " " + secs);
    }
}
