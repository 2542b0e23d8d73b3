package discovery

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/recipes"
)

var (
	// ErrClosed is returned by Register and Update after Close.
	ErrClosed = errors.New("discovery: closed")
	// ErrNotRegistered is returned by Update for an instance this
	// ServiceDiscovery has not registered.
	ErrNotRegistered = errors.New("discovery: instance not registered")
	// ErrNotFound is returned by QueryForInstance when there is no such
	// instance.
	ErrNotFound = errors.New("discovery: instance not found")
)

// Option configures a ServiceDiscovery.
type Option func(*options)

type options struct {
	writeEnabled bool
}

// WithEnabledField writes the enabled field (see Serializer.WriteEnabled):
// Curator 4.x and 5.x read it, Curator 2.x rejects it.
func WithEnabledField() Option { return func(o *options) { o.writeEnabled = true } }

// ServiceDiscovery is Curator's ServiceDiscovery: it registers this
// process's instances under <basePath>/<name>/<id> and queries everyone's.
// It is safe for concurrent use.
type ServiceDiscovery[P any] struct {
	c    *recipes.Client
	base string
	ser  Serializer[P]

	mu     sync.Mutex
	regs   map[string]*registration[P] // by instance ID, as Curator keys them
	closed bool
}

// registration is one instance this process registered. Its mu orders
// Register, Update and Unregister of the instance, which block on the
// server.
type registration[P any] struct {
	mu   sync.Mutex
	inst ServiceInstance[P]
	node *node.Persistent // nil until the first create succeeded
}

// New returns a ServiceDiscovery over c rooted at basePath. It registers
// nothing by itself.
func New[P any](c *recipes.Client, basePath string, opts ...Option) *ServiceDiscovery[P] {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return &ServiceDiscovery[P]{
		c:    c,
		base: path.Clean("/" + basePath),
		ser:  Serializer[P]{WriteEnabled: o.writeEnabled},
		regs: map[string]*registration[P]{},
	}
}

// PathFor is the node an instance with this name and id is registered at
// (for DynamicSequential, the prefix of its name).
func (d *ServiceDiscovery[P]) PathFor(name, id string) string {
	return path.Join(d.base, name, id)
}

// Register registers inst, or when an instance with its ID is registered
// already, updates it (see Update). It returns once the node exists.
// Dynamic instances are EPHEMERAL and kept through the loss of the session
// (made again in the next one), deletes and server restarts, as Curator
// re-registers them on reconnection; Static and Permanent ones are
// PERSISTENT and kept the same way until Unregister or Close. An existing
// node at the instance's path is replaced, as Curator replaces it, so that
// it belongs to this session and watchers see the new registration.
func (d *ServiceDiscovery[P]) Register(ctx context.Context, inst ServiceInstance[P]) error {
	if err := checkSegment("name", inst.Name); err != nil {
		return err
	}
	if err := checkSegment("id", inst.ID); err != nil {
		return err
	}
	if inst.RegistrationTimeUTC.IsZero() {
		inst.RegistrationTimeUTC = time.Now()
	}
	data, err := d.ser.Serialize(&inst)
	if err != nil {
		return err
	}
	r, err := d.lockRegistration(inst)
	if err != nil {
		return err
	}
	defer r.mu.Unlock()
	if r.node != nil {
		return d.updateLocked(ctx, r, inst, data)
	}
	if err := d.create(ctx, inst, data, r); err != nil {
		d.mu.Lock()
		if d.regs[inst.ID] == r {
			delete(d.regs, inst.ID)
		}
		d.mu.Unlock()
		return fmt.Errorf("discovery: register %s/%s: %w", inst.Name, inst.ID, err)
	}
	return nil
}

// lockRegistration returns the registration of inst's ID, new or not, with
// its mu held. One that an Unregister or Close took out of the map while
// we waited for its mu is not used: keeping it would keep a node nobody
// can unregister.
func (d *ServiceDiscovery[P]) lockRegistration(inst ServiceInstance[P]) (*registration[P], error) {
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, ErrClosed
		}
		r, ok := d.regs[inst.ID]
		if !ok {
			r = &registration[P]{inst: inst}
			d.regs[inst.ID] = r
		}
		d.mu.Unlock()
		r.mu.Lock()
		d.mu.Lock()
		current := d.regs[inst.ID] == r
		d.mu.Unlock()
		if current {
			return r, nil
		}
		r.mu.Unlock()
	}
}

