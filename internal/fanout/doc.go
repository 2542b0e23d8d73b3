// Package fanout delivers a stream of values to any number of subscribers,
// each in order and without drops, so that a slow subscriber delays only
// itself and the publisher never blocks. It never drops a value and never
// blocks a publisher; a subscriber that stops reading holds its own queue
// until its context ends.
package fanout
