// Package discovery is service discovery compatible with Apache Curator
// 5.4's curator-x-discovery: Go and Java processes register instances of
// services and find each other's, on the same nodes with the same JSON.
//
//	ServiceDiscovery  ServiceDiscovery  <basePath>/<name>/<id>, data = the instance as JSON
//	ServiceInstance   ServiceInstance   (JsonInstanceSerializer's format)
//	ServiceProvider   ServiceProvider   RoundRobin or Random pick of a service's enabled instances
//
// An instance's node is EPHEMERAL for Dynamic (EPHEMERAL_SEQUENTIAL for
// DynamicSequential) and PERSISTENT for Static and Permanent. Each
// registration is kept by a node.Persistent, so it comes back after a
// lost session, a delete or a server restart, as Curator re-registers on
// reconnection. Close unregisters everything, as Curator's close does.
//
// # JSON
//
// Serializer writes what Curator's JsonInstanceSerializer writes, byte for
// byte for the same instance: the fields name, id, address, port, sslPort,
// payload, registrationTimeUTC, serviceType, uriSpec ({"parts":[{"value",
// "variable"}...]}) in that order, nulls included, and enabled only when
// asked (WithEnabledField), since Curator's default serializer leaves it
// out. Go's zero values stand for Java's nulls: Address "", Port and
// SSLPort 0, URISpec nil, a zero RegistrationTimeUTC is 0. Strings are
// escaped as Jackson escapes them. Floating-point payload values may be
// spelled differently (Go 1e+21, Jackson 1.0E21), with the same value.
//
// # Payloads
//
// Curator writes the payload with Jackson's @class type information, which
// tells a Java reader what class to make. The Go side splits it in two: the
// payload's content is any Go value P that encoding/json handles (a struct
// mirroring the Java class's fields, a map[string]any, a string...), and
// ServiceInstance.PayloadClass holds the Java class name, for example
// "com.example.InstanceDetails" for a POJO, or "java.util.LinkedHashMap".
// Keeping the class apart from P lets one Go type stand for a Java class
// whatever its name, and lets P be a type that cannot carry an extra field.
// How they are written, as Jackson writes them:
//
//   - P encodes to an object: {"@class":PayloadClass, ...P's members}.
//     An empty PayloadClass is written as java.util.LinkedHashMap, so that
//     Java reads a Map.
//   - P encodes to an array: [PayloadClass, [...]]; java.util.ArrayList
//     when PayloadClass is empty.
//   - P encodes to a string, number or boolean: bare when PayloadClass is
//     empty, which Java reads as its natural type (String, Integer or
//     Double, Boolean), else [PayloadClass, value] (e.g. java.lang.Long).
//   - P encodes to null (nil pointer, map or interface): null.
//
// Reading reverses this: PayloadClass gets the class Java named ("" for a
// bare scalar or null), and the rest is decoded into P with numbers kept
// as json.Number when P leaves their type open (any, map[string]any).
//
// # Limits
//
// Queries read the server each time; there is no ServiceCache, and no
// down-instance or sticky provider. A DynamicSequential instance's node is
// named <id><sequence>, so QueryForInstance(name, id) does not find it, as
// in Curator; QueryForInstances does.
//
// The package deletes only the nodes of instances it registered.
package discovery
