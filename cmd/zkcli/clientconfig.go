package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// checkClientConfig reads a -client-configuration properties file. zkcli
// takes the file but has nothing to set from it yet; TLS settings it must
// refuse, because the server has no TLS and silently connecting in the
// clear would betray what the file asks for.
func checkClientConfig(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("client configuration: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		key, value, _ := strings.Cut(line, "=")
		if i := strings.IndexAny(key, ": \t"); i >= 0 && !strings.Contains(line, "=") {
			key, value = line[:i], line[i+1:]
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		secure := key == "zookeeper.client.secure" && strings.EqualFold(value, "true")
		if secure || strings.HasPrefix(key, "zookeeper.ssl.") {
			return fmt.Errorf("client configuration %s: %s: TLS is not supported (zookit's server has no TLS yet)", path, key)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client configuration %s: %w", path, err)
	}
	return nil
}
