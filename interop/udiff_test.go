package interop

import (
	"fmt"
	"strings"
)

// unifiedDiff returns a unified diff of two line lists with three lines of
// context, or "" when they are equal. Transcripts are a few hundred lines, so
// a plain longest-common-subsequence table is cheap enough.
func unifiedDiff(nameA, nameB string, a, b []string) string {
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type edit struct {
		op   byte // ' ', '-' or '+'
		ai   int  // index in a (for ' ' and '-') or where b's line would go
		bi   int
		text string
	}
	var edits []edit
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			edits = append(edits, edit{' ', i, j, a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			edits = append(edits, edit{'+', i, j, b[j]})
			j++
		default:
			edits = append(edits, edit{'-', i, j, a[i]})
			i++
		}
	}
	const context = 3
	var out strings.Builder
	for k := 0; k < len(edits); {
		if edits[k].op == ' ' {
			k++
			continue
		}
		// A hunk runs until the changes are more than 2*context lines apart.
		start, last := max(k-context, 0), k
		for m := k + 1; m < len(edits) && m-last <= 2*context; m++ {
			if edits[m].op != ' ' {
				last = m
			}
		}
		end := min(last+context+1, len(edits))
		var na, nb int
		for _, e := range edits[start:end] {
			if e.op != '+' {
				na++
			}
			if e.op != '-' {
				nb++
			}
		}
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", edits[start].ai+1, na, edits[start].bi+1, nb)
		for _, e := range edits[start:end] {
			fmt.Fprintf(&out, "%c%s\n", e.op, e.text)
		}
		k = end
	}
	return out.String()
}
