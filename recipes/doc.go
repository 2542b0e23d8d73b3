// Package recipes is the framework zookit's coordination recipes stand on: a
// Client over github.com/go-zookeeper/zk that adds what every recipe needs
// and go-zk lacks.
//
//   - Retries: operations that fail with connection loss (or a session that
//     moved or expired) are retried under a RetryPolicy built on
//     github.com/cenkalti/backoff/v4; logical errors such as zk.ErrNodeExists
//     are returned at once and stay matchable with errors.Is. A retried
//     create or multi recognises what its lost first attempt did instead of
//     failing with zk.ErrNodeExists or making a second sequential node.
//   - Connection states: Connected, Suspended, Reconnected, Lost and ReadOnly,
//     with Apache Curator's meanings, delivered in order through Listen. Lost
//     is also reported when the client has been disconnected for the
//     negotiated session timeout, because go-zk learns of an expiry only on
//     reconnect; the Client then starts a new session.
//   - Protected creates: ephemeral nodes named _c_<uuid>-<name>, exactly as
//     Curator names them, so that a create whose reply was lost is found
//     again instead of leaving an orphan; parents are created as CONTAINER
//     nodes; guaranteed deletes keep retrying in the background.
//   - Curator's ordering of sequential names (SortKey, SortChildren), which
//     a recipe must share with Java processes or mutual exclusion is lost.
//   - A namespace (chroot) applied to every path.
//   - A bound on reply size, as jute.maxbuffer bounds a Java client: a reply
//     over it (the child list of a directory grown too large, say) fails
//     its request with ErrReplyTooLarge while the session carries on,
//     where a Java client drops the connection and retries for ever.
//
// Every call that can block takes a context.Context. A Client must be closed;
// closing ends its session, which removes its ephemeral nodes.
//
// The package never holds a lock or any other recipe state itself: recipes
// live in their own packages (lock, election, ...) and own their paths.
package recipes
