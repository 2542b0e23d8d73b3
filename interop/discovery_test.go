package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/discovery"
	"github.com/zookit/zookit/lock/locktest"
)

// peerDetails is DiscoveryPeer.Details.
type peerDetails struct {
	Description string   `json:"description"`
	Weight      int      `json:"weight"`
	Tags        []string `json:"tags"`
}

const peerDetailsClass = "DiscoveryPeer$Details"

// peerInstance is DiscoveryPeer.instance: the instance the peer registers
// for kind "map" or "pojo", built in Go.
func peerInstance(name, id string, typ discovery.ServiceType, kind string) discovery.ServiceInstance[any] {
	spec, err := discovery.ParseURISpec("{scheme}://{address}:{port}/v1")
	if err != nil {
		panic(err)
	}
	inst := discovery.ServiceInstance[any]{
		Name: name, ID: id, Address: "10.0.0.7", Port: 8080,
		RegistrationTimeUTC: time.UnixMilli(1700000000000).UTC(),
		ServiceType:         typ,
		URISpec:             spec,
	}
	switch kind {
	case "map":
		inst.Payload = map[string]any{"region": "eu-west", "tags": []string{"a", "b"}, "weight": 3}
		inst.PayloadClass = "java.util.LinkedHashMap"
	case "pojo":
		inst.Payload = peerDetails{Description: "primary \"replica\" <eu> \u00e9\t\u0001", Weight: 7, Tags: []string{"x"}}
		inst.PayloadClass = peerDetailsClass
		inst.SSLPort = 8443
	}
	return inst
}

// TestDiscoveryCurator shares service discovery between Go and Curator
// 5.4's curator-x-discovery on one base path, against both servers: each
// side finds the other's instances with every field intact, and Go writes
// the same node data as Curator for the same instance.
func TestDiscoveryCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(compileCtx, t.TempDir(), "DiscoveryPeer")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			const base = "/interop/services"
			peer, err := StartPeer(exec.CommandContext(ctx, "java", "-cp", cp, "DiscoveryPeer", addr, base))
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Kill()
			client := locktest.Connect(t, addr)
			d := discovery.New[any](client, base)
			defer d.Close(ctx)

			t.Run("CuratorToGo", func(t *testing.T) {
				for _, c := range []struct {
					id, kind string
					typ      discovery.ServiceType
					uri      string
				}{
					{"c-map", "map", discovery.Dynamic, "http://10.0.0.7:8080/v1"},
					{"c-pojo", "pojo", discovery.Static, "https://10.0.0.7:8080/v1"},
				} {
					curatorData := peerRegister(t, ctx, peer, "curator-svc", c.id, c.typ, c.kind)
					want := peerInstance("curator-svc", c.id, c.typ, c.kind)
					if details, ok := want.Payload.(peerDetails); ok {
						checkFound(t, ctx, discovery.New[peerDetails](client, base), withPayload(want, details))
					} else {
						checkFound(t, ctx, d, withPayload(want, roundTripAny(t, want.Payload)))
					}
					if u := discovery.BuildURI(&want, nil); u != c.uri {
						t.Errorf("%s: uri %q, want %q", c.id, u, c.uri)
					}
					// Go registers the same instance under another base
					// path: its node data must be Curator's.
					goBase := base + "-go"
					mine := discovery.New[any](locktest.Connect(t, addr), goBase)
					if err := mine.Register(ctx, want); err != nil {
						t.Fatal(err)
					}
					goData, _, err := client.Get(ctx, mine.PathFor(want.Name, want.ID))
					if err != nil {
						t.Fatal(err)
					}
					sameJSON(t, c.id, goData, curatorData)
					if err := mine.Close(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if all, err := d.QueryForInstances(ctx, "curator-svc"); err != nil || len(all) != 2 {
					t.Fatalf("Go found %d instances of curator-svc (%v), want 2", len(all), err)
				}
			})

			t.Run("GoToCurator", func(t *testing.T) {
				full := discovery.New[any](locktest.Connect(t, addr), base, discovery.WithEnabledField())
				defer full.Close(ctx)
				off := peerInstance("go-svc", "g-off", discovery.Dynamic, "map")
				off.Disabled = true
				regs := []struct {
					d     *discovery.ServiceDiscovery[any]
					inst  discovery.ServiceInstance[any]
					class string
					uri   string
				}{
					{d, peerInstance("go-svc", "g-map", discovery.Dynamic, "map"), "java.util.LinkedHashMap", "http://10.0.0.7:8080/v1"},
					{full, off, "java.util.LinkedHashMap", "http://10.0.0.7:8080/v1"},
					{d, peerInstance("go-svc", "g-pojo", discovery.Permanent, "pojo"), peerDetailsClass, "https://10.0.0.7:8080/v1"},
				}
				for _, r := range regs {
					if err := r.d.Register(ctx, r.inst); err != nil {
						t.Fatal(err)
					}
				}
				if err := peer.Send("query go-svc"); err != nil {
					t.Fatal(err)
				}
				var lines []PeerLine
				for range regs {
					l, err := peer.Await(ctx, "INSTANCE")
					if err != nil {
						t.Fatal(err)
					}
					lines = append(lines, l)
				}
				if _, err := peer.Await(ctx, "END", fmt.Sprint(len(regs))); err != nil {
					t.Fatal(err)
				}
				// Curator lists in the server's order; Go's are sorted by id.
				for _, r := range regs {
					var l PeerLine
					for _, cand := range lines {
						if strings.Contains(string(unb64(t, cand.Fields[1])), `"id":"`+r.inst.ID+`"`) {
							l = cand
						}
					}
					if l.Fields == nil {
						t.Fatalf("Curator did not find %s among %v", r.inst.ID, lines)
					}
					// What Curator read, written back with enabled, must be
					// what Go registered.
					wantData, err := discovery.Serializer[any]{WriteEnabled: true}.Serialize(&r.inst)
					if err != nil {
						t.Fatal(err)
					}
					sameJSON(t, r.inst.ID, unb64(t, l.Fields[1]), wantData)
					if l.Fields[2] != r.class {
						t.Errorf("%s: Curator made a %s payload, want %s", r.inst.ID, l.Fields[2], r.class)
					}
					if u := string(unb64(t, l.Fields[3])); u != r.uri {
						t.Errorf("%s: Curator built uri %q, want %q", r.inst.ID, u, r.uri)
					}
				}
			})

			if err := peer.Exit(ctx); err != nil {
				t.Fatalf("peer exit: %v\nstderr:\n%s", err, peer.Stderr())
			}
		})
	}
}

