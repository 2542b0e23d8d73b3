// Command queuedemo shows a distributed queue with at-least-once delivery:
// Curator's DistributedQueue at -path, consumed in lock-path mode, so that
// a message whose consumer dies while handling it goes to another
// consumer.
//
//	queuedemo -put 10                 # put ten messages and exit
//	queuedemo -consumers 2            # take and handle messages until Ctrl-C
//
// Run consumers in two terminals and producers in a third. Kill a
// consumer with kill -9 while it handles a message: once the ensemble ends
// its session (-session-timeout), another consumer handles that message
// again. Curator's DistributedQueue with the same lock path takes part as
// producer or consumer, since the layout is Curator's.
package main
