package discovery

import (
	"errors"
	"strconv"
	"strings"
)

// URISpec is Curator's UriSpec: a template such as
// "{scheme}://{address}:{port}/v1" kept as literal and variable parts, from
// which a client builds an instance's URI.
type URISpec struct {
	Parts []URIPart `json:"parts"`
}

// URIPart is a literal, or with Variable the name of a variable.
type URIPart struct {
	Value    string `json:"value"`
	Variable bool   `json:"variable"`
}

// ParseURISpec splits a template into parts as Curator's UriSpec(String)
// does: {name} is a variable (its name trimmed), the rest literal.
func ParseURISpec(raw string) (*URISpec, error) {
	spec := &URISpec{}
	inside := false
	for raw != "" {
		i := strings.IndexAny(raw, "{}")
		if i != 0 {
			if i < 0 {
				i = len(raw)
			}
			tok := raw[:i]
			if inside {
				tok = strings.TrimSpace(tok)
			}
			spec.Parts = append(spec.Parts, URIPart{Value: tok, Variable: inside})
			raw = raw[i:]
			continue
		}
		switch raw[0] {
		case '{':
			if inside {
				return nil, errors.New("discovery: uri spec: { is not allowed inside a variable")
			}
			inside = true
		case '}':
			if !inside {
				return nil, errors.New("discovery: uri spec: } must be preceded by {")
			}
			inside = false
		}
		raw = raw[1:]
	}
	if inside {
		return nil, errors.New("discovery: uri spec: final variable not closed")
	}
	return spec, nil
}

// BuildURI fills in inst's URISpec as Curator's buildUriSpec does: scheme
// (https when there is an SSL port, else http), name, id, address, port,
// ssl-port, registration-time-utc, service-type, and "[" / "]" for literal
// braces, overridden or extended by vars. Unknown variables are left out.
// An instance without a URISpec yields "".
func BuildURI[P any](inst *ServiceInstance[P], vars map[string]string) string {
	if inst.URISpec == nil {
		return ""
	}
	scheme := "http"
	if inst.SSLPort != 0 {
		scheme = "https"
	}
	values := map[string]string{
		"[": "{", "]": "}", "scheme": scheme,
		"name": inst.Name, "id": inst.ID, "address": inst.Address,
		"port": portString(inst.Port), "ssl-port": portString(inst.SSLPort),
		"registration-time-utc": strconv.FormatInt(millis(inst.RegistrationTimeUTC), 10),
		"service-type":          strings.ToLower(inst.ServiceType.String()),
	}
	for k, v := range vars {
		values[k] = v
	}
	var b strings.Builder
	for _, p := range inst.URISpec.Parts {
		if p.Variable {
			b.WriteString(values[p.Value])
		} else {
			b.WriteString(p.Value)
		}
	}
	return b.String()
}

// portString is how Curator's nullCheck renders a missing port: "".
func portString(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}
