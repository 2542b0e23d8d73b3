// Command lockdemo shows a distributed lock changing hands: -workers
// goroutines, each on its own session, take turns holding the lock.Mutex at
// -path, and every step is printed as it happens:
//
//	lockdemo -server 127.0.0.1:2181 -workers 3 -rounds 2
//
// Run it in two terminals at once and the workers of both processes share
// the one lock; a Curator InterProcessMutex on the same path takes part as
// well, since the layout is Curator's. Kill one process while it holds the
// lock (kill -9) and the others wait until the ensemble ends its session,
// -session-timeout later, and then go on.
//
// A worker prints "acquired" once it holds the lock and "releasing" before
// it lets go, so between those two lines no other worker holds it.
package main
