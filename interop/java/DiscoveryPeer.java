import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.utils.ZKPaths;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceInstanceBuilder;
import org.apache.curator.x.discovery.ServiceType;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

/**
 * Curator 5.4's side of zookit's service discovery interop test. It runs a
 * ServiceDiscovery with Curator's default JsonInstanceSerializer and takes
 * commands on stdin; binary or spaced text is printed as base64.
 *
 * DiscoveryPeer CONNECT BASEPATH, then:
 *   register NAME ID TYPE KIND  registers the fixed instance of KIND (map or pojo), prints "REGISTERED <node data>"
 *   query NAME                  prints "INSTANCE <json> <payload class> <uri>" per instance, json written
 *                               back with the enabled field (so that it shows what Curator read), then "END <n>"
 *   exit                        closes the discovery (unregistering) and prints "OK"
 */
public class DiscoveryPeer {
    /** The POJO payload; Jackson writes its fields in this order. */
    public static class Details {
        public String description;
        public int weight;
        public List<String> tags;
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0], base = args[1];
        CuratorFramework client = Peers.connect(connect, 10000, 60);
        try {
            ServiceDiscovery<Object> discovery = ServiceDiscoveryBuilder.builder(Object.class)
                    .client(client)
                    .basePath(base)
                    .serializer(new JsonInstanceSerializer<Object>(Object.class))
                    .build();
            discovery.start();
            JsonInstanceSerializer<Object> withEnabled = new JsonInstanceSerializer<Object>(Object.class, false);
            Base64.Encoder b64 = Base64.getEncoder();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.trim().split(" ");
                try {
                    if (f[0].equals("register")) {
                        ServiceInstance<Object> inst = instance(f[1], f[2], ServiceType.valueOf(f[3]), f[4]);
                        discovery.registerService(inst);
                        byte[] data = client.getData().forPath(ZKPaths.makePath(base, f[1], f[2]));
                        System.out.println("REGISTERED " + b64.encodeToString(data));
                    } else if (f[0].equals("query")) {
                        int n = 0;
                        for (ServiceInstance<Object> inst : discovery.queryForInstances(f[1])) {
                            Object p = inst.getPayload();
                            System.out.println("INSTANCE " + b64.encodeToString(withEnabled.serialize(inst)) + " "
                                    + (p == null ? "-" : p.getClass().getName()) + " "
                                    + b64.encodeToString(inst.buildUriSpec().getBytes(StandardCharsets.UTF_8)));
                            n++;
                        }
                        System.out.println("END " + n);
                    } else if (f[0].equals("exit")) {
                        break;
                    } else {
                        System.out.println("ERROR unknown command " + f[0]);
                    }
                } catch (Exception e) {
                    System.out.println("ERROR " + e.toString().replace('\n', ' '));
                }
            }
            discovery.close();
            System.out.println("OK");
        } finally {
            client.close();
        }
    }

    /** The fixed instance the Go test builds too, so that both writings can be compared. */
    static ServiceInstance<Object> instance(String name, String id, ServiceType type, String kind) throws Exception {
        Object payload;
        Integer sslPort = null;
        if (kind.equals("map")) {
            // In key order, as Go writes a map.
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("region", "eu-west");
            m.put("tags", Arrays.asList("a", "b"));
            m.put("weight", 3);
            payload = m;
        } else if (kind.equals("pojo")) {
            Details d = new Details();
            d.description = "primary \"replica\" <eu> \u00e9\t\u0001";
            d.weight = 7;
            d.tags = Arrays.asList("x");
            payload = d;
            sslPort = 8443;
        } else {
            throw new IllegalArgumentException("unknown payload kind " + kind);
        }
        ServiceInstanceBuilder<Object> b = ServiceInstance.<Object>builder()
                .name(name)
                .id(id)
                .address("10.0.0.7")
                .port(8080)
                .payload(payload)
                .registrationTimeUTC(1700000000000L)
                .serviceType(type)
                .uriSpec(new UriSpec("{scheme}://{address}:{port}/v1"));
        if (sslPort != null) {
            b.sslPort(sslPort);
        }
        return b.build();
    }
}
