// Package tlsconf turns ZooKeeper's TLS settings into a *tls.Config.
//
// ZooKeeper 3.8 reads them as system properties through its X509Util
// classes: ClientX509Util for the secure client port, with the prefix
// "zookeeper.ssl.", and QuorumX509Util for the links between servers, with
// "zookeeper.ssl.quorum.". A zoo.cfg key it does not know becomes the
// property "zookeeper."+key, so "ssl.keyStore.location=…" in zoo.cfg and
// "-Dzookeeper.ssl.keyStore.location=…" in SERVER_JVMFLAGS say the same;
// config.Config.Props holds both. Under either prefix Load reads:
//
//	keyStore.location, keyStore.password, keyStore.passwordPath, keyStore.type
//	trustStore.location, trustStore.password, trustStore.passwordPath, trustStore.type
//	hostnameVerification  (default true)
//	clientAuth            (need, the default; want; none)
//	protocol              (default TLSv1.2)
//	enabledProtocols      (default: the protocol alone)
//	ciphersuites          (default: Go's)
//
// and refuses, rather than ignore, the ones it cannot honour: crl and ocsp
// set to true, context.supplier.class, and for clients an authProvider
// other than x509.
//
// A store's type is its type property (PEM, PKCS12 or JKS, any case) or else
// the file name's extension as KeyStoreFileType reads it: ".pem", ".p12",
// ".jks" (exactly; ZooKeeper knows no ".pfx"). BCFKS is refused. A PEM key
// store holds the private key and the certificate chain: PKCS#8, encrypted
// or not (PBES2 as OpenSSL writes it by default, which ZooKeeper on Java 17
// cannot read, or the PKCS#12 3DES and PBES1 schemes Java reads; see
// internal/pkcs8), or an unencrypted PKCS#1/SEC 1 key. A PEM trust store
// holds the CA certificates. The store's password opens PKCS12 and JKS
// files and decrypts their keys and an encrypted PEM key, as in ZooKeeper.
//
// Differences from ZooKeeper, all on the strict side: TLS older than 1.2 is
// refused; hostnameVerification and the crl/ocsp flags must be true or false
// (Java reads any other word as false); a PKCS12 trust store must mark its
// certificates as trusted, as Java requires. A JKS-typed store that is in
// fact PKCS12 is read, as Java's dual-format JKS keystore does.
//
// Settings.ServerConfig and Settings.ClientConfig build the two sides.
// A server asks for client certificates per clientAuth and checks them
// against the trust store; for the quorum, with hostnameVerification on, it
// also checks the client's certificate against the address the connection
// came from, as QuorumX509Util does. A client checks the server's chain,
// and its name unless hostnameVerification is false. VerifyHostname applies
// ZooKeeper's own name rules (ZKHostnameVerifier) to a certificate, and
// ClientID names a client certificate as the x509 ACL scheme does.
package tlsconf
