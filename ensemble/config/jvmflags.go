package config

import "strings"

// ParseJVMFlags returns the system properties that a java command line
// defines with -Dkey=value. zkServer.sh expands $JVMFLAGS unquoted, so the
// flags are split on whitespace with no shell quoting; a later -D for the same
// key wins, "-Dkey" alone defines an empty value, and every other flag
// (-Xmx1g, -cp …) is ignored.
func ParseJVMFlags(flags string) map[string]string {
	props := map[string]string{}
	for _, f := range strings.Fields(flags) {
		def, ok := strings.CutPrefix(f, "-D")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(def, "=")
		if k != "" {
			props[k] = v
		}
	}
	return props
}
