package discovery_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/discovery"
	"github.com/zookit/zookit/recipes"
)

// InstanceDetails mirrors a Java payload class com.example.InstanceDetails.
type InstanceDetails struct {
	Region string `json:"region"`
}

// Register this process as an instance of "api", visible to Curator's
// ServiceDiscovery on the same base path, and pick an instance to call.
// It needs a server on 127.0.0.1:2181, so it has no Output line and is
// only compiled.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
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
}
