import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.StandardLockInternalsDriver;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

/**
 * Curator 5.4's side of zookit's election interop test and failover benchmark.
 *
 * ElectionPeer CONNECT MODE PATH N SESSION_MS ID_PREFIX
 *   Starts N participants with ids ID_PREFIX-0 .. ID_PREFIX-(N-1), each on its
 *   own CuratorFramework, so its own session of SESSION_MS:
 *   MODE latch: a LeaderLatch on PATH; MODE selector: a LeaderSelector with
 *   autoRequeue on PATH.
 *   While a participant leads it proves every 10 ms that it leads alone, as
 *   election/electiontest.Exclusive does: one transaction checks that its own
 *   node exists and creates the ephemeral PATH-leader (NodeExists means two
 *   leaders), then it deletes the marker.
 *
 * Prints one line per event:
 *   READY                 every participant has started; a latch has its node
 *                         and has run a proof's operations once (see warm).
 *                         No LEADER line comes before it.
 *   LEADER <id> <node>    the participant leads: its first proof succeeded
 *   NOTLEADER <id>        the term that LEADER announced is over
 *   CLOSED <id>           the participant was closed
 *   JOINED <id> <node>    a rejoined latch has its node
 *   ERROR <id> <message>  a proof or a recipe failed (id "-": the process;
 *                         it then exits 1)
 * Reads commands on stdin:
 *   release <i>           selector: participant i ends its term and requeues
 *   close <i>             participant i stops proving, then closes its recipe
 *   rejoin <i>            latch: closed participant i starts a new latch on
 *                         its session
 *   exit                  closes everything and exits 0 (as does EOF)
 */
public class ElectionPeer {
    static final class Participant {
        final String id;
        final CuratorFramework client;
        volatile boolean stop;    // close requested
        volatile boolean release; // selector: end the current term
        LeaderLatch latch;
        LeaderSelector selector;
        Thread thread;
        boolean closed;

        Participant(String id, CuratorFramework client) {
            this.id = id;
            this.client = client;
        }
    }

