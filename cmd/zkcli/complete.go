package main

import (
	"context"
	"slices"
	"strings"
	"time"
)

// completer completes the first word of a line as a command and any later
// word that starts with / as a znode path, listing the parent on the
// server, as zkCli.sh's completer does.
type completer struct {
	s *Shell
}

// Do returns the candidate suffixes for the word before pos and that
// word's length (readline's AutoCompleter).
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	text := string(line[:pos])
	i := strings.LastIndexByte(text, ' ')
	if i < 0 {
		var out [][]rune
		for _, name := range commandNames() {
			if strings.HasPrefix(name, text) {
				out = append(out, []rune(name[len(text):]+" "))
			}
		}
		return out, len([]rune(text))
	}
	word := text[i+1:]
	if !strings.HasPrefix(word, "/") || c.s.client == nil {
		return nil, 0
	}
	dir, base := word[:strings.LastIndexByte(word, '/')+1], word[strings.LastIndexByte(word, '/')+1:]
	parent := strings.TrimSuffix(dir, "/")
	if parent == "" {
		parent = "/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	kids, _, err := c.s.client.Children(ctx, parent, false)
	if err != nil {
		return nil, 0
	}
	slices.Sort(kids)
	var out [][]rune
	for _, k := range kids {
		if strings.HasPrefix(k, base) {
			out = append(out, []rune(k[len(base):]))
		}
	}
	return out, len([]rune(base))
}
