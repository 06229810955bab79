package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the test types into master, the program under test has slave as
// its terminal (/dev/ptmx, unlock, then /dev/pts/N, as posix_openpt and friends do).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here (%v): the terminal chat test needs one", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	_ = unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	return m, s
}

// screen collects what a program writes to its terminal.
type screen struct{ lockedBuffer }

// waitFor waits until the screen shows want count times in all.
func (s *screen) waitFor(t *testing.T, want string, count int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.String(), want) < count {
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q %d times:\n%s", want, count, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endsWithNewline reports whether the last output was a line end, waiting briefly for the reader to catch
// up with a program that has just exited.
func (s *screen) endsWithNewline() bool {
	for range 50 {
		if strings.HasSuffix(s.String(), "\n") {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// startInTerminal starts the built binary with a pseudo-terminal as its controlling terminal.
func startInTerminal(t *testing.T, bin string, args ...string) (*exec.Cmd, *os.File, *screen) {
	t.Helper()
	master, slave := openPTY(t)
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	scr := &screen{}
	go func() { _, _ = io.Copy(scr, master) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = master.Close()
	})
	return cmd, master, scr
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatal("the program did not exit")
		return -1
	}
}

// TestChatInTerminal drives chat as a person does, in a real (pseudo-)terminal: /help and unknown
// commands answer without reaching the model, /system and /clear confirm, arrow-up recalls the last line
// (not ^[[A sent to the model), a """ block is one message, -v prints each reply's speed, and Ctrl-C or
// Ctrl-D at the prompt exit 0 on a fresh line.
func TestChatInTerminal(t *testing.T) {
	bin := buildBinary(t)
	model := convertF32(t, "glm-4-9b-chat-tiny")
	cmd, keys, scr := startInTerminal(t, bin, "chat", "-m", model, "-n", "4", "--temp", "0", "-v")
	scr.waitFor(t, ">>> ", 1)
	type step struct {
		keys, want string
		count      int
	}
	for _, s := range []step{
		{"/help\r", "Commands:", 1},
		{"/bogus\r", "unknown command /bogus", 1},
		{"/system You are terse.\r", "(system prompt set; conversation cleared)", 1},
		{"你好\r", "(prompt ", 1},
		{"\x1b[A\r", "(prompt ", 2}, // up arrow: the same line again
		{"/clear\r", "(conversation cleared)", 1},
		{"\"\"\"\rline one\rline two\r\"\"\"\r", "(prompt ", 3},
	} {
		if _, err := keys.WriteString(s.keys); err != nil {
			t.Fatal(err)
		}
		scr.waitFor(t, s.want, s.count)
		scr.waitFor(t, ">>> ", strings.Count(scr.String(), ">>> ")) // settle
	}
	if got := scr.String(); strings.Count(got, ">>> 你好") < 2 || strings.Contains(got, "^[[A") {
		t.Errorf("arrow-up did not recall the line:\n%s", got)
	}
	if strings.Contains(scr.String(), "\"\"\"") && !strings.Contains(scr.String(), "... line one") {
		t.Errorf("the block's continuation lines were not prompted with ...:\n%s", scr.String())
	}
	time.Sleep(100 * time.Millisecond)
	_, _ = keys.WriteString("\x03") // Ctrl-C at the prompt
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("Ctrl-C at the prompt: exit %d, want 0:\n%s", code, scr.String())
	}
	if !scr.endsWithNewline() {
		t.Errorf("chat did not end on a new line: %q", scr.String()[max(0, len(scr.String())-40):])
	}

	cmd, keys, scr = startInTerminal(t, bin, "chat", "-m", model, "-n", "2", "--temp", "0")
	scr.waitFor(t, ">>> ", 1)
	_, _ = keys.WriteString("\x04") // Ctrl-D
	if code := waitExit(t, cmd); code != 0 || !scr.endsWithNewline() {
		t.Errorf("Ctrl-D: exit %d, screen %q", code, scr.String())
	}
}

// TestTablesInTerminalAndPipe, through the built binary: on a terminal the info and bench tables are
// box-drawn within 100 columns; piped, they are plain columns; shell completion answers from the binary.
func TestTablesInTerminalAndPipe(t *testing.T) {
	bin := buildBinary(t)
	model := convertF32(t, "glm-4-9b-chat-tiny")
	for _, args := range [][]string{{"info", model}, {"bench", "-m", model, "-p", "8", "-n", "4", "-t", "1", "--bandwidth-bytes", "16777216"}} {
		cmd, _, scr := startInTerminal(t, bin, args...)
		if code := waitExit(t, cmd); code != 0 {
			t.Fatalf("%v in a terminal: exit %d\n%s", args, code, scr.String())
		}
		time.Sleep(100 * time.Millisecond)                  // let the reader drain the terminal
		out := strings.ReplaceAll(scr.String(), "\r", "\n") // a progress bar redraws its line with \r
		if !strings.Contains(out, "│") {
			t.Errorf("%v in a terminal has no box table:\n%s", args, out)
		}
		if line := widestLine(withoutFileLine(out)); utf8.RuneCountInString(line) > 100 {
			t.Errorf("%v in a terminal: a %d-column line: %s", args, utf8.RuneCountInString(line), line)
		}
		code, piped, stderr := execCLI(t, bin, nil, args...)
		if code != 0 || strings.ContainsAny(piped, "│┌─") || utf8.RuneCountInString(widestLine(withoutFileLine(piped))) > 100 {
			t.Errorf("%v piped: exit %d, want plain columns within 100:\n%s%s", args, code, piped, stderr)
		}
	}
	if code, out, _ := execCLI(t, bin, nil, "__complete", "quantize", "--type", "q4"); code != 0 || !strings.Contains(out, "q4_k_m") {
		t.Errorf("completion from the binary: %q", out)
	}
}

// withoutFileLine drops info's "file:" line, whose length is the path's: the tables are what must fit.
func withoutFileLine(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "file:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
