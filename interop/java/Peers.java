import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * What the Java peers of zookit's interop tests share, compiled with each of
 * them: a connected Curator client, and threads that fail together.
 */
final class Peers {
    private Peers() {
    }

    /** Starts a client and waits until it is connected; the caller closes it. */
    static CuratorFramework connect(String connect, int sessionMs, long waitSeconds) throws InterruptedException {
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(sessionMs)
                .retryPolicy(new ExponentialBackoffRetry(100, 10))
                .build();
        client.start();
        if (!client.blockUntilConnected((int) waitSeconds, TimeUnit.SECONDS)) {
            client.close();
            throw new IllegalStateException("not connected to " + connect);
        }
        return client;
    }

    /** Tells a thread of inThreads whether all the threads are still fine. */
    interface Run {
        boolean ok();
    }

    interface Body {
        void run(Run run) throws Exception;
    }

    /**
     * Runs body on n threads at once and waits for them all; the first
     * failure makes run.ok() false for the others and is thrown at the end.
     */
    static void inThreads(int n, Body body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Run run = () -> failure.get() == null;
        List<Thread> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
                try {
                    body.run(run);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            t.start();
            all.add(t);
        }
        for (Thread t : all) {
            t.join();
        }
        if (failure.get() != null) {
            throw new RuntimeException(failure.get());
        }
    }
}
