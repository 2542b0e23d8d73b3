// Package ensembletest starts zookit servers inside a Go test, the way
// net/http/httptest starts HTTP servers: on a free 127.0.0.1 port, with a
// temporary data directory, stopped by the test's cleanup. It never needs a
// JVM.
package ensembletest
