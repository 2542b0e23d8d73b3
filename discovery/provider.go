package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// ErrNoInstances is returned by ServiceProvider.Instance when the service
// has no enabled instance.
var ErrNoInstances = errors.New("discovery: no instances")

// Strategy picks one of a service's enabled instances, which are never
// none.
type Strategy[P any] interface {
	Pick(instances []ServiceInstance[P]) ServiceInstance[P]
}

type roundRobin[P any] struct{ next atomic.Uint64 }

func (s *roundRobin[P]) Pick(instances []ServiceInstance[P]) ServiceInstance[P] {
	return instances[(s.next.Add(1)-1)%uint64(len(instances))]
}

// RoundRobin is Curator's RoundRobinStrategy: each pick takes the next
// instance in order.
func RoundRobin[P any]() Strategy[P] { return &roundRobin[P]{} }

type random[P any] struct{}

func (random[P]) Pick(instances []ServiceInstance[P]) ServiceInstance[P] {
	return instances[rand.IntN(len(instances))]
}

// Random is Curator's RandomStrategy.
func Random[P any]() Strategy[P] { return random[P]{} }

// ServiceProvider is Curator's ServiceProvider: it picks an instance of one
// service by a Strategy, skipping disabled ones. Unlike Curator's it keeps
// no cache: each pick reads the instances from the server.
type ServiceProvider[P any] struct {
	d        *ServiceDiscovery[P]
	name     string
	strategy Strategy[P]
}

// Provider returns a ServiceProvider for the service name; a nil strategy
// is RoundRobin, Curator's default.
func (d *ServiceDiscovery[P]) Provider(name string, strategy Strategy[P]) *ServiceProvider[P] {
	if strategy == nil {
		strategy = RoundRobin[P]()
	}
	return &ServiceProvider[P]{d: d, name: name, strategy: strategy}
}

// Instance picks an enabled instance, or returns ErrNoInstances.
func (p *ServiceProvider[P]) Instance(ctx context.Context) (ServiceInstance[P], error) {
	all, err := p.d.QueryForInstances(ctx, p.name)
	if err != nil {
		return ServiceInstance[P]{}, err
	}
	enabled := slices.DeleteFunc(all, func(i ServiceInstance[P]) bool { return i.Disabled })
	if len(enabled) == 0 {
		return ServiceInstance[P]{}, fmt.Errorf("discovery: %s: %w", p.name, ErrNoInstances)
	}
	return p.strategy.Pick(enabled), nil
}
