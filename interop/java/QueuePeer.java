import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.queue.DistributedDelayQueue;
import org.apache.curator.framework.recipes.queue.DistributedIdQueue;
import org.apache.curator.framework.recipes.queue.DistributedPriorityQueue;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.MultiItem;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.state.ConnectionState;

/**
 * Curator 5.4's side of zookit's SimpleQueue interop test.
 *
 * QueuePeer CONNECT offer PATH N PREFIX  offers PREFIX/0000 .. PREFIX/N-1, prints "OK"
 * QueuePeer CONNECT take PATH N          takes N messages, printing "MSG <text>" for each, then "OK"
 * QueuePeer CONNECT bench PATH N THREADS THREADS threads offer N messages in all, then take them;
 *                                        prints "PUT <n> <seconds>", "TAKE <n> <seconds>", "OK"
 *
 * The same for Curator's DistributedQueue family (LOCKPATH "-" means none):
 *
 * QueuePeer CONNECT dput PATH N PREFIX       puts PREFIX/0000 .. PREFIX/N-1, every third put a
 *                                            putMulti of two messages, prints "OK"
 * QueuePeer CONNECT dtake PATH N LOCKPATH    consumes until N messages came, printing "MSG <text>"
 *                                            for each, then "OK"
 * QueuePeer CONNECT dhold PATH LOCKPATH MS   consumes in lock-path mode with a session of MS ms;
 *                                            prints "HOLDING <text>" for the first message and
 *                                            never returns from it (the test kills the process)
 * QueuePeer CONNECT dserve PATH LOCKPATH    consumes, printing "MSG <text>" for each, until stdin
 *                                            says "exit" or ends, then prints "OK"
 * QueuePeer CONNECT pput PATH P...           priority queue: puts "<P>/<i>" with priority P for
 *                                            the i-th P, prints "OK"
 * QueuePeer CONNECT ptake PATH N             priority queue: consumes N messages as dtake does
 * QueuePeer CONNECT yput PATH MS...         delay queue: puts "<i>" due at now + the i-th MS (may be
 *                                            negative), prints "OK"
 * QueuePeer CONNECT ytake PATH N             delay queue: consumes N messages, printing
 *                                            "MSG <text> <Unix ms at delivery>" for each, then "OK"
 * QueuePeer CONNECT iput PATH ID=TEXT...     id queue: puts each TEXT under its ID, prints "OK"
 * QueuePeer CONNECT iremove PATH ID          id queue: removes ID's items, prints "REMOVED <n>", "OK"
 * QueuePeer CONNECT itake PATH N             id queue: consumes N messages as dtake does
 * QueuePeer CONNECT dbench PATH N THREADS    as bench, on a DistributedQueue: THREADS threads put,
 *                                            then THREADS queues on the client consume
 */
