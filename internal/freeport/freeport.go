// Package freeport picks free TCP ports on 127.0.0.1 for servers that a
// test or a benchmark starts. A port is free when chosen, not reserved:
// another process may take it before the server listens.
package freeport

import "net"

// Ports returns n distinct free ports. Every listener stays open until all
// are chosen, so that one set never repeats a port, which picking them one
// at a time can (the kernel may hand a just-closed port out again).
func Ports(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
