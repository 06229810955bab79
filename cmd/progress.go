package cmd

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress returns a byte-counting progress bar on stderr, or nil when stderr is not a terminal (CI logs
// and pipes get no bar).
func newProgress(stderr io.Writer, total int64, what string) *progressbar.ProgressBar {
	return newBar(stderr, total, what, true)
}

// newCountProgress is newProgress for a count of steps (bench's tests) rather than bytes.
func newCountProgress(stderr io.Writer, total int64, what string) *progressbar.ProgressBar {
	return newBar(stderr, total, what, false)
}

func newBar(stderr io.Writer, total int64, what string, bytes bool) *progressbar.ProgressBar {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}
