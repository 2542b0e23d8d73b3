// Command barrierdemo shows a double barrier: -workers goroutines, each on
// its own session, are members of the DoubleBarrier at -path sized for
// -members in all. Each one enters and waits until all the members are
// there, works for a while, then leaves and waits until all have left:
//
//	barrierdemo -server 127.0.0.1:2181 -members 4 -workers 2
//
// Run it in two terminals with -workers 2 each and both processes wait for
// each other. Curator's DistributedDoubleBarrier on the same path counts as
// a member too, since the layout is Curator's.
package main
