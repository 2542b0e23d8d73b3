// Package admintest reads AdminServer answers in tests, zookit's and Apache
// ZooKeeper's alike: a command's JSON object with its numbers kept exact,
// and the JSON type of each value, which is what two servers' answers are
// compared by.
package admintest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Get fetches url and decodes its JSON object; numbers are json.Number.
func Get(t testing.TB, url string) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := GetBody(t, url)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", url, err, body)
	}
	return resp, m
}

// GetBody fetches url and reads its whole body, whatever the status.
func GetBody(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Kind is a decoded JSON value's type: null, bool, number, string, array
// or object.
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Activity leaves a session on the server at addr holding an ephemeral
// node /eph and a data watch on /p, so that the commands that report
// sessions, ephemerals and watches have something to show; the session
// ends with the test.
func Activity(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/eph", []byte("x"), zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/p", []byte("y"), 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.GetW("/p"); err != nil {
		t.Fatal(err)
	}
	return c
}
