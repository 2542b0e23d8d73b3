import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;

/**
 * Drives Curator 5.4 against the server given as the first argument and prints
 * one "OK ..." line per check that passed; the Go test asserts on those lines.
 * Any failure throws, so the process exits non-zero with a stack trace.
 */
public class CuratorCheck {
    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .retryPolicy(new RetryOneTime(100))
                .build();
        client.start();
        try {
            if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not connected to " + args[0]);
            }
            System.out.println("OK connected");

            // Curator sends createContainer (opcode 19) for each missing parent.
            String path = client.create().creatingParentContainersIfNeeded()
                    .forPath("/a/b/c", "leaf".getBytes());
            System.out.println("OK created " + path);

            // checkWatches (17) removes one watcher; the server must know it.
            Watcher watcher = event -> { };
            client.getData().usingWatcher(watcher).forPath("/a/b/c");
            client.watchers().remove(watcher).forPath("/a/b/c");
            System.out.println("OK removed data watcher");
            try {
                client.watchers().remove(watcher).forPath("/a/b/c");
                throw new IllegalStateException("second removal of the same watcher succeeded");
            } catch (KeeperException.NoWatcherException expected) {
                System.out.println("OK second removal: NoWatcher");
            }

            // removeWatches (18) drops every child watch on the path.
            client.getChildren().usingWatcher(watcher).forPath("/a/b");
            client.watchers().removeAll().ofType(Watcher.WatcherType.Children).forPath("/a/b");
            System.out.println("OK removed all child watchers");
        } finally {
            client.close();
        }
    }
}
