package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readClientConfig reads a -client-configuration properties file into cfg.
// It honours jute.maxbuffer and passes over the keys it has no use for.
// TLS settings it refuses: the server has no TLS yet, and connecting in
// the clear would betray what the file asks for.
func readClientConfig(path string, cfg *Config) error {
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
		if key == "jute.maxbuffer" {
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 {
				return fmt.Errorf("client configuration %s: jute.maxbuffer %q is not a positive number", path, value)
			}
			cfg.MaxBuffer = n
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client configuration %s: %w", path, err)
	}
	return nil
}
