// Package cmd holds glmtool's cobra commands, one file per subcommand. Commands parse flags, call into the
// library packages and format results; they hold no model logic of their own.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/backend/cpu/kernels"
)

// Exit codes. Scripts can tell a bad command line from a failed run and from an interrupted one.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130 // SIGINT (Ctrl-C): 128 + 2, as shells report it
	ExitTerminated  = 143 // SIGTERM: 128 + 15
)

// version is set at link time (-ldflags "-X github.com/glmtool/glmtool/cmd.version=v1.2.3").
var version = "dev"

// app carries what every command shares. It lives for one Execute call; nothing is global.
type app struct {
	stdout      io.Writer
	stderr      io.Writer
	stdin       io.Reader
	verbose     bool
	cpuProfile  string
	stopProfile func()

	mu          sync.Mutex
	onInterrupt func() bool
	// terminated records that SIGTERM (not Ctrl-C) cancelled the command, for the exit code.
	terminated bool
}

// usageError marks errors in the command line, so that they exit with ExitUsage.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Execute runs glmtool with os.Args and returns the process exit code. SIGINT and SIGTERM cancel the
// command's context, which aborts long work and removes partial output files; a command may take SIGINT
// for itself instead (chat stops the reply in progress).
func Execute() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if sig == os.Interrupt {
				if h := a.interruptHandler(); h != nil && h() {
					continue
				}
			} else {
				a.mu.Lock()
				a.terminated = true
				a.mu.Unlock()
			}
			cancel()
		}
	}()
	return a.run(ctx, os.Args[1:])
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, stdin: strings.NewReader("")}
	return a.run(ctx, args)
}

// setInterruptHandler lets a command take SIGINT: h returns true when it handled the signal.
func (a *app) setInterruptHandler(h func() bool) {
	a.mu.Lock()
	a.onInterrupt = h
	a.mu.Unlock()
}

func (a *app) interruptHandler() func() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.onInterrupt
}

func (a *app) run(ctx context.Context, args []string) int {
	stderr := a.stderr
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.stopProfile != nil {
		a.stopProfile()
	}
	if err == nil {
		return ExitOK
	}
	var ue usageError
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		fmt.Fprintln(stderr, "glmtool: interrupted")
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.terminated {
			return ExitTerminated
		}
		return ExitInterrupted
	case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag"):
		// cobra reports unknown commands and flags as plain errors; they are command-line errors too.
		fmt.Fprintf(stderr, "glmtool: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "glmtool: %v\n", err)
	return ExitFailure
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "glmtool",
		Short: "Convert, quantize, run and benchmark ChatGLM-family models (GGUF)",
		Long: `glmtool works with the GLM family of bilingual language models (ChatGLM-6B, ChatGLM2-6B,
ChatGLM3-6B, GLM-4-9B, GLM-4-9B-0414 / GLM-Z1-9B-0414, GLM-Edge) and their LoRA and P-Tuning v2
fine-tunes, stored as GGUF files compatible with llama.cpp.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("glmtool {{.Version}}\n")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "print extra detail to stderr")
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file (for performance work)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if _, err := kernels.Default(); err != nil { // a GLMTOOL_KERNELS that names no kernel set
			return usageError{err}
		}
		if a.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		a.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.infoCommand(), a.quantizeCommand(), a.convertCommand(), a.runCommand(), a.chatCommand(), a.tokenizeCommand(), a.benchCommand(), a.perplexityCommand(), a.serveCommand(), a.devicesCommand())
	addCompletions(root)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error, so that a wrong argument count exits with ExitUsage.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %d argument(s), got %d (see --help)", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}
