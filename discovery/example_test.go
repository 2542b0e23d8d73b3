package discovery_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/discovery"
	"github.com/zookit/zookit/recipes/recipestest"
)

// InstanceDetails mirrors a Java payload class com.example.InstanceDetails.
type InstanceDetails struct {
	Region string `json:"region"`
}

// Register this process as an instance of "api", visible to Curator's
// ServiceDiscovery on the same base path, and pick an instance to call.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	d := discovery.New[InstanceDetails](c, "/services")
	defer d.Close(ctx)
	spec, err := discovery.ParseURISpec("{scheme}://{address}:{port}")
	if err != nil {
		log.Fatal(err)
	}
	err = d.Register(ctx, discovery.ServiceInstance[InstanceDetails]{
		Name: "api", ID: "api-1", Address: "10.0.0.7", Port: 8080,
		Payload:      InstanceDetails{Region: "eu-west"},
		PayloadClass: "com.example.InstanceDetails",
		URISpec:      spec,
	})
	if err != nil {
		log.Fatal(err)
	}
	inst, err := d.Provider("api", discovery.RoundRobin[InstanceDetails]()).Instance(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(discovery.BuildURI(&inst, nil), inst.Payload.Region)
	// Output: http://10.0.0.7:8080 eu-west
}

// An instance's znode holds Curator's JSON, with the payload's Java class
// in "@class" so that a Java ServiceDiscovery can read it.
func ExampleSerializer() {
	inst := discovery.ServiceInstance[InstanceDetails]{
		Name: "api", ID: "api-1", Address: "10.0.0.7", Port: 8080,
		RegistrationTimeUTC: time.UnixMilli(1700000000000),
		Payload:             InstanceDetails{Region: "eu-west"},
		PayloadClass:        "com.example.InstanceDetails",
	}
	data, err := discovery.Serializer[InstanceDetails]{}.Serialize(&inst)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
	back, err := discovery.Serializer[InstanceDetails]{}.Deserialize(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Payload.Region)
	// Output:
	// {"name":"api","id":"api-1","address":"10.0.0.7","port":8080,"sslPort":null,"payload":{"@class":"com.example.InstanceDetails","region":"eu-west"},"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":null}
	// eu-west
}
