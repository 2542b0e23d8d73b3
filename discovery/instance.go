package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// ServiceType is Curator's ServiceType. The zero value is Dynamic, which is
// also what Curator assumes when the field is missing.
type ServiceType int

// The service types, in Curator's order.
const (
	// Dynamic instances are EPHEMERAL nodes: they go with the session that
	// registered them (and come back with the next one, see Register).
	Dynamic ServiceType = iota
	// Static instances are PERSISTENT nodes.
	Static
	// Permanent instances are PERSISTENT nodes too; the type tells readers
	// (Curator's discovery server) not to clean them up.
	Permanent
	// DynamicSequential instances are EPHEMERAL_SEQUENTIAL nodes named
	// <id><sequence>.
	DynamicSequential
)

var serviceTypeNames = [...]string{"DYNAMIC", "STATIC", "PERMANENT", "DYNAMIC_SEQUENTIAL"}

func (t ServiceType) String() string {
	if t < 0 || int(t) >= len(serviceTypeNames) {
		return "ServiceType(" + strconv.Itoa(int(t)) + ")"
	}
	return serviceTypeNames[t]
}

// IsDynamic reports whether instances of this type end with their session.
func (t ServiceType) IsDynamic() bool { return t == Dynamic || t == DynamicSequential }

func parseServiceType(s string) (ServiceType, error) {
	for i, n := range serviceTypeNames {
		if n == s {
			return ServiceType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown serviceType %q", s)
}

// ServiceInstance is Curator's ServiceInstance: one registered instance of
// the service Name. P is the payload's Go type (see the package doc for how
// it maps to Jackson's @class).
type ServiceInstance[P any] struct {
	Name string
	// ID identifies the instance among the service's instances; it is the
	// node's name.
	ID string
	// Address is "" when Curator's is null.
	Address string
	// Port and SSLPort are 0 when Curator's are null.
	Port    int
	SSLPort int
	// Payload is written as Curator's payload; it is null when P encodes
	// to JSON null (a nil pointer, map or interface).
	Payload P
	// PayloadClass is the Java class of the payload, Jackson's @class. See
	// the package doc for what "" means.
	PayloadClass string
	// RegistrationTimeUTC has millisecond precision; the zero time is
	// written as 0. Register sets it to now when it is zero, as Curator's
	// builder does.
	RegistrationTimeUTC time.Time
	ServiceType         ServiceType
	// URISpec is nil when Curator's is null.
	URISpec *URISpec
	// Disabled is Curator's enabled field, inverted so that the zero value
	// is enabled, which is what Curator reads when the field is missing.
	// It is written only with WithEnabledField; ServiceProvider skips
	// disabled instances.
	Disabled bool
}

// Serializer is Curator's JsonInstanceSerializer.
type Serializer[P any] struct {
	// WriteEnabled writes the enabled field, as JsonInstanceSerializer does
	// with compatibleSerializationMode false. By default it is left out,
	// as Curator's default serializer leaves it out for the sake of older
	// Curators, which reject unknown fields.
	WriteEnabled bool
}

// Serialize writes an instance as Curator's JsonInstanceSerializer does:
// the same fields in the same order, nulls included, and the payload
// tagged with its @class.
func (s Serializer[P]) Serialize(inst *ServiceInstance[P]) ([]byte, error) {
	if inst.ServiceType < Dynamic || inst.ServiceType > DynamicSequential {
		return nil, fmt.Errorf("discovery: instance %s/%s: invalid %v", inst.Name, inst.ID, inst.ServiceType)
	}
	payload, err := encodePayload(inst.Payload, inst.PayloadClass)
	if err != nil {
		return nil, fmt.Errorf("discovery: payload of %s/%s: %w", inst.Name, inst.ID, err)
	}
	var b bytes.Buffer
	b.WriteString(`{"name":`)
	quote(&b, inst.Name)
	b.WriteString(`,"id":`)
	quote(&b, inst.ID)
	b.WriteString(`,"address":`)
	if inst.Address == "" {
		b.WriteString("null")
	} else {
		quote(&b, inst.Address)
	}
	b.WriteString(`,"port":`)
	writePort(&b, inst.Port)
	b.WriteString(`,"sslPort":`)
	writePort(&b, inst.SSLPort)
	b.WriteString(`,"payload":`)
	b.Write(payload)
	b.WriteString(`,"registrationTimeUTC":`)
	b.WriteString(strconv.FormatInt(millis(inst.RegistrationTimeUTC), 10))
	b.WriteString(`,"serviceType":`)
	quote(&b, inst.ServiceType.String())
	b.WriteString(`,"uriSpec":`)
	if inst.URISpec == nil {
		b.WriteString("null")
	} else {
		b.WriteString(`{"parts":[`)
		for i, p := range inst.URISpec.Parts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"value":`)
			quote(&b, p.Value)
			b.WriteString(`,"variable":` + strconv.FormatBool(p.Variable) + "}")
		}
		b.WriteString("]}")
	}
	if s.WriteEnabled {
		b.WriteString(`,"enabled":` + strconv.FormatBool(!inst.Disabled))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// millis is Curator's registrationTimeUTC for t: 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func writePort(b *bytes.Buffer, port int) {
	if port == 0 {
		b.WriteString("null")
		return
	}
	b.WriteString(strconv.Itoa(port))
}

// wireInstance is what Deserialize reads; pointers tell null from absent
// where Curator's defaults differ from Go's zero values.
type wireInstance struct {
	Name                string          `json:"name"`
	ID                  string          `json:"id"`
	Address             *string         `json:"address"`
	Port                *int            `json:"port"`
	SSLPort             *int            `json:"sslPort"`
	Payload             json.RawMessage `json:"payload"`
	RegistrationTimeUTC int64           `json:"registrationTimeUTC"`
	ServiceType         *string         `json:"serviceType"`
	URISpec             *URISpec        `json:"uriSpec"`
	Enabled             *bool           `json:"enabled"`
}

// Deserialize reads what Curator's JsonInstanceSerializer (or Serialize)
// wrote. Unknown fields are ignored, as Curator ignores them.
func (s Serializer[P]) Deserialize(data []byte) (*ServiceInstance[P], error) {
	var w wireInstance
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("discovery: instance: %w", err)
	}
	inst := &ServiceInstance[P]{Name: w.Name, ID: w.ID, URISpec: w.URISpec}
	if w.Address != nil {
		inst.Address = *w.Address
	}
	if w.Port != nil {
		inst.Port = *w.Port
	}
	if w.SSLPort != nil {
		inst.SSLPort = *w.SSLPort
	}
	if w.RegistrationTimeUTC != 0 {
		inst.RegistrationTimeUTC = time.UnixMilli(w.RegistrationTimeUTC).UTC()
	}
	if w.ServiceType != nil {
		t, err := parseServiceType(*w.ServiceType)
		if err != nil {
			return nil, fmt.Errorf("discovery: instance %s/%s: %w", w.Name, w.ID, err)
		}
		inst.ServiceType = t
	}
	inst.Disabled = w.Enabled != nil && !*w.Enabled
	var err error
	if inst.PayloadClass, err = decodePayload(w.Payload, &inst.Payload); err != nil {
		return nil, fmt.Errorf("discovery: payload of %s/%s: %w", w.Name, w.ID, err)
	}
	return inst, nil
}

// Jackson's natural types: written without type information, and the only
// scalars Curator reads without it.
const (
	classMap  = "java.util.LinkedHashMap"
	classList = "java.util.ArrayList"
)

// encodePayload writes the payload the way Jackson writes a value annotated
// @JsonTypeInfo(use = CLASS): an object gets "@class" as its first member,
// anything else with a class becomes [class, value], and a scalar without
// one is written bare, as Jackson writes its natural types (String,
// Integer, Double, Boolean).
func encodePayload(payload any, class string) ([]byte, error) {
	raw, err := marshal(payload)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	switch raw[0] {
	case 'n':
		return raw, nil
	case '{':
		if class == "" {
			class = classMap
		}
		b.WriteString(`{"@class":`)
		quote(&b, class)
		if len(raw) > 2 {
			b.WriteByte(',')
		}
		b.Write(raw[1:])
		return b.Bytes(), nil
	case '[':
		if class == "" {
			class = classList
		}
	}
	if class == "" {
		return raw, nil
	}
	b.WriteByte('[')
	quote(&b, class)
	b.WriteByte(',')
	b.Write(raw)
	b.WriteByte(']')
	return b.Bytes(), nil
}

// marshal is json.Marshal with strings escaped as Jackson escapes them:
// only '"', '\\' and control characters, the latter as \u00XX with
// upper-case hex where there is no short form. '<', '>', '&', U+2028 and
// U+2029 are written as they are.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// Every backslash in encoding/json's output starts an escape inside a
	// string, so the escapes can be rewritten without parsing.
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			out = append(out, raw[i])
			continue
		}
		if raw[i+1] != 'u' {
			out = append(out, raw[i], raw[i+1])
			i++
			continue
		}
		switch string(raw[i+2 : i+6]) {
		case "2028":
			out = utf8.AppendRune(out, '\u2028')
		case "2029":
			out = utf8.AppendRune(out, '\u2029')
		default:
			out = append(out, `\u`...)
			out = append(out, bytes.ToUpper(raw[i+2:i+6])...)
		}
		i += 5
	}
	return out, nil
}

// decodePayload reads a payload written by encodePayload or by Jackson into
// p and returns its class ("" for a null or bare payload). Numbers in
// untyped payloads (any, map[string]any) are json.Number, so that Java longs
// keep every digit.
func decodePayload[P any](raw json.RawMessage, p *P) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var class string
	switch raw[0] {
	case '{':
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return "", err
		}
		if c, ok := members["@class"]; ok {
			if err := json.Unmarshal(c, &class); err != nil {
				return "", fmt.Errorf("@class: %w", err)
			}
			delete(members, "@class")
			var err error
			if raw, err = json.Marshal(members); err != nil {
				return "", err
			}
		}
	case '[':
		var wrapper []json.RawMessage
		if err := json.Unmarshal(raw, &wrapper); err != nil {
			return "", err
		}
		if len(wrapper) != 2 || json.Unmarshal(wrapper[0], &class) != nil {
			return "", errors.New(`want [class, value]`)
		}
		raw = wrapper[1]
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(p); err != nil {
		return "", fmt.Errorf("as %T: %w", *p, err)
	}
	return class, nil
}

// quote writes s as a JSON string the way Jackson does (see marshal).
func quote(b *bytes.Buffer, s string) {
	q, _ := marshal(s) // a string always encodes
	b.Write(q)
}
