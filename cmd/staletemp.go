package cmd

import (
	"fmt"

	"github.com/glmtool/glmtool/internal/atomicfile"
)

// removeStaleTemps deletes the temporary files that a killed earlier run left beside out, and says so:
// they can be gigabytes, and the user should know where the space went.
func (a *app) removeStaleTemps(out string) {
	removed, err := atomicfile.RemoveStale(out)
	for _, p := range removed {
		fmt.Fprintf(a.stderr, "glmtool: removed %s, left by an interrupted run\n", p)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "glmtool: warning: could not remove a stale temporary file: %v\n", err)
	}
}
