// Package adversarial holds no production code: its tests replay the
// attacks of issue 10 (a forged peer, watches that ignore ACLs, addAuth
// amplification, a full disk, oversize replies, request and watch floods,
// a hostile quorum port, a slow reader, half-open and flooding handshakes)
// against in-process servers, a standalone one and a three-server
// ensemble, started with package ensembletest.
//
// Every attack runs while a bystander client writes and records what the
// server acknowledged, and each replay asserts the same outcome: the
// attacked servers stay up and answer, the bystander's requests keep
// succeeding, no acknowledged write is lost, and the attacker gets an error
// or a closed connection. An attack that has no standalone form (the
// quorum port) runs against the ensemble only.
//
// Attackers connect from other loopback addresses (127.0.0.2 and up), which
// Linux routes without any setup, so that per-address caps count them
// apart from the bystander; the full-disk replay mounts a tmpfs, which
// needs root (ensembletest.SmallDisk skips the replay otherwise).
package adversarial
