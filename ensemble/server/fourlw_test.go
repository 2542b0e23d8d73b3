package server_test

import (
	"strings"
	"testing"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// stat lists its clients under a Clients: line even when there are none,
// as ZooKeeper's does; srvr has no such line.
func TestStatWithoutClients(t *testing.T) {
	s := ensembletest.Start(t)
	if stat := s.Server().FourLetterWord("stat"); !strings.Contains(stat, "\nClients:\n\nLatency min/avg/max: ") {
		t.Errorf("stat with no clients:\n%s", stat)
	}
	if srvr := s.Server().FourLetterWord("srvr"); strings.Contains(srvr, "Clients:") {
		t.Errorf("srvr lists clients:\n%s", srvr)
	}
}
