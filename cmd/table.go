package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"golang.org/x/term"
)

// maxTableWidth is the width the default tables keep within, so that they read in a 100-column terminal
// without wrapping; --wide lifts it.
const maxTableWidth = 100

// isTerminal reports whether w is a terminal, where tables are drawn with box lines. Anything else (a
// pipe, a file, a test buffer) gets plain columns that grep, cut and awk can read.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeTable writes rows under headers, box-drawn on a terminal and as plain aligned columns otherwise.
// footer may be nil.
func writeTable(w io.Writer, headers []string, rows [][]string, footer []string) error {
	if !isTerminal(w) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range append(append([][]string{headers}, rows...), footer) {
			if r != nil {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
		}
		return tw.Flush()
	}
	tbl := tablewriter.NewWriter(w)
	tbl.Header(headers)
	for _, r := range rows {
		if err := tbl.Append(r); err != nil {
			return err
		}
	}
	if footer != nil {
		tbl.Footer(footer)
	}
	return tbl.Render()
}

// fitColumn is the width left for one column of a table whose other columns are as wide as their widest
// cell, so that the table stays within maxTableWidth (at least min).
func fitColumn(headers []string, rows [][]string, col, min int) int {
	used := 0
	for c := range headers {
		if c == col {
			continue
		}
		wd := utf8.RuneCountInString(headers[c])
		for _, r := range rows {
			wd = max(wd, utf8.RuneCountInString(r[c]))
		}
		used += wd
	}
	// Each column costs 3 more (a border and a space each side), plus the last border.
	return max(min, maxTableWidth-used-3*len(headers)-1)
}
