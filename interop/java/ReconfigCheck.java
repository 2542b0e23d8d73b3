import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.KeeperException;

/**
 * Curator 5.4's reconfiguration API against an ensemble with
 * reconfigEnabled=true (args: connect string, an observer spec for
 * server.100 on ports nothing listens on). Prints one "OK ..." line per
 * check; a failed check throws.
 */
public class ReconfigCheck {
    public static void main(String[] args) throws Exception {
        CuratorFramework plain = CuratorFrameworkFactory.newClient(args[0], new RetryOneTime(100));
        CuratorFramework su = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .retryPolicy(new RetryOneTime(100))
                .authorization("digest", "super:test".getBytes(StandardCharsets.UTF_8))
                .build();
        plain.start();
        su.start();
        try {
            if (!plain.blockUntilConnected(60, TimeUnit.SECONDS) || !su.blockUntilConnected(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not connected to " + args[0]);
            }
            try {
                plain.reconfig().leaving("100").forEnsemble();
                throw new IllegalStateException("reconfig without super succeeded");
            } catch (KeeperException.NoAuthException expected) {
                System.out.println("OK no super: NoAuth");
            }
            String joining = args[1];
            String added = new String(su.reconfig().joining(Collections.singletonList(joining)).fromConfig(-1).forEnsemble(), StandardCharsets.UTF_8);
            if (!added.contains(joining)) {
                throw new IllegalStateException("added config lacks the observer:\n" + added);
            }
            System.out.println("OK added observer");
            String read = new String(su.getConfig().forEnsemble(), StandardCharsets.UTF_8);
            if (!read.equals(added)) {
                throw new IllegalStateException("getConfig differs from reconfig's answer:\n" + read + "\n--\n" + added);
            }
            System.out.println("OK getConfig is reconfig's answer");
            String removed = new String(su.reconfig().leaving(Collections.singletonList("100")).forEnsemble(), StandardCharsets.UTF_8);
            if (removed.contains(joining)) {
                throw new IllegalStateException("removed config still has the observer:\n" + removed);
            }
            System.out.println("OK removed observer");
            String[] lines = removed.split("\n");
            long version = Long.parseLong(lines[lines.length - 1].split("=")[1], 16);
            try {
                su.reconfig().joining(Collections.singletonList(joining)).fromConfig(version + 1).forEnsemble();
                throw new IllegalStateException("reconfig from a future config succeeded");
            } catch (KeeperException.BadVersionException expected) {
                System.out.println("OK future version: BadVersion");
            }
            try {
                su.reconfig().joining(Collections.singletonList("some thing")).forEnsemble();
                throw new IllegalStateException("a malformed spec was taken");
            } catch (KeeperException.BadArgumentsException expected) {
                System.out.println("OK bad input: BadArguments");
            }
        } finally {
            su.close();
            plain.close();
        }
    }
}
