import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Curator 5.4 as a read-only capable client (canBeReadOnly), for zookit's
 * read-only interop test. It prints "STATE <ConnectionState>" on every
 * connection state change, and runs commands from stdin:
 *
 *   get PATH          prints "DATA <data>" or "ERROR <exception>"
 *   create PATH DATA  prints "CREATED <path>" or "ERROR <exception>"
 *   exit
 */
public class ReadOnlyPeer {
    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .canBeReadOnly(true)
                .sessionTimeoutMs(10000)
                .retryPolicy(new ExponentialBackoffRetry(100, 10))
                .build();
        client.getConnectionStateListenable().addListener((c, state) -> System.out.println("STATE " + state));
        client.start();
        try {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.trim().split(" ");
                try {
                    if (f[0].equals("get")) {
                        System.out.println("DATA " + new String(client.getData().forPath(f[1]), StandardCharsets.UTF_8));
                    } else if (f[0].equals("create")) {
                        System.out.println("CREATED " + client.create().forPath(f[1], f[2].getBytes(StandardCharsets.UTF_8)));
                    } else if (f[0].equals("exit")) {
                        break;
                    } else {
                        System.out.println("ERROR unknown command " + f[0]);
                    }
                } catch (Exception e) {
                    System.out.println("ERROR " + e.toString().replace('\n', ' '));
                }
            }
        } finally {
            client.close();
        }
    }
}
