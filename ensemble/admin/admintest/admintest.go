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
	"net/http"
	"testing"
)

// Get fetches url and decodes its JSON object; numbers are json.Number.
func Get(t testing.TB, url string) (*http.Response, map[string]any) {
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", url, err, body)
	}
	return resp, m
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
