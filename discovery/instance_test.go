package discovery_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/zookit/zookit/discovery"
)

// What Curator 5.4's JsonInstanceSerializer wrote (captured from
// interop/java/DiscoveryPeer.java's instances): a POJO payload with
// characters Jackson and encoding/json escape differently, in the default
// (compatible) mode; a map payload with the enabled field.
const (
	curatorPOJO       = `{"name":"svc","id":"i1","address":"10.0.0.7","port":8080,"sslPort":8443,"payload":{"@class":"DiscoveryPeer$Details","description":"primary \"replica\" <eu> é\t\u0001","weight":7,"tags":["x"]},"registrationTimeUTC":1700000000000,"serviceType":"STATIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true},{"value":"/v1","variable":false}]}}`
	curatorMapEnabled = `{"name":"svc","id":"i2","address":"10.0.0.7","port":8080,"sslPort":null,"payload":{"@class":"java.util.LinkedHashMap","region":"eu-west","tags":["a","b"],"weight":3},"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC_SEQUENTIAL","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true},{"value":"/v1","variable":false}]},"enabled":true}`
)

// details is DiscoveryPeer.Details.
type details struct {
	Description string   `json:"description"`
	Weight      int      `json:"weight"`
	Tags        []string `json:"tags"`
}

var uriParts = &discovery.URISpec{Parts: []discovery.URIPart{
	{Value: "scheme", Variable: true}, {Value: "://"}, {Value: "address", Variable: true},
	{Value: ":"}, {Value: "port", Variable: true}, {Value: "/v1"},
}}

// The golden strings read into the right fields and are written back byte
// for byte.
func TestCuratorJSON(t *testing.T) {
	registered := time.UnixMilli(1700000000000).UTC()
	pojo := discovery.ServiceInstance[details]{
		Name: "svc", ID: "i1", Address: "10.0.0.7", Port: 8080, SSLPort: 8443,
		Payload:             details{Description: "primary \"replica\" <eu> \u00e9\t\u0001", Weight: 7, Tags: []string{"x"}},
		PayloadClass:        "DiscoveryPeer$Details",
		RegistrationTimeUTC: registered, ServiceType: discovery.Static, URISpec: uriParts,
	}
	roundTrip(t, discovery.Serializer[details]{}, curatorPOJO, pojo)
	m := discovery.ServiceInstance[map[string]any]{
		Name: "svc", ID: "i2", Address: "10.0.0.7", Port: 8080,
		Payload:             map[string]any{"region": "eu-west", "tags": []any{"a", "b"}, "weight": json.Number("3")},
		PayloadClass:        "java.util.LinkedHashMap",
		RegistrationTimeUTC: registered, ServiceType: discovery.DynamicSequential, URISpec: uriParts,
	}
	roundTrip(t, discovery.Serializer[map[string]any]{WriteEnabled: true}, curatorMapEnabled, m)
}

func roundTrip[P any](t *testing.T, s discovery.Serializer[P], golden string, want discovery.ServiceInstance[P]) {
	t.Helper()
	got, err := s.Deserialize([]byte(golden))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", *got, want)
	}
	out, err := s.Serialize(&want)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != golden {
		t.Errorf("wrote\n%s\nCurator wrote\n%s", out, golden)
	}
}

// Payloads that are not objects are written as Jackson writes them
// (captured from Curator): natural scalars bare, anything else with a
// class as [class, value], null as null; and read back.
func TestPayloadForms(t *testing.T) {
	for _, c := range []struct {
		payload any
		class   string
		json    string
	}{
		{"hello", "", `"hello"`},
		{json.Number("5"), "", `5`},
		{true, "", `true`},
		{json.Number("5"), "java.lang.Long", `["java.lang.Long",5]`},
		{[]any{"x"}, "java.util.ArrayList", `["java.util.ArrayList",["x"]]`},
		{nil, "", `null`},
		{map[string]any{}, "java.util.LinkedHashMap", `{"@class":"java.util.LinkedHashMap"}`},
	} {
		inst := discovery.ServiceInstance[any]{Name: "n", ID: "i", Payload: c.payload, PayloadClass: c.class}
		want := `{"name":"n","id":"i","address":null,"port":null,"sslPort":null,"payload":` + c.json +
			`,"registrationTimeUTC":0,"serviceType":"DYNAMIC","uriSpec":null}`
		roundTrip(t, discovery.Serializer[any]{}, want, inst)
	}
}

// A Go value without a class gets the one Jackson gives its kind, so that
// Java reads a Map or a List.
func TestDefaultClass(t *testing.T) {
	s := discovery.Serializer[details]{}
	out, err := s.Serialize(&discovery.ServiceInstance[details]{Name: "n", ID: "i", Payload: details{Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Payload map[string]any }
	if err := json.Unmarshal(out, &v); err != nil || v.Payload["@class"] != "java.util.LinkedHashMap" {
		t.Fatalf("payload %v (%v) in %s", v.Payload, err, out)
	}
}

// What Curator's default constructor leaves out reads as Curator reads
// it: DYNAMIC, enabled, nulls.
func TestCuratorDefaults(t *testing.T) {
	got, err := discovery.Serializer[map[string]any]{}.Deserialize([]byte(`{"name":"n","id":"i","payload":{"a":1},"future":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := discovery.ServiceInstance[map[string]any]{Name: "n", ID: "i", Payload: map[string]any{"a": json.Number("1")}}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("read %+v, want %+v", *got, want)
	}
	off, err := discovery.Serializer[any]{}.Deserialize([]byte(`{"name":"n","id":"i","enabled":false}`))
	if err != nil || !off.Disabled {
		t.Fatalf("enabled false read as %+v (%v)", off, err)
	}
}

// Bad data gets an error naming the problem, never a panic.
func TestBadJSON(t *testing.T) {
	for _, in := range []string{
		`{"name":"n","id":"i","serviceType":"ELASTIC"}`,
		`{"name":"n","id":"i","payload":["only-a-class"]}`,
		`{"name":"n","id":"i","payload":{"@class":5}}`,
		`{"name":"n","id":"i","payload":"text"}`, // not a details
		`not json`,
	} {
		if got, err := (discovery.Serializer[details]{}).Deserialize([]byte(in)); err == nil {
			t.Errorf("%s read as %+v", in, got)
		}
	}
	if _, err := (discovery.Serializer[any]{}).Serialize(&discovery.ServiceInstance[any]{ServiceType: 9}); err == nil {
		t.Error("service type 9 serialized")
	}
}

func TestURISpec(t *testing.T) {
	spec, err := discovery.ParseURISpec("{scheme}://{ address }:{port}/v1")
	if err != nil || !reflect.DeepEqual(spec, uriParts) {
		t.Fatalf("parsed %+v (%v), want %+v", spec, err, uriParts)
	}
	inst := discovery.ServiceInstance[any]{Name: "n", ID: "i", Address: "h", Port: 80, URISpec: spec}
	if u := discovery.BuildURI(&inst, nil); u != "http://h:80/v1" {
		t.Errorf("built %q", u)
	}
	inst.SSLPort = 443
	if u := discovery.BuildURI(&inst, map[string]string{"port": "8443"}); u != "https://h:8443/v1" {
		t.Errorf("built with vars %q", u)
	}
	for _, bad := range []string{"{a{b}}", "a}", "{a"} {
		if _, err := discovery.ParseURISpec(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
