import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.curator.RetryPolicy;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicInteger;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicNumber;
import org.apache.curator.framework.recipes.atomic.PromotedToLock;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.SharedCountListener;
import org.apache.curator.framework.recipes.shared.SharedCountReader;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;

/**
 * Curator 5.4's side of zookit's counter interop test.
 *
 * CounterPeer CONNECT SECONDS
 *   Connects one session, prints "READY", then runs commands read from
 *   stdin one at a time. Each command's output ends with a line "OK ..."
 *   or "ERROR <message>"; no wait in a command lasts beyond SECONDS.
 *
 * atomic-long|atomic-int PATH THREADS N RETRIES [LOCKPATH LOCKRETRIES]
 *   THREADS threads, each with its own DistributedAtomicLong (Integer) on
 *   PATH with RetryNTimes(RETRIES, 5) (and PromotedToLock on LOCKPATH with
 *   RetryNTimes(LOCKRETRIES, 5)), increment until each has succeeded N
 *   times; a failed AtomicValue is counted and retried. Prints
 *   "POST <pre> <post> <promoted 0|1>" per success, then
 *   "OK <successes> <failures> <promoted successes>".
 * get-long|get-int PATH       prints "VALUE <v>", then "OK".
 * set-long|set-int PATH V     forceSet(V); prints "OK".
 * shared-count PATH THREADS N
 *   Starts the SharedCount on PATH (seed 0) with a listener, or reuses
 *   it; THREADS threads each loop trySetCount(prev, prev + 1) until it has
 *   returned true N times. Prints "SET <v>" per success, then
 *   "OK <successes> <failures>".
 * shared-await PATH V         waits until the listener of PATH's
 *   SharedCount has been told V; prints "SEEN <v> <getCount()>", "OK".
 * shared-get PATH             a fresh SharedCount's getCount(): "VALUE <v>".
 * shared-set PATH V           a fresh SharedCount's setCount(V): "OK".
 * exit (or EOF)               closes everything and exits 0.
 */
