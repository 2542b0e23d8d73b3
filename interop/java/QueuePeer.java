import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Curator 5.4's side of zookit's SimpleQueue interop test.
 *
 * QueuePeer CONNECT offer PATH N PREFIX  offers PREFIX/0000 .. PREFIX/N-1, prints "OK"
 * QueuePeer CONNECT take PATH N          takes N messages, printing "MSG <text>" for each, then "OK"
 */
public class QueuePeer {
    public static void main(String[] args) throws Exception {
        String connect = args[0], mode = args[1], path = args[2];
        int n = Integer.parseInt(args[3]);
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10000)
                .retryPolicy(new ExponentialBackoffRetry(100, 10))
                .build();
        client.start();
        try {
            if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not connected to " + connect);
            }
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
            } else {
                throw new IllegalArgumentException("unknown mode " + mode);
            }
            System.out.println("OK");
        } finally {
            client.close();
        }
    }
}