public class QueuePeer {
    public static void main(String[] args) throws Exception {
        String connect = args[0], mode = args[1], path = args[2];
        int n = List.of("pput", "yput", "iput", "iremove", "dhold", "dserve").contains(mode) ? 0 : Integer.parseInt(args[3]);
        int sessionMs = mode.equals("dhold") ? Integer.parseInt(args[4]) : 10000;
        CuratorFramework client = Peers.connect(connect, sessionMs, 60);
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
            } else if (mode.equals("dput")) {
                dput(client, path, n, args[4]);
            } else if (mode.equals("dtake")) {
                consume(client, path, n, args[4], "plain");
            } else if (mode.equals("dhold")) {
                hold(client, path, args[3]);
            } else if (mode.equals("dserve")) {
                serve(client, path, args[3]);
            } else if (mode.equals("pput")) {
                pput(client, path, args);
            } else if (mode.equals("ptake")) {
                consume(client, path, n, "-", "priority");
            } else if (mode.equals("yput")) {
                yput(client, path, args);
            } else if (mode.equals("ytake")) {
                ytake(client, path, n);
            } else if (mode.equals("iput") || mode.equals("iremove")) {
                ids(client, path, mode, args);
            } else if (mode.equals("itake")) {
                consume(client, path, n, "-", "id");
            } else if (mode.equals("dbench")) {
                dbench(client, path, n, Integer.parseInt(args[4]));
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

    static final QueueSerializer<String> TEXT = new QueueSerializer<String>() {
        @Override
        public byte[] serialize(String item) {
            return item.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String deserialize(byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    };

    /** A consumer that hands each message to handle. */
    interface Handle { void consume(String m) throws Exception; }

    static QueueConsumer<String> consumer(Handle handle) {
        return new QueueConsumer<String>() {
            @Override
            public void consumeMessage(String m) throws Exception {
                handle.consume(m);
            }

            @Override
            public void stateChanged(CuratorFramework client, ConnectionState newState) {
            }
        };
    }

    static QueueBuilder<String> builder(CuratorFramework client, QueueConsumer<String> c, String path, String lockPath) {
        QueueBuilder<String> b = QueueBuilder.builder(client, c, TEXT, path);
        return lockPath.equals("-") ? b : b.lockPath(lockPath);
    }

    static void dput(CuratorFramework client, String path, int n, String prefix) throws Exception {
        try (DistributedQueue<String> q = builder(client, null, path, "-").buildQueue()) {
            q.start();
            for (int i = 0; i < n; i++) {
                String m = String.format("%s/%04d", prefix, i);
                if (i % 3 == 2 && i + 1 < n) {
                    List<String> two = new ArrayList<>(List.of(m, String.format("%s/%04d", prefix, ++i)));
                    q.putMulti(() -> two.isEmpty() ? null : two.remove(0));
                } else {
                    q.put(m);
                }
            }
            if (!q.flushPuts(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("puts not flushed");
            }
        }
    }

    /** Consumes until n messages came from a queue of kind (plain, priority, id), printing each. */
    static void consume(CuratorFramework client, String path, int n, String lockPath, String kind) throws Exception {
        CountDownLatch left = new CountDownLatch(n);
        QueueConsumer<String> c = consumer(m -> {
            synchronized (System.out) {
                System.out.println("MSG " + m);
                System.out.flush();
            }
            left.countDown();
        });
        java.io.Closeable q;
        if (kind.equals("priority")) {
            DistributedPriorityQueue<String> pq = builder(client, c, path, lockPath).buildPriorityQueue(0);
            pq.start();
            q = pq;
        } else if (kind.equals("id")) {
            DistributedIdQueue<String> iq = builder(client, c, path, lockPath).buildIdQueue();
            iq.start();
            q = iq;
        } else {
            DistributedQueue<String> dq = builder(client, c, path, lockPath).buildQueue();
            dq.start();
            q = dq;
        }
        System.out.println("STARTED");
        System.out.flush();
        try {
            if (!left.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException(left.getCount() + " messages missing after 60 s");
            }
            // In lock-path mode the last item is deleted after its message
            // was handled: let that happen before close stops the thread.
            for (int i = 0; i < 600 && !client.getChildren().forPath(path).isEmpty(); i++) {
                Thread.sleep(50);
            }
        } finally {
            q.close();
        }
    }

    static void hold(CuratorFramework client, String path, String lockPath) throws Exception {
        DistributedQueue<String> q = builder(client, consumer(m -> {
            System.out.println("HOLDING " + m);
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }), path, lockPath).buildQueue();
        q.start();
        System.out.println("STARTED");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    static void serve(CuratorFramework client, String path, String lockPath) throws Exception {
        try (DistributedQueue<String> q = builder(client, consumer(m -> {
            synchronized (System.out) {
                System.out.println("MSG " + m);
                System.out.flush();
            }
        }), path, lockPath).buildQueue()) {
            q.start();
            System.out.println("STARTED");
            System.out.flush();
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null && !line.equals("exit"); line = in.readLine()) {
            }
        }
    }

    static void pput(CuratorFramework client, String path, String[] args) throws Exception {
        try (DistributedPriorityQueue<String> q = builder(client, null, path, "-").buildPriorityQueue(0)) {
            q.start();
            for (int i = 3; i < args.length; i++) {
                int p = Integer.parseInt(args[i]);
                q.put(p + "/" + (i - 3), p);
            }
            if (!q.flushPuts(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("puts not flushed");
            }
        }
    }

    static void yput(CuratorFramework client, String path, String[] args) throws Exception {
        try (DistributedDelayQueue<String> q = builder(client, null, path, "-").buildDelayQueue()) {
            q.start();
            long now = System.currentTimeMillis();
            for (int i = 3; i < args.length; i++) {
                q.put(Integer.toString(i - 3), now + Long.parseLong(args[i]));
            }
            if (!q.flushPuts(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("puts not flushed");
            }
        }
    }

    static void ytake(CuratorFramework client, String path, int n) throws Exception {
        CountDownLatch left = new CountDownLatch(n);
        try (DistributedDelayQueue<String> q = builder(client, consumer(m -> {
            System.out.println("MSG " + m + " " + System.currentTimeMillis());
            System.out.flush();
            left.countDown();
        }), path, "-").buildDelayQueue()) {
            q.start();
            if (!left.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException(left.getCount() + " messages missing after 60 s");
            }
        }
    }

    static void ids(CuratorFramework client, String path, String mode, String[] args) throws Exception {
        try (DistributedIdQueue<String> q = builder(client, null, path, "-").buildIdQueue()) {
            q.start();
            if (mode.equals("iremove")) {
                System.out.println("REMOVED " + q.remove(args[3]));
                return;
            }
            for (int i = 3; i < args.length; i++) {
                String[] idText = args[i].split("=", 2);
                q.put(idText[1], idText[0]);
            }
            if (!q.flushPuts(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("puts not flushed");
            }
        }
    }

    static void dbench(CuratorFramework client, String path, int n, int threads) throws Exception {
        String msg = new String(new char[100]).replace('\0', 'x');
        try (DistributedQueue<String> producer = builder(client, null, path, "-").buildQueue()) {
            producer.start();
            // Curator puts in the background by default: the puts count
            // once flushPuts says the server has them all.
            long start = System.nanoTime();
            timed(n, threads, i -> producer.put(msg));
            if (!producer.flushPuts(300, TimeUnit.SECONDS)) {
                throw new IllegalStateException("puts not flushed");
            }
            System.out.println("PUT " + n + " " + (System.nanoTime() - start) / 1e9);
        }
        CountDownLatch left = new CountDownLatch(n);
        List<DistributedQueue<String>> consumers = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            DistributedQueue<String> q = builder(client, consumer(m -> left.countDown()), path, "-").buildQueue();
            q.start();
            consumers.add(q);
        }
        if (!left.await(300, TimeUnit.SECONDS)) {
            throw new IllegalStateException(left.getCount() + " messages not taken");
        }
        System.out.println("TAKE " + n + " " + (System.nanoTime() - start) / 1e9);
        for (DistributedQueue<String> q : consumers) {
            q.close();
        }
    }
}
