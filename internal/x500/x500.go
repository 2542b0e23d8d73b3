// Package x500 renders and checks X.500 distinguished names the way Java's
// javax.security.auth.x500.X500Principal does, because ZooKeeper's x509
// authentication provider names a client by its certificate's subject as
// X500Principal.getName() prints it, and ACLs must compare equal to that
// string byte for byte.
package x500

import (
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf8"
)

// rfc2253Keywords are the attribute types Java prints by keyword in RFC 2253
// form (sun.security.x509.AVAKeyword entries marked RFC 2253 compliant);
// every other type is printed as its dotted OID with a #hex value.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// knownKeywords are the keywords X500Principal's parser accepts (all of
// AVAKeyword's, any case), and the OIDs they stand for.
var knownKeywords = map[string]string{
	"CN": "2.5.4.3", "C": "2.5.4.6", "L": "2.5.4.7", "S": "2.5.4.8", "ST": "2.5.4.8",
	"O": "2.5.4.10", "OU": "2.5.4.11", "T": "2.5.4.12", "IP": "1.3.6.1.4.1.42.2.11.2.1",
	"STREET": "2.5.4.9", "DC": "0.9.2342.19200300.100.1.25", "DNQUALIFIER": "2.5.4.46",
	"DNQ": "2.5.4.46", "SURNAME": "2.5.4.4", "GIVENNAME": "2.5.4.42", "INITIALS": "2.5.4.43",
	"GENERATION": "2.5.4.44", "EMAIL": "1.2.840.113549.1.9.1", "EMAILADDRESS": "1.2.840.113549.1.9.1",
	"UID": "0.9.2342.19200300.100.1.1", "SERIALNUMBER": "2.5.4.5",
}

// DER tags of the string types Java prints as text (AVA.isDerString, not
// canonical): PrintableString, T61String, IA5String, GeneralString,
// UTF8String, BMPString.
var textTags = map[int]bool{19: true, 20: true, 22: true, 27: true, 12: true, 30: true}

type attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rdnSET is one relative distinguished name; encoding/asn1 reads a type
// whose name ends in SET as a SET OF.
type rdnSET []attribute

// Name renders a DER-encoded Name (an x509.Certificate's RawSubject) as
// X500Principal.getName() does, which is RFC 2253 with Java's choices: the
// last RDN first, the attributes of a multi-valued RDN joined by '+' in
// encoded order, keywords only for CN, C, L, ST, O, OU, STREET, DC and UID,
// every other type as a dotted OID with its DER value in lower-case hex.
func Name(der []byte) (string, error) {
	var rdns []rdnSET
	rest, err := asn1.Unmarshal(der, &rdns)
	if err != nil {
		return "", err
	}
	if len(rest) > 0 {
		return "", errors.New("x500: trailing data after the name")
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i < len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeAttribute(&b, a)
		}
	}
	return b.String(), nil
}

func writeAttribute(b *strings.Builder, a attribute) {
	oid := a.Type.String()
	kw, ok := rfc2253Keywords[oid]
	if !ok {
		kw = oid
	}
	b.WriteString(kw)
	b.WriteByte('=')
	if !ok || a.Value.Class != asn1.ClassUniversal || !textTags[a.Value.Tag] {
		b.WriteByte('#')
		b.WriteString(hex.EncodeToString(a.Value.FullBytes))
		return
	}
	// Java decodes the content as UTF-8 whatever the string type.
	b.WriteString(escapeValue(strings.ToValidUTF8(string(a.Value.Bytes), "\uFFFD")))
}

// escapeValue is the escaping of AVA.toRFC2253String: the specials get a
// backslash, NUL becomes \00, and leading and trailing spaces and carriage
// returns get a backslash each.
func escapeValue(s string) string {
	const escapees = ",=+<>#;\"\\"
	var runes []rune
	for _, r := range s {
		switch {
		case strings.ContainsRune(escapees, r):
			runes = append(runes, '\\', r)
		case r == 0:
			runes = append(runes, '\\', '0', '0')
		default:
			runes = append(runes, r)
		}
	}
	blank := func(r rune) bool { return r == ' ' || r == '\r' }
	lead := 0
	for lead < len(runes) && blank(runes[lead]) {
		lead++
	}
	trail := len(runes) - 1
	for trail >= 0 && blank(runes[trail]) {
		trail--
	}
	var b strings.Builder
	for i, r := range runes {
		if i < lead || i > trail {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Valid reports whether new X500Principal(dn) would accept dn, which is
// how ZooKeeper's x509 provider checks the id of an ACL (isValid). The
// empty name is valid. RDNs are separated by ',' or ';', the attributes of
// one by '+'; a type is a keyword Java knows (any case) or a dotted OID,
// optionally prefixed "OID."; a value is #hex, "quoted" or a string whose
// specials are escaped.
func Valid(dn string) bool {
	if dn == "" {
		return true
	}
	rdns, ok := split(dn, ",;")
	if !ok {
		return false
	}
	for _, rdn := range rdns {
		avas, ok := split(rdn, "+")
		if !ok {
			return false
		}
		for _, ava := range avas {
			if !validAVA(ava) {
				return false
			}
		}
	}
	return true
}

// split cuts s at the separators that are neither escaped nor quoted; an
// unterminated quote or a trailing lone backslash is invalid.
func split(s, seps string) ([]string, bool) {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, false
	}
	return append(parts, s[start:]), true
}

func validAVA(ava string) bool {
	eq := -1
	for i := 0; i < len(ava); i++ {
		if ava[i] == '\\' {
			i++
			continue
		}
		if ava[i] == '=' {
			eq = i
			break
		}
	}
	if eq < 0 {
		return false
	}
	if !validType(strings.TrimSpace(ava[:eq])) {
		return false
	}
	return validValue(strings.TrimLeft(ava[eq+1:], " "))
}

func validType(t string) bool {
	if _, ok := knownKeywords[strings.ToUpper(t)]; ok {
		return true
	}
	if len(t) > 4 && strings.EqualFold(t[:4], "OID.") {
		t = t[4:]
	}
	return validOID(t)
}

// validOID accepts what ObjectIdentifier.of accepts: at least two
// dot-separated decimal components, the first 0, 1 or 2.
func validOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return parts[0] == "0" || parts[0] == "1" || parts[0] == "2"
}

func validValue(v string) bool {
	switch {
	case strings.HasPrefix(v, "#"):
		h := strings.TrimRight(v[1:], " ")
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) == 0 {
			return false
		}
		var val asn1.RawValue
		rest, err := asn1.Unmarshal(raw, &val)
		return err == nil && len(rest) == 0
	case strings.HasPrefix(v, `"`):
		end := -1
		for i := 1; i < len(v); i++ {
			if v[i] == '\\' {
				i++
				continue
			}
			if v[i] == '"' {
				end = i
				break
			}
		}
		return end > 0 && strings.TrimSpace(v[end+1:]) == "" && utf8.ValidString(v)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 >= len(v) {
				return false
			}
			n := v[i+1]
			if isHex(n) && i+2 < len(v) && isHex(v[i+2]) {
				i += 2
				continue
			}
			if !strings.ContainsRune(",=+<>#;\"\\ \n", rune(n)) {
				return false
			}
			i++
		case '"', '<', '>', '\n':
			// Unescaped specials that Java's string parser refuses.
			return false
		}
	}
	return utf8.ValidString(v)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