public class CounterPeer {
    static CuratorFramework client;
    static long seconds;
    static final Map<String, SharedCount> shared = new HashMap<>();
    /** Every value each SharedCount's listener was told, by path. */
    static final Map<String, Set<Integer>> told = new ConcurrentHashMap<>();

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            // Curator's threads would keep the JVM alive after main.
            System.exit(1);
        }
        System.exit(0);
    }

    static void run(String[] args) throws Exception {
        String connect = args[0];
        seconds = Long.parseLong(args[1]);
        client = Peers.connect(connect, 10000, seconds);
        try {
            System.out.println("READY");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.trim().split("\\s+");
                if (f[0].equals("exit")) {
                    break;
                }
                try {
                    command(f);
                } catch (Throwable e) {
                    // The Go side reads the ERROR line; the trace is for its log.
                    e.printStackTrace();
                    System.out.println("ERROR " + String.valueOf(e).replace('\n', ' '));
                }
            }
        } finally {
            for (SharedCount s : shared.values()) {
                s.close();
            }
            client.close();
        }
    }

    static void command(String[] f) throws Exception {
        switch (f[0]) {
            case "atomic-long":
            case "atomic-int":
                increments(f);
                break;
            case "get-long":
                System.out.println("VALUE " + checked(new DistributedAtomicLong(client, f[1], new RetryNTimes(0, 0)).get()));
                System.out.println("OK");
                break;
            case "get-int":
                System.out.println("VALUE " + checked(new DistributedAtomicInteger(client, f[1], new RetryNTimes(0, 0)).get()));
                System.out.println("OK");
                break;
            case "set-long":
                new DistributedAtomicLong(client, f[1], new RetryNTimes(0, 0)).forceSet(Long.parseLong(f[2]));
                System.out.println("OK");
                break;
            case "set-int":
                new DistributedAtomicInteger(client, f[1], new RetryNTimes(0, 0)).forceSet(Integer.parseInt(f[2]));
                System.out.println("OK");
                break;
            case "shared-count":
                sharedCount(f[1], Integer.parseInt(f[2]), Integer.parseInt(f[3]));
                break;
            case "shared-await":
                sharedAwait(f[1], Integer.parseInt(f[2]));
                break;
            case "shared-get":
                try (SharedCount s = new SharedCount(client, f[1], 0)) {
                    s.start();
                    System.out.println("VALUE " + s.getCount());
                }
                System.out.println("OK");
                break;
            case "shared-set":
                try (SharedCount s = new SharedCount(client, f[1], 0)) {
                    s.start();
                    s.setCount(Integer.parseInt(f[2]));
                }
                System.out.println("OK");
                break;
            default:
                throw new IllegalArgumentException("unknown command " + f[0]);
        }
    }

    static <T> T checked(AtomicValue<T> v) {
        if (!v.succeeded()) {
            throw new IllegalStateException("get() did not succeed");
        }
        return v.postValue();
    }

    static long deadline() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    }

    static void increments(String[] f) throws Exception {
        boolean isLong = f[0].equals("atomic-long");
        String path = f[1];
        int threads = Integer.parseInt(f[2]);
        int n = Integer.parseInt(f[3]);
        int retries = Integer.parseInt(f[4]);
        PromotedToLock promotion = f.length > 5
                ? PromotedToLock.builder().lockPath(f[5]).timeout(seconds, TimeUnit.SECONDS)
                        .retryPolicy(new RetryNTimes(Integer.parseInt(f[6]), 5)).build()
                : null;
        long end = deadline();
        AtomicLong ok = new AtomicLong(), failed = new AtomicLong(), promoted = new AtomicLong();
        Peers.inThreads(threads, run -> {
            RetryPolicy optimistic = new RetryNTimes(retries, 5);
            DistributedAtomicNumber<? extends Number> counter = isLong
                    ? (promotion == null ? new DistributedAtomicLong(client, path, optimistic)
                            : new DistributedAtomicLong(client, path, optimistic, promotion))
                    : (promotion == null ? new DistributedAtomicInteger(client, path, optimistic)
                            : new DistributedAtomicInteger(client, path, optimistic, promotion));
            for (int done = 0; done < n && run.ok(); ) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("increments not done within " + seconds + "s");
                }
                AtomicValue<? extends Number> v = counter.increment();
                if (!v.succeeded()) {
                    failed.incrementAndGet();
                    continue;
                }
                boolean p = v.getStats().getPromotedLockTries() > 0;
                if (p) {
                    promoted.incrementAndGet();
                }
                System.out.println("POST " + v.preValue() + " " + v.postValue() + " " + (p ? 1 : 0));
                ok.incrementAndGet();
                done++;
            }
        });
        System.out.println("OK " + ok.get() + " " + failed.get() + " " + promoted.get());
    }

    static SharedCount sharedCount(String path) throws Exception {
        SharedCount s = shared.get(path);
        if (s == null) {
            Set<Integer> seen = ConcurrentHashMap.newKeySet();
            told.put(path, seen);
            s = new SharedCount(client, path, 0);
            s.addListener(new SharedCountListener() {
                @Override
                public void countHasChanged(SharedCountReader reader, int newCount) {
                    seen.add(newCount);
                }

                @Override
                public void stateChanged(CuratorFramework c, ConnectionState state) {
                }
            });
            s.start();
            shared.put(path, s);
        }
        return s;
    }

    static void sharedCount(String path, int threads, int n) throws Exception {
        SharedCount s = sharedCount(path);
        long end = deadline();
        AtomicLong ok = new AtomicLong(), failed = new AtomicLong();
        Peers.inThreads(threads, run -> {
            for (int done = 0; done < n && run.ok(); ) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("trySetCount loops not done within " + seconds + "s");
                }
                VersionedValue<Integer> prev = s.getVersionedValue();
                int next = prev.getValue() + 1;
                if (!s.trySetCount(prev, next)) {
                    failed.incrementAndGet();
                    continue;
                }
                System.out.println("SET " + next);
                ok.incrementAndGet();
                done++;
            }
        });
        System.out.println("OK " + ok.get() + " " + failed.get());
    }

    static void sharedAwait(String path, int want) throws Exception {
        SharedCount s = sharedCount(path);
        Set<Integer> seen = told.get(path);
        long end = deadline();
        while (!seen.contains(want)) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("listener not told " + want + " within " + seconds
                        + "s; count " + s.getCount());
            }
            Thread.sleep(10);
        }
        System.out.println("SEEN " + want + " " + s.getCount());
        System.out.println("OK");
    }
}