// create makes the instance's node and keeps it; r.mu is held.
func (d *ServiceDiscovery[P]) create(ctx context.Context, inst ServiceInstance[P], data []byte, r *registration[P]) error {
	p := d.PathFor(inst.Name, inst.ID)
	mode := recipes.Persistent
	switch inst.ServiceType {
	case Dynamic:
		mode = recipes.Ephemeral
	case DynamicSequential:
		mode = recipes.EphemeralSequential
	}
	if !mode.IsSequential() {
		if err := d.c.Delete(ctx, p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
	}
	n := node.NewPersistent(d.c, p, data, mode)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		return errors.Join(err, n.Close(ctx))
	}
	r.inst, r.node = inst, n
	return nil
}

// Update writes inst as the new data of the registered instance with its
// ID; its name and service type must stay the same.
func (d *ServiceDiscovery[P]) Update(ctx context.Context, inst ServiceInstance[P]) error {
	data, err := d.ser.Serialize(&inst)
	if err != nil {
		return err
	}
	d.mu.Lock()
	r, ok := d.regs[inst.ID]
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return fmt.Errorf("discovery: update %s/%s: %w", inst.Name, inst.ID, ErrNotRegistered)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.node == nil { // unregistered meanwhile, or its Register failed
		return fmt.Errorf("discovery: update %s/%s: %w", inst.Name, inst.ID, ErrNotRegistered)
	}
	return d.updateLocked(ctx, r, inst, data)
}

func (d *ServiceDiscovery[P]) updateLocked(ctx context.Context, r *registration[P], inst ServiceInstance[P], data []byte) error {
	if inst.Name != r.inst.Name || inst.ServiceType != r.inst.ServiceType {
		return fmt.Errorf("discovery: update %s/%s: registered as %s/%s, %v; unregister it first",
			inst.Name, inst.ID, r.inst.Name, r.inst.ID, r.inst.ServiceType)
	}
	if err := r.node.SetData(ctx, data); err != nil {
		return fmt.Errorf("discovery: update %s/%s: %w", inst.Name, inst.ID, err)
	}
	r.inst = inst
	return nil
}

// Unregister deletes the registration of the instance with id; the delete
// goes on in the background if the server cannot be reached before ctx
// ends. An id this ServiceDiscovery has not registered is ignored, as
// Curator ignores it.
func (d *ServiceDiscovery[P]) Unregister(ctx context.Context, id string) error {
	d.mu.Lock()
	r, ok := d.regs[id]
	delete(d.regs, id)
	d.mu.Unlock()
	if !ok {
		return nil
	}
	return r.unregister(ctx)
}

func (r *registration[P]) unregister(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.node == nil {
		return nil
	}
	n := r.node
	r.node = nil
	if err := n.Close(ctx); err != nil {
		return fmt.Errorf("discovery: unregister %s/%s: %w", r.inst.Name, r.inst.ID, err)
	}
	return nil
}

// QueryForNames lists the services that have (or had) instances, sorted.
func (d *ServiceDiscovery[P]) QueryForNames(ctx context.Context) ([]string, error) {
	names, err := d.c.Children(ctx, d.base)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: query names: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// QueryForInstances reads every instance of the service name, sorted by
// node name. Instances that go while they are read are left out.
func (d *ServiceDiscovery[P]) QueryForInstances(ctx context.Context, name string) ([]ServiceInstance[P], error) {
	if err := checkSegment("name", name); err != nil {
		return nil, err
	}
	ids, err := d.c.Children(ctx, path.Join(d.base, name))
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: query %s: %w", name, err)
	}
	slices.Sort(ids)
	out := make([]ServiceInstance[P], 0, len(ids))
	for _, id := range ids {
		inst, err := d.QueryForInstance(ctx, name, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *inst)
	}
	return out, nil
}

// QueryForInstance reads the instance registered at <basePath>/<name>/<id>,
// or returns ErrNotFound.
func (d *ServiceDiscovery[P]) QueryForInstance(ctx context.Context, name, id string) (*ServiceInstance[P], error) {
	if err := checkSegment("name", name); err != nil {
		return nil, err
	}
	if err := checkSegment("id", id); err != nil {
		return nil, err
	}
	data, _, err := d.c.Get(ctx, d.PathFor(name, id))
	if errors.Is(err, zk.ErrNoNode) {
		return nil, fmt.Errorf("discovery: %s/%s: %w", name, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: query %s/%s: %w", name, id, err)
	}
	return d.ser.Deserialize(data)
}

// Close unregisters every instance this ServiceDiscovery registered, as
// Curator's close does, Static and Permanent ones included. Safe to call
// twice.
func (d *ServiceDiscovery[P]) Close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	regs := d.regs
	d.regs = map[string]*registration[P]{}
	d.mu.Unlock()
	var errs []error
	for _, r := range regs {
		errs = append(errs, r.unregister(ctx))
	}
	return errors.Join(errs...)
}

// checkSegment rejects what cannot be one element of a ZooKeeper path.
func checkSegment(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("discovery: invalid %s %q: want one path element", what, s)
	}
	return nil
}
