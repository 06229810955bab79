//go:build unix

package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestCLISignals: Ctrl-C (SIGINT) during run exits 130 and SIGTERM 143, after printing what was generated;
// a partial output file is never left.
func TestCLISignals(t *testing.T) {
	bin := buildBinary(t)
	model := idModel(t, 256)
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, ExitInterrupted}, {syscall.SIGTERM, ExitTerminated}} {
		logits := filepath.Join(t.TempDir(), "steps.safetensors")
		cmd := exec.Command(bin, "run", "-m", model, "--prompt-ids", "1,2,3", "--ignore-eos", "-n", "-1", "--ctx", "8192",
			"--json", "--logits-out", logits)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		_ = cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.code {
			t.Errorf("%v: %v (stderr %q), want exit %d", c.sig, err, errb.String(), c.code)
			continue
		}
		var res struct {
			StopReason      string `json:"stop_reason"`
			GeneratedTokens int    `json:"generated_tokens"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.StopReason != "cancelled" {
			t.Errorf("%v: output %q (%v), want the JSON of a cancelled run", c.sig, out.String(), err)
		}
		if res.GeneratedTokens >= 8192-3 {
			t.Errorf("%v: the run finished (%d tokens) before the signal; the test model is too fast", c.sig, res.GeneratedTokens)
		}
		if _, err := os.Stat(logits); err == nil {
			t.Errorf("%v: an interrupted run left %s", c.sig, logits)
		}
	}
}

// TestCLIUmask: output files get 0666 less the umask, like any file a program creates.
func TestCLIUmask(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	code, _, stderr := execCLI(t, bin, nil, "convert", filepath.Join(testenv.TestData(t), "hf", "chatglm3-6b-tiny"), "-o", filepath.Join(dir, "private.gguf"))
	syscall.Umask(old)
	if code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	if st, err := os.Stat(filepath.Join(dir, "private.gguf")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("output under umask 077: %v %v, want -rw-------", st.Mode(), err)
	}
}
