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
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes. Scripts can tell a bad command line from a failed run and from an interrupted one.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// version is set at link time (-ldflags "-X github.com/glmtool/glmtool/cmd.version=v1.2.3").
var version = "dev"

// app carries what every command shares. It lives for one Execute call; nothing is global.
type app struct {
	stdout      io.Writer
	stderr      io.Writer
	verbose     bool
	cpuProfile  string
	stopProfile func()
}

// usageError marks errors in the command line, so that they exit with ExitUsage.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Execute runs glmtool with os.Args and returns the process exit code. SIGINT and SIGTERM cancel the
// command's context, which aborts long work and removes partial output files.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.stopProfile != nil {
		a.stopProfile()
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "glmtool: %v\n", err)
	var ue usageError
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailure
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "glmtool",
		Short: "Convert, quantize, run and benchmark ChatGLM-family models (GGUF)",
		Long: `glmtool works with the ChatGLM family of bilingual language models (ChatGLM-6B, ChatGLM2-6B,
ChatGLM3-6B, GLM-4-9B) stored as GGUF files compatible with llama.cpp.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "print extra detail to stderr")
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file (for performance work)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
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
	root.AddCommand(a.infoCommand(), a.quantizeCommand(), a.convertCommand())
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
