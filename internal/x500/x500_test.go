package x500

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// The expectations were printed by Java 17's X500Principal.getName() for
// certificates with these subjects.
func TestName(t *testing.T) {
	email := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	cn := asn1.ObjectIdentifier{2, 5, 4, 3}
	ou := asn1.ObjectIdentifier{2, 5, 4, 11}
	dc := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	uid := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	for _, tc := range []struct {
		seq  pkix.RDNSequence
		want string
	}{
		{pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"Acme, Inc."}, Country: []string{"US"}}.ToRDNSequence(),
			`CN=alice,OU=eng,O=Acme\, Inc.,C=US`},
		{append(pkix.Name{CommonName: " lead+trail ", Locality: []string{`a=b;c<d>e#f"g\h`}}.ToRDNSequence(),
			pkix.RelativeDistinguishedNameSET{{Type: cn, Value: "x"}, {Type: ou, Value: "y"}}),
			`CN=x+OU=y,CN=\ lead\+trail\ ,L=a\=b\;c\<d\>e\#f\"g\\h`},
		{pkix.Name{CommonName: "#hash", SerialNumber: "1234", Province: []string{"CA"}, StreetAddress: []string{"1 Main"}, PostalCode: []string{"9"}}.ToRDNSequence(),
			`2.5.4.5=#130431323334,CN=\#hash,2.5.4.17=#130139,STREET=1 Main,ST=CA`},
		{pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: email, Value: "a@b.c"}, {Type: cn, Value: "ünïcødé"}, {Type: dc, Value: "example"}, {Type: uid, Value: "uid1"}}}.ToRDNSequence(),
			`UID=uid1,DC=example,CN=ünïcødé,1.2.840.113549.1.9.1=#0c056140622e63`},
		{pkix.RDNSequence{{{Type: cn, Value: "nul\x00\r"}}}, `CN=nul\00\` + "\r"},
		{pkix.RDNSequence{}, ``},
	} {
		der, err := asn1.Marshal(tc.seq)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Name(der)
		if err != nil || got != tc.want {
			t.Errorf("Name(%v) = %q, %v; want %q", tc.seq, got, err, tc.want)
		}
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x31, 0x01, 0x30}, {0x04, 0x00}} {
		if s, err := Name(bad); err == nil {
			t.Errorf("Name(%x) = %q, want an error", bad, s)
		}
	}
}

// The expectations are what new X500Principal(dn) did in Java 17.
func TestValid(t *testing.T) {
	for dn, want := range map[string]bool{
		`CN=alice`: true, ``: true, `cn=alice`: true, `CN = alice`: true, ` CN=alice`: true,
		`CN=alice,`: false, `,CN=a`: false, `CN=a;O=b`: true, `CN=a+OU=b`: true, `XYZ=a`: false,
		`OID.2.5.4.3=a`: true, `2.5.4.3=a`: true, `2.5.4.3=#0c0161`: true, `2.5.4.3=#0c01`: false,
		`CN=#0c0161`: true, `CN=a=b`: true, `CN=a#b`: true, `CN=#a`: false, `CN=a<b`: false,
		`CN="a,b"`: true, `CN="a`: false, `CN=a\`: false, `CN=a\,b`: true, `CN=a\41`: true,
		`CN=a\zz`: false, `CN=`: true, `alice`: false, `CN=a,,O=b`: false, `EMAILADDRESS=a@b`: true,
		`T=x`: true, `S=x`: true, `CN=a b `: true, `CN=a"b`: false, `CN=a\ `: true, `3.4=x`: false,
		`1.2=x`: true, `1=x`: false, `1.02=x`: true, `CN=a+`: false, `CN=a\nb`: false, `CN=a>b`: false,
		`CN=a;`: false, `CN="a" x`: false, `CN="a"  `: true, `cN=a+ou=b`: true, `UID=x`: true,
		`DNQ=x`: true, `CN=é`: true,
	} {
		if got := Valid(dn); got != want {
			t.Errorf("Valid(%q) = %v, want %v", dn, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{`CN=a,O=b`, `CN="x\"y"+OU=z`, `2.5.4.3=#0c0161`, `CN=a\41;C=US`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) { Valid(dn) })
}

func FuzzName(f *testing.F) {
	der, _ := asn1.Marshal(pkix.Name{CommonName: "a", Organization: []string{"b"}}.ToRDNSequence())
	f.Add(der)
	f.Fuzz(func(t *testing.T, der []byte) { Name(der) })
}
