// Command glmtool converts, quantizes, runs and benchmarks ChatGLM-family models stored as GGUF files.
package main

import (
	"os"

	"github.com/glmtool/glmtool/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}
