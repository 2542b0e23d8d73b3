import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;

/**
 * Curator 5.4's side of zookit's SimpleQueue interop test.
 *
 * QueuePeer CONNECT offer PATH N PREFIX  offers PREFIX/0000 .. PREFIX/N-1, prints "OK"
 * QueuePeer CONNECT take PATH N          takes N messages, printing "MSG <text>" for each, then "OK"
 * QueuePeer CONNECT bench PATH N THREADS THREADS threads offer N messages in all, then take them;
 *                                        prints "PUT <n> <seconds>", "TAKE <n> <seconds>", "OK"
 */
public class QueuePeer {
    public static void main(String[] args) throws Exception {
        String connect = args[0], mode = args[1], path = args[2];
        int n = Integer.parseInt(args[3]);
        CuratorFramework client = Peers.connect(connect, 10000, 60);
        try {
            SimpleDistributedQueue q = new SimpleDistributedQueue(client, path);
            if (mode.equals("offer")) {
                for (int i = 0; i < n; i++) {
                    q.offer(String.format("%s/%04d", args[4], i).getBytes("UTF-8"));
                }
            } else if (mode.equals("take")) {
                for (int i = 0; i < n; i++) {
                    byte[] m = q.poll(60, TimeUnit.SECONDS);
                    if (m == null) {
                        throw new IllegalStateException("no message within 60 s after " + i);
                    }
                    System.out.println("MSG " + new String(m, "UTF-8"));
                }
            } else if (mode.equals("bench")) {
                bench(q, n, Integer.parseInt(args[4]));
            } else {
                throw new IllegalArgumentException("unknown mode " + mode);
            }
            System.out.println("OK");
        } finally {
            client.close();
        }
    }

    interface Step { void run(int i) throws Exception; }

    /** Runs step n times over threads threads and returns the seconds it took. */
    static double timed(int n, int threads, Step step) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        Peers.inThreads(threads, run -> {
            for (int i = next.getAndIncrement(); i < n && run.ok(); i = next.getAndIncrement()) {
                step.run(i);
            }
        });
        return (System.nanoTime() - start) / 1e9;
    }

    static void bench(SimpleDistributedQueue q, int n, int threads) throws Exception {
        byte[] msg = new byte[100];
        double put = timed(n, threads, i -> q.offer(msg));
        System.out.println("PUT " + n + " " + put);
        double take = timed(n, threads, i -> {
            if (q.poll(60, TimeUnit.SECONDS) == null) {
                throw new IllegalStateException("queue ran dry");
            }
        });
        System.out.println("TAKE " + n + " " + take);
    }
}
