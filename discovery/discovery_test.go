package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zookit/zookit/discovery"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func instance(name, id string, port int) discovery.ServiceInstance[details] {
	return discovery.ServiceInstance[details]{
		Name: name, ID: id, Address: "10.0.0.1", Port: port,
		Payload: details{Description: id, Weight: port}, PayloadClass: "com.example.Details",
		RegistrationTimeUTC: time.UnixMilli(1700000000000).UTC(),
	}
}

// Registered instances are found by name and id with their fields, on
// nodes of the mode their type asks for; unregistered ones are gone.
func TestRegisterQueryUnregister(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	d := discovery.New[details](c, "/services")
	defer d.Close(ctx)
	api1, api2, static := instance("api", "a1", 8080), instance("api", "a2", 8081), instance("db", "d1", 5432)
	static.ServiceType = discovery.Static
	for _, inst := range []discovery.ServiceInstance[details]{api2, api1, static} {
		if err := d.Register(ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	if names, err := d.QueryForNames(ctx); err != nil || !slices.Equal(names, []string{"api", "db"}) {
		t.Fatalf("names %v (%v)", names, err)
	}
	got, err := d.QueryForInstances(ctx, "api")
	if err != nil || !reflect.DeepEqual(got, []discovery.ServiceInstance[details]{api1, api2}) {
		t.Fatalf("instances %+v (%v)", got, err)
	}
	if one, err := d.QueryForInstance(ctx, "db", "d1"); err != nil || !reflect.DeepEqual(*one, static) {
		t.Fatalf("db/d1: %+v (%v)", one, err)
	}
	for p, ephemeral := range map[string]bool{"/services/api/a1": true, "/services/db/d1": false} {
		st, err := c.Exists(ctx, p)
		if err != nil || st == nil || (st.EphemeralOwner == c.SessionID()) != ephemeral {
			t.Errorf("%s: %+v (%v), want ephemeral %v", p, st, err, ephemeral)
		}
	}
	// A sequential instance's node is <id><sequence>; its JSON keeps the id.
	seq := instance("jobs", "worker-", 1)
	seq.ServiceType = discovery.DynamicSequential
	if err := d.Register(ctx, seq); err != nil {
		t.Fatal(err)
	}
	if got, err := d.QueryForInstances(ctx, "jobs"); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], seq) {
		t.Fatalf("sequential instances %+v (%v)", got, err)
	}
	if err := d.Unregister(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.QueryForInstance(ctx, "api", "a1"); !errors.Is(err, discovery.ErrNotFound) {
		t.Fatalf("after Unregister: %v, want ErrNotFound", err)
	}
	if got, err := d.QueryForInstances(ctx, "none"); err != nil || len(got) != 0 {
		t.Fatalf("unknown service: %v (%v)", got, err)
	}
	if err := d.Register(ctx, instance("bad/name", "x", 1)); err == nil {
		t.Fatal("registered a name with a slash")
	}
	// Close unregisters the rest, static included, as Curator's close does.
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := d.QueryForInstances(ctx, "jobs"); err != nil || len(got) != 0 {
		t.Errorf("sequential instances after Close %+v (%v)", got, err)
	}
	for _, p := range []string{"/services/api/a2", "/services/db/d1"} {
		if st, err := c.Exists(ctx, p); st != nil || err != nil {
			t.Errorf("%s after Close: %+v (%v)", p, st, err)
		}
	}
	if err := d.Register(ctx, api1); !errors.Is(err, discovery.ErrClosed) {
		t.Fatalf("Register after Close: %v", err)
	}
}

// A dynamic registration comes back, with its latest data, after its
// session expires, and another Client finds it.
func TestRegistrationSurvivesExpiry(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	d := discovery.New[details](c, "/services")
	defer d.Close(ctx)
	inst := instance("api", "a1", 8080)
	if err := d.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	inst.Port = 9090
	if err := d.Update(ctx, inst); err != nil {
		t.Fatal(err)
	}
	old := c.SessionID()
	if err := srv.ExpireSession(old); err != nil {
		t.Fatal(err)
	}
	reader := discovery.New[details](locktest.Connect(t, srv.Addr()), "/services")
	var got *discovery.ServiceInstance[details]
	var err error
	locktest.Eventually(t, ctx, func() bool {
		got, err = reader.QueryForInstance(ctx, "api", "a1")
		if err != nil {
			return false
		}
		st, _ := c.Exists(ctx, "/services/api/a1")
		return st != nil && st.EphemeralOwner != old && st.EphemeralOwner == c.SessionID()
	}, func() string { return fmt.Sprintf("a1 is %+v (%v), session %#x was %#x", got, err, c.SessionID(), old) })
	if !reflect.DeepEqual(*got, inst) {
		t.Fatalf("after expiry %+v, want %+v", *got, inst)
	}
}

// Register replaces a node someone else left at the instance's path, so
// that it belongs to this session; Update refuses what is not registered
// or changes its name.
func TestRegisterReplacesAndUpdate(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	other := locktest.Connect(t, srv.Addr())
	if _, err := other.CreateWithParents(ctx, "/services/api/a1", []byte("stale"), recipes.Ephemeral); err != nil {
		t.Fatal(err)
	}
	c := locktest.Connect(t, srv.Addr())
	d := discovery.New[details](c, "/services")
	defer d.Close(ctx)
	inst := instance("api", "a1", 8080)
	if err := d.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Exists(ctx, "/services/api/a1"); err != nil || st == nil || st.EphemeralOwner != c.SessionID() {
		t.Fatalf("node %+v (%v), want ours", st, err)
	}
	if err := d.Update(ctx, instance("api", "a9", 1)); !errors.Is(err, discovery.ErrNotRegistered) {
		t.Fatalf("update of an unregistered id: %v", err)
	}
	if err := d.Update(ctx, instance("web", "a1", 1)); err == nil {
		t.Fatal("update moved a1 to another service")
	}
	// Registering the id again updates it.
	inst.Address = "10.0.0.2"
	if err := d.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if got, err := d.QueryForInstance(ctx, "api", "a1"); err != nil || got.Address != "10.0.0.2" {
		t.Fatalf("after re-register %+v (%v)", got, err)
	}
}

// Round robin takes each enabled instance in turn; random picks only
// enabled ones; a service without enabled instances is an error.
func TestProvider(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	d := discovery.New[details](locktest.Connect(t, srv.Addr()), "/services", discovery.WithEnabledField())
	defer d.Close(ctx)
	for i, id := range []string{"a", "b", "c", "off"} {
		inst := instance("api", id, 8000+i)
		inst.Disabled = id == "off"
		if err := d.Register(ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	var picks []string
	rr := d.Provider("api", nil)
	for range 6 {
		inst, err := rr.Instance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		picks = append(picks, inst.ID)
	}
	if want := []string{"a", "b", "c", "a", "b", "c"}; !slices.Equal(picks, want) {
		t.Fatalf("round robin picked %v, want %v", picks, want)
	}
	random := d.Provider("api", discovery.Random[details]())
	for range 20 {
		inst, err := random.Instance(ctx)
		if err != nil || inst.ID == "off" {
			t.Fatalf("random picked %q (%v)", inst.ID, err)
		}
	}
	if _, err := d.Provider("none", nil).Instance(ctx); !errors.Is(err, discovery.ErrNoInstances) {
		t.Fatalf("empty service: %v", err)
	}
}
