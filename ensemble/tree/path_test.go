package tree

import "testing"

// The ASCII fast path gives the rune-by-rune check's verdict.
func FuzzValidatePath(f *testing.F) {
	for _, p := range []string{"/a", "/a/b", "//", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/...", "/a.b", "/.a", "/a\x00", "/a\x1f", "/\x7f", "/é", "/a/\u2028", "/zookeeper/quota"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" || p[0] != '/' || p == "/" || p[len(p)-1] == '/' {
			return
		}
		if ascii, ok := validASCIIPath(p); ascii && ok != validRunes(p) {
			t.Fatalf("%q: the ASCII check says %v, the rune check %v", p, ok, validRunes(p))
		}
	})
}
