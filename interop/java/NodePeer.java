import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.nodes.GroupMember;
import org.apache.curator.framework.recipes.nodes.PersistentTtlNode;

/**
 * Curator 5.4's side of zookit's node interop test: group membership and
 * TTL nodes on paths a Go process shares. Commands on stdin:
 *
 * NodePeer CONNECT, then:
 *   member PATH ID PAYLOAD  joins the GroupMember at PATH, prints "JOINED"
 *   members                 prints "MEMBERS id=payload ..." of the last group joined, sorted by id
 *   ttl PATH TTLMS DATA     keeps a PersistentTtlNode at PATH, prints "TTL" once it exists
 *   exit                    closes everything it started and prints "OK"
 */
public class NodePeer {
    public static void main(String[] args) throws Exception {
        CuratorFramework client = Peers.connect(args[0], 10000, 60);
        List<AutoCloseable> started = new ArrayList<>();
        GroupMember group = null;
        try {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.trim().split(" ");
                try {
                    if (f[0].equals("member")) {
                        group = new GroupMember(client, f[1], f[2], f[3].getBytes(StandardCharsets.UTF_8));
                        group.start();
                        started.add(group);
                        System.out.println("JOINED");
                    } else if (f[0].equals("members")) {
                        StringBuilder b = new StringBuilder("MEMBERS");
                        for (Map.Entry<String, byte[]> e : new TreeMap<>(group.getCurrentMembers()).entrySet()) {
                            b.append(' ').append(e.getKey()).append('=').append(new String(e.getValue(), StandardCharsets.UTF_8));
                        }
                        System.out.println(b);
                    } else if (f[0].equals("ttl")) {
                        PersistentTtlNode node = new PersistentTtlNode(client, f[1], Long.parseLong(f[2]), f[3].getBytes(StandardCharsets.UTF_8));
                        node.start();
                        started.add(node);
                        if (!node.waitForInitialCreate(30, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("ttl node not created");
                        }
                        System.out.println("TTL");
                    } else if (f[0].equals("exit")) {
                        break;
                    } else {
                        System.out.println("ERROR unknown command " + f[0]);
                    }
                } catch (Exception e) {
                    System.out.println("ERROR " + e.toString().replace('\n', ' '));
                }
            }
            for (AutoCloseable c : started) {
                c.close();
            }
            System.out.println("OK");
        } finally {
            client.close();
        }
    }
}
