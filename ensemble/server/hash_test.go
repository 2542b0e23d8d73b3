package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/server"
)

// hashEntry is one element of the hash command's "digests".
type hashEntry struct {
	Zxid    json.Number `json:"zxid"`
	Version json.Number `json:"digest_version"`
	Digest  json.Number `json:"digest"`
}

// hashOf runs the hash command as the AdminServer does and decodes its
// JSON, checking that the four-letter word prints the same digests. ok is
// false while the server is not serving.
func hashOf(t *testing.T, s *server.Server) (digests []hashEntry, ok bool) {
	t.Helper()
	for {
		// The two forms are compared only when no digest was logged
		// while they were read.
		before := s.FourLetterWord("hash")
		digests, text, ok := hashJSON(t, s)
		after := s.FourLetterWord("hash")
		if !ok {
			return nil, false
		}
		if before != after {
			continue
		}
		if after != text && s.Serving() {
			t.Errorf("hash four-letter word:\n%s\nwant\n%s", after, text)
		}
		return digests, true
	}
}

// hashJSON runs the hash command as the AdminServer does, decodes its JSON
// and returns the digests with the text the four-letter word should print.
func hashJSON(t *testing.T, s *server.Server) (digests []hashEntry, text string, ok bool) {
	t.Helper()
	res, known := s.RunAdminCommand("hash")
	if !known || res.Command != "hash" {
		t.Fatalf("hash: %+v, %v", res, known)
	}
	if res.Error != "" {
		if res.Error != "This ZooKeeper instance is not currently serving requests" {
			t.Fatalf("hash: %+v", res)
		}
		return nil, "", false
	}
	b, err := json.Marshal(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ Digests []hashEntry }
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("hash JSON %s: %v", b, err)
	}
	if d.Digests == nil {
		t.Fatalf("hash JSON %s: digests is not a list", b)
	}
	var w strings.Builder
	for _, e := range d.Digests {
		zxid, _ := e.Zxid.Int64()
		fmt.Fprintf(&w, "%x: %s\n", zxid, e.Digest)
		if e.Version != "2" || zxid%128 != 0 {
			t.Errorf("hash entry %+v: want digest_version 2 and a zxid that is a multiple of 128", e)
		}
	}
	return d.Digests, w.String(), true
}

// firstDigest waits until the server has logged a digest and returns the
// first.
func firstDigest(t *testing.T, m *ensembletest.Member) hashEntry {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if d, _ := hashOf(t, m.Server()); len(d) > 0 {
			return d[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d logged no digest", m.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHashCommand checks that every server of an ensemble logs the same
// digest at the same zxid, in both forms of the command, and that a
// server replaying its log after a restart logs it again.
func TestHashCommand(t *testing.T) {
	c := ensembletest.StartCluster(t, 3, 0, ensembletest.WithConfig(func(c *config.Config) {
		c.FourLetterWords = map[string]bool{"hash": true}
	}))
	leader := c.WaitLeader()
	if d, _ := hashOf(t, leader.Server()); len(d) != 0 {
		t.Fatalf("digests logged before zxid 128: %+v", d)
	}
	conn, _, err := zk.Connect([]string{leader.Addr()}, 4*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/h", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if d, _ := hashOf(t, leader.Server()); len(d) > 0 {
			break
		}
		if i == 300 {
			t.Fatal("no digest logged after 300 writes")
		}
		if _, err := conn.Set("/h", []byte{byte(i)}, -1); err != nil {
			t.Fatal(err)
		}
	}
	want := firstDigest(t, leader)
	for _, m := range c.Members() {
		if got := firstDigest(t, m); got != want {
			t.Errorf("server %d logged %+v, the leader %+v", m.ID, got, want)
		}
	}
	var follower *ensembletest.Member
	for _, m := range c.Members() {
		if m != leader {
			follower = m
		}
	}
	follower.Restart()
	if got := firstDigest(t, follower); got != want {
		t.Errorf("server %d after a restart logged %+v, before %+v", follower.ID, got, want)
	}
}
