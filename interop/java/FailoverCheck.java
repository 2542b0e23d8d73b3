import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;

/**
 * Curator's side of the ensemble failover test. With the full connect string
 * as the first argument it creates the ephemeral node named by the second and
 * prints "SESSION 0x<id>"; the Go test then kills the server this session is
 * connected to and sends a line on stdin. The session must survive: the same
 * id after reconnecting, the ephemeral still owned by it, writes accepted, and
 * no LOST state. Each check that passes prints an "OK ..." line, every state
 * change a "STATE ..." line, and any failure throws, so the process exits
 * non-zero. The session stays open until stdin closes, so that the Go side can
 * look at its nodes while it lives.
 */
public class FailoverCheck {
    public static void main(String[] args) throws Exception {
        String connect = args[0];
        String path = args[1];
        List<ConnectionState> states = new CopyOnWriteArrayList<>();
        CountDownLatch reconnected = new CountDownLatch(1);
        // The server clamps the session timeout to 20 ticks; the retries
        // outlast it, so only the session, not the policy, decides the outcome.
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(150, 200))
                .build();
        client.getConnectionStateListenable().addListener((c, state) -> {
            states.add(state);
            System.out.println("STATE " + state);
            if (state == ConnectionState.RECONNECTED) {
                reconnected.countDown();
            }
        });
        client.start();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not connected to " + connect);
            }
            client.create().withMode(CreateMode.EPHEMERAL).forPath(path, "before".getBytes(StandardCharsets.UTF_8));
            long session = client.getZookeeperClient().getZooKeeper().getSessionId();
            System.out.println("SESSION 0x" + Long.toHexString(session));

            if (in.readLine() == null) {
                throw new IllegalStateException("stdin closed before the server was killed");
            }
            // The first request after the kill goes through Curator's retry
            // loop while the client moves to another server.
            Stat st = client.checkExists().forPath(path);
            long now = client.getZookeeperClient().getZooKeeper().getSessionId();
            if (now != session) {
                throw new IllegalStateException("session changed from 0x" + Long.toHexString(session) + " to 0x" + Long.toHexString(now));
            }
            System.out.println("OK same session");
            if (st == null) {
                throw new IllegalStateException("ephemeral " + path + " is gone");
            }
            if (st.getEphemeralOwner() != session) {
                throw new IllegalStateException("ephemeral owner is 0x" + Long.toHexString(st.getEphemeralOwner()));
            }
            System.out.println("OK ephemeral kept");
            client.setData().forPath(path, "after".getBytes(StandardCharsets.UTF_8));
            System.out.println("OK wrote after failover");
            // State events are delivered on Curator's own thread, possibly
            // after the requests above have completed.
            if (!reconnected.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no RECONNECTED state after the kill; states: " + states);
            }
            if (states.contains(ConnectionState.LOST)) {
                throw new IllegalStateException("session reported LOST; states: " + states);
            }
            System.out.println("OK reconnected without LOST");
            in.readLine();
        } finally {
            client.close();
        }
    }
}
