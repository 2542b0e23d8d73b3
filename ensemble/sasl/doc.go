// Package sasl authenticates ZooKeeper clients over SASL (opcode 102) as
// Apache ZooKeeper's server does: DIGEST-MD5 (RFC 2831) against the users
// of the DigestLoginModule in the Server section of a JAAS configuration
// file, the file java.security.auth.login.config names.
//
// A JAAS file as ZooKeeper's users write it:
//
//	Server {
//	    org.apache.zookeeper.server.auth.DigestLoginModule required
//	    user_super="adminsecret"
//	    user_bob="bobsecret";
//	};
//
// Each user_<name>=<password> option is a user. The mechanism is the one
// ZooKeeper's clients use with such a file: protocol "zookeeper", server
// name and realm "zk-sasl-md5", quality of protection "auth" (the
// exchange authenticates; it does not wrap the connection), charset
// UTF-8, md5-sess.
//
// GSSAPI (Kerberos) is not offered: Go has no Kerberos implementation kept
// to the standard of the rest of the server's dependencies, and accepting
// a Krb5LoginModule section that then refused every client would be a
// setting accepted and not honoured, so LoadJAAS callers refuse it.
package sasl