// peerRegister has the peer register its fixed instance and returns the
// node data Curator wrote.
func peerRegister(t *testing.T, ctx context.Context, peer *PeerProcess, name, id string, typ discovery.ServiceType, kind string) []byte {
	t.Helper()
	if err := peer.Send("register %s %s %s %s", name, id, typ, kind); err != nil {
		t.Fatal(err)
	}
	l, err := peer.Await(ctx, "REGISTERED")
	if err != nil {
		t.Fatal(err)
	}
	return unb64(t, l.Fields[1])
}

// checkFound wants Go to find want's instance with every field intact.
func checkFound[P any](t *testing.T, ctx context.Context, d *discovery.ServiceDiscovery[P], want discovery.ServiceInstance[P]) {
	t.Helper()
	got, err := d.QueryForInstance(ctx, want.Name, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("Go read\n%+v\nwant\n%+v", *got, want)
	}
}

// withPayload is inst with p, of p's type, as its payload.
func withPayload[P any](inst discovery.ServiceInstance[any], p P) discovery.ServiceInstance[P] {
	return discovery.ServiceInstance[P]{
		Name: inst.Name, ID: inst.ID, Address: inst.Address, Port: inst.Port, SSLPort: inst.SSLPort,
		Payload: p, PayloadClass: inst.PayloadClass, RegistrationTimeUTC: inst.RegistrationTimeUTC,
		ServiceType: inst.ServiceType, URISpec: inst.URISpec, Disabled: inst.Disabled,
	}
}

// roundTripAny is v as a decoded untyped payload looks: numbers as
// json.Number, lists as []any.
func roundTripAny(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameJSON wants got and want equal field by field as JSON, and byte for
// byte.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v in %s", what, err, want)
	}
	for k, wv := range w {
		if gv, ok := g[k]; !ok || !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s: field %s is %v, want %v", what, k, gv, wv)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: extra field %s", what, k)
		}
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: bytes differ:\n got %s\nwant %s", what, got, want)
	}
}

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
