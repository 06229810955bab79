package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionString is what --version prints: the module version (or the -X link-time version), the VCS
// revision the binary was built from, and the Go toolchain, all from the build information Go embeds.
func versionString() string {
	v, rev, modified := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	switch {
	case rev == "":
		rev = "revision unknown (built without VCS stamping)"
	case len(rev) > 12:
		rev = "revision " + rev[:12]
	default:
		rev = "revision " + rev
	}
	if modified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s, %s, %s %s/%s", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