    static String path;
    static String marker;
    /** Holds every LEADER line back until READY is out. */
    static final CountDownLatch ready = new CountDownLatch(1);

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            // Curator's threads would keep the JVM alive after main.
            say("ERROR - " + String.valueOf(e).replace('\n', ' '));
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    static void run(String[] args) throws Exception {
        String connect = args[0], mode = args[1];
        path = args[2];
        marker = path + "-leader";
        int n = Integer.parseInt(args[3]);
        int sessionMs = Integer.parseInt(args[4]);
        String prefix = args[5];
        List<Participant> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CuratorFramework client = Peers.connect(connect, sessionMs, 60);
            Participant p = new Participant(prefix + "-" + i, client);
            switch (mode) {
                case "latch":
                    startLatch(p);
                    break;
                case "selector":
                    startSelector(p);
                    break;
                default:
                    throw new IllegalArgumentException("unknown mode " + mode);
            }
            all.add(p);
        }
        for (Participant p : all) {
            while (p.latch != null && p.latch.getOurPath() == null) {
                Thread.sleep(5);
            }
            if (p.latch != null) {
                warm(p, p.latch.getOurPath());
            }
        }
        say("READY");
        ready.countDown();

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null && !line.trim().equals("exit"); ) {
            String[] f = line.trim().split("\\s+");
            Participant p = all.get(Integer.parseInt(f[1]));
            switch (f[0]) {
                case "release":
                    p.release = true;
                    synchronized (p) {
                        p.notifyAll();
                    }
                    break;
                case "close":
                    close(p);
                    break;
                case "rejoin":
                    rejoin(p);
                    break;
                default:
                    throw new IllegalArgumentException("unknown command " + line);
            }
        }
        for (Participant p : all) {
            close(p);
            p.client.close();
        }
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static void error(Participant p, Throwable e) {
        say("ERROR " + p.id + " " + String.valueOf(e).replace('\n', ' '));
    }

    static void startLatch(Participant p) throws Exception {
        p.latch = new LeaderLatch(p.client, path, p.id);
        p.latch.start();
        p.thread = new Thread(() -> {
            try {
                ready.await();
                while (!p.stop) {
                    // A bounded await, so that a close request is seen.
                    if (p.latch.await(50, TimeUnit.MILLISECONDS)) {
                        lead(p, p.latch.getOurPath(), () -> p.stop || !p.latch.hasLeadership());
                    }
                }
            } catch (Exception e) {
                error(p, e);
            }
        });
        p.thread.start();
    }

    static void startSelector(Participant p) {
        p.selector = new LeaderSelector(p.client, path, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework client) throws Exception {
                try {
                    ready.await();
                    p.release = false;
                    lead(p, ownNode(p), () -> p.stop || p.release);
                } catch (InterruptedException e) {
                    throw e; // Curator cancelled the term (connection trouble, close)
                } catch (Exception e) {
                    error(p, e);
                    throw e;
                }
            }
        });
        p.selector.setId(p.id);
        p.selector.autoRequeue();
        p.selector.start();
    }

    /**
     * The selector's node, which LeaderSelector does not expose: the first of
     * the sorted children, which must belong to this participant's session.
     */
    static String ownNode(Participant p) throws Exception {
        List<String> kids = p.client.getChildren().forPath(path);
        kids.sort(Comparator.comparing((String s) -> StandardLockInternalsDriver.standardFixForSorting(s, "lock-")));
        String first = path + "/" + kids.get(0);
        Stat st = new Stat();
        p.client.getData().storingStatIn(st).forPath(first);
        long session = p.client.getZookeeperClient().getZooKeeper().getSessionId();
        if (st.getEphemeralOwner() != session) {
            throw new IllegalStateException("two leaders: leading, but the first node " + first
                    + " belongs to session 0x" + Long.toHexString(st.getEphemeralOwner()));
        }
        return first;
    }

    /**
     * Proves leadership every 10 ms until over says the term is done or a
     * proof finds the node gone. It holds p's monitor except while it waits
     * between proofs, so that close and release, which notify it, find no
     * proof in flight: the marker is gone before the node is.
     */
    static void lead(Participant p, String node, BooleanSupplier over) throws Exception {
        synchronized (p) {
            boolean reported = false;
            try {
                while (!over.getAsBoolean() && prove(p, node)) {
                    if (!reported) {
                        say("LEADER " + p.id + " " + node);
                        reported = true;
                    }
                    p.wait(10);
                }
            } finally {
                if (reported) {
                    say("NOTLEADER " + p.id);
                }
            }
        }
    }

    /** One proof; false when the node is gone, so the term is over. */
    static boolean prove(Participant p, String node) throws Exception {
        try {
            p.client.transaction().forOperations(
                    p.client.transactionOp().check().forPath(node),
                    p.client.transactionOp().create().withMode(CreateMode.EPHEMERAL).forPath(marker));
        } catch (KeeperException.NoNodeException e) {
            return false;
        } catch (KeeperException.NodeExistsException e) {
            throw new IllegalStateException("two leaders: " + marker + " exists while " + node + " leads", e);
        }
        p.client.delete().forPath(marker);
        return true;
    }

    static void rejoin(Participant p) throws Exception {
        if (!p.closed || p.latch == null) {
            throw new IllegalStateException(p.id + " is not a closed latch");
        }
        p.closed = false;
        p.stop = false;
        startLatch(p);
        while (p.latch.getOurPath() == null) {
            Thread.sleep(5);
        }
        say("JOINED " + p.id + " " + p.latch.getOurPath());
    }

    /**
     * Runs a proof's operations once on a scratch node, so that the first
     * failover measured is not the JVM loading their classes.
     */
    static void warm(Participant p, String node) throws Exception {
        List<CuratorTransactionResult> res = p.client.transaction().forOperations(
                p.client.transactionOp().check().forPath(node),
                p.client.transactionOp().create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(path + "-warmup-"));
        p.client.delete().forPath(res.get(1).getResultPath());
    }

    static void close(Participant p) throws Exception {
        if (p.closed) {
            return;
        }
        p.closed = true;
        p.stop = true;
        synchronized (p) {
            // No proof is in flight, and none starts: stop is set.
            p.notifyAll();
        }
        if (p.latch != null) {
            p.thread.join();
            p.latch.close();
        } else {
            p.selector.close();
        }
        say("CLOSED " + p.id);
    }
}
