package server

import (
	"math"
	"testing"
)

// The answers are Java's Double.toString.
func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1.25: "1.25", 3: "3.0", 1234567: "1234567.0", 1e7: "1.0E7", 1.2e8: "1.2E8",
		0.001: "0.001", 0.00025: "2.5E-4", -2e10: "-2.0E10", math.NaN(): "NaN", math.Inf(1): "Infinity",
	} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}
