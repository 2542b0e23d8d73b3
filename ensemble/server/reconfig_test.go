package server_test

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// reconfigCluster starts three participants with reconfig enabled and a
// super user, whose password superPass is.
func reconfigCluster(t *testing.T) *ensembletest.Cluster {
	sum := sha1.Sum([]byte("super:" + superPass))
	return ensembletest.StartCluster(t, 3, 0, ensembletest.WithConfig(func(c *config.Config) {
		c.ReconfigEnabled = true
		c.SuperDigest = "super:" + base64.StdEncoding.EncodeToString(sum[:])
	}))
}

const superPass = "secret"

func superClient(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, _ := connect(t, addr)
	if err := c.AddAuth("digest", []byte("super:"+superPass)); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkConfig checks /zookeeper/config on the server at addr after a
// sync: exactly the servers ids, and the version of stat.
func checkConfig(t *testing.T, addr string, ids []uint64, version int64) {
	t.Helper()
	text := syncedData(t, addr, "/zookeeper/config")
	var got []uint64
	for _, line := range strings.Split(text, "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "server.") {
			id, _ := strconv.ParseUint(strings.TrimPrefix(k, "server."), 10, 64)
			got = append(got, id)
		}
	}
	if !slices.Equal(got, ids) || !strings.HasSuffix(text, "\nversion="+strconv.FormatInt(version, 16)) {
		t.Fatalf("/zookeeper/config on %s:\n%s\nwant servers %v and version %x", addr, text, ids, version)
	}
}

func TestReconfigRefusals(t *testing.T) {
	cl := reconfigCluster(t)
	plain, _ := connect(t, cl.Member(1).Addr())
	if _, err := plain.IncrementalReconfig(nil, []string{"3"}, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("reconfig by a plain client: %v, want NOAUTH", err)
	}
	super := superClient(t, cl.Member(2).Addr())
	if _, err := super.IncrementalReconfig(nil, []string{"3"}, 12345); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("reconfig from a wrong version: %v, want BADVERSION", err)
	}
	checkConfig(t, cl.Member(3).Addr(), []uint64{1, 2, 3}, 0)

	standalone := ensembletest.Start(t)
	c, _ := connect(t, standalone.Addr())
	if _, err := c.IncrementalReconfig(nil, []string{"1"}, -1); !errors.Is(err, zk.ErrReconfigDisabled) {
		t.Fatalf("reconfig without reconfigEnabled: %v, want RECONFIGDISABLED", err)
	}
}

// TestReconfigGrowAndShrink grows three servers to five and back to three,
// removing the leader on the way, while a client writes; no acknowledged
// write may be lost.
func TestReconfigGrowAndShrink(t *testing.T) {
	cl := reconfigCluster(t)
	writer, _ := connectAny(t, cl.Addrs())
	if _, err := writer.Create("/w", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("n%06d", i)
			if _, err := writer.Create("/w/"+name, nil, 0, zk.WorldACL(zk.PermAll)); err == nil {
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// The admin client talks to a follower that stays, so its requests
	// are forwarded to the leader.
	lead := cl.WaitLeader()
	var stay *ensembletest.Member
	for _, m := range cl.Members() {
		if m != lead {
			stay = m
			break
		}
	}
	admin := superClient(t, stay.Addr())
	ids := []uint64{1, 2, 3}
	for range 2 {
		m := cl.AddMember()
		st, err := admin.IncrementalReconfig([]string{m.Line}, nil, -1)
		if err != nil {
			t.Fatalf("adding server %d: %v", m.ID, err)
		}
		ids = append(ids, m.ID)
		for _, x := range cl.Members() {
			checkConfig(t, x.Addr(), ids, st.Mzxid)
		}
	}
	// Remove server 5, then the leader.
	st, err := admin.IncrementalReconfig(nil, []string{"5"}, -1)
	if err != nil {
		t.Fatalf("removing server 5: %v", err)
	}
	ids = slices.DeleteFunc(ids, func(id uint64) bool { return id == 5 })
	checkConfig(t, stay.Addr(), ids, st.Mzxid)
	lead = cl.WaitLeader()
	// The client may lose its connection while the ensemble elects a
	// new leader: the outcome is unknown then, and /zookeeper/config,
	// checked below, tells.
	if _, err := admin.IncrementalReconfig(nil, []string{strconv.FormatUint(lead.ID, 10)}, st.Mzxid); err != nil && !errors.Is(err, zk.ErrConnectionClosed) {
		t.Fatalf("removing the leader %d: %v", lead.ID, err)
	}
	ids = slices.DeleteFunc(ids, func(id uint64) bool { return id == lead.ID })
	select {
	case <-lead.Exited():
	case <-time.After(10 * time.Second):
		t.Fatalf("the removed leader %d still serves", lead.ID)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged")
	}
	for _, id := range ids {
		m := cl.Member(id)
		c, _ := connect(t, m.Addr())
		if _, err := c.Sync("/w"); err != nil {
			t.Fatal(err)
		}
		children, _, err := c.Children("/w")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range acked {
			if !slices.Contains(children, name) {
				t.Fatalf("server %d lost the acknowledged write /w/%s", id, name)
			}
		}
		_, stat, err := c.Get("/zookeeper/config")
		if err != nil {
			t.Fatal(err)
		}
		if stat.Version != -1 || stat.Aversion != -1 {
			t.Fatalf("server %d: /zookeeper/config version %d aversion %d, want -1 and -1", id, stat.Version, stat.Aversion)
		}
		checkConfig(t, m.Addr(), ids, stat.Mzxid)
	}
	t.Logf("%d acknowledged writes survived; final servers %v", len(acked), ids)
}
