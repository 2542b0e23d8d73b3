package tlsconf

import (
	"crypto/x509"
	"fmt"
	"net"
	"strings"
)

// VerifyHostname checks that cert is valid for host by ZooKeeper's rules
// (ZKHostnameVerifier, after Apache HttpClient's): when the certificate
// has subject alternative names, an IPv4 host must equal an IP name, an
// IPv6 host must equal one once both are normalised, and any other host
// must match a DNS name, where a single '*' stands for part of one label;
// only a certificate with no alternative names at all is matched by its
// subject's most specific common name. Host names compare without case.
func VerifyHostname(cert *x509.Certificate, host string) error {
	hasSANs := len(cert.DNSNames) > 0 || len(cert.IPAddresses) > 0
	if !hasSANs {
		cn := cert.Subject.CommonName
		if cn == "" {
			return fmt.Errorf("tlsconf: certificate subject for <%s> doesn't contain a common name and does not have alternative names", host)
		}
		if !matchIdentityStrict(strings.ToLower(host), strings.ToLower(cn)) {
			return fmt.Errorf("tlsconf: certificate for <%s> doesn't match common name of the certificate subject: %s", host, cn)
		}
		return nil
	}
	switch hostType(host) {
	case ipv4:
		for _, ip := range cert.IPAddresses {
			if ip.To4() != nil && ip.String() == host {
				return nil
			}
		}
	case ipv6:
		want := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		for _, ip := range cert.IPAddresses {
			if ip.To4() == nil && ip.Equal(want) {
				return nil
			}
		}
	default:
		h := strings.ToLower(host)
		for _, n := range cert.DNSNames {
			if matchIdentityStrict(h, strings.ToLower(n)) {
				return nil
			}
		}
	}
	return fmt.Errorf("tlsconf: certificate for <%s> doesn't match any of the subject alternative names: %s", host, sanList(cert))
}

type hostKind int

const (
	dnsName hostKind = iota
	ipv4
	ipv6
)

// hostType is determineHostFormat: a dotted quad, an IPv6 address with or
// without brackets, or a DNS name.
func hostType(host string) hostKind {
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil && strings.Count(host, ".") == 3 && !strings.Contains(host, ":") {
		return ipv4
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip := net.ParseIP(h); ip != nil && strings.Contains(h, ":") {
		return ipv6
	}
	return dnsName
}

// matchIdentityStrict is ZKHostnameVerifier.matchIdentity(host, identity,
// strict=true): one '*' matches the part of a single label between its
// prefix and suffix.
func matchIdentityStrict(host, identity string) bool {
	i := strings.IndexByte(identity, '*')
	if i < 0 {
		return strings.EqualFold(host, identity)
	}
	prefix, suffix := identity[:i], identity[i+1:]
	if prefix != "" && !strings.HasPrefix(host, prefix) {
		return false
	}
	if suffix != "" && !strings.HasSuffix(host, suffix) {
		return false
	}
	if len(host) < len(prefix)+len(suffix) {
		return false
	}
	return !strings.Contains(host[len(prefix):len(host)-len(suffix)], ".")
}

func sanList(cert *x509.Certificate) string {
	var names []string
	for _, n := range cert.DNSNames {
		names = append(names, "DNS:"+n)
	}
	for _, ip := range cert.IPAddresses {
		names = append(names, "IP:"+ip.String())
	}
	return "[" + strings.Join(names, ", ") + "]"
}
