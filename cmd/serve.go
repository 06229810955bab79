package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/serve"
	"github.com/glmtool/glmtool/tensor"
)

func (a *app) serveCommand() *cobra.Command {
	var lf loadFlags
	var addr, apiKey string
	var parallel, queue, maxConns int
	var bodyTimeout, idleTimeout time.Duration
	var maxBody int64
	c := &cobra.Command{
		Use:   "serve -m MODEL.gguf",
		Short: "Serve a model over an OpenAI-compatible HTTP API",
		Long: `Serve POST /v1/chat/completions (streaming over SSE, tool calls for ChatGLM3 and GLM-4),
POST /v1/completions, GET /v1/models and GET /health, as llama-server and ollama do, so OpenAI clients can use
a local GLM model. The server binds to loopback by default. --parallel slots each get their own KV cache of
--ctx tokens; up to --queue more requests wait, the rest get 503 with Retry-After. SIGINT/SIGTERM stop
accepting requests, let the ones in flight finish (10 s at most) and exit 0. One JSON log line per request
goes to stderr.`,
		Example: `  glmtool serve -m chatglm3-6b-q4_0.gguf
  glmtool serve -m glm4.gguf --addr 127.0.0.1:9000 --parallel 2 --api-key secret`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.validate(); err != nil {
				return err
			}
			if parallel < 1 || queue < 0 {
				return usagef("--parallel must be at least 1, --queue at least 0")
			}
			if maxConns < parallel+queue {
				return usagef("--max-connections %d must be at least --parallel + --queue (%d)", maxConns, parallel+queue)
			}
			if bodyTimeout <= 0 || idleTimeout <= 0 {
				return usagef("--body-timeout and --idle-timeout must be positive durations (e.g. 30s)")
			}
			m, kv, err := lf.load()
			if err != nil {
				return err
			}
			defer m.Close()
			model := lf.model
			if m.Tok == nil {
				return errNoTokenizer(model, "serve chat or text requests")
			}
			n := lf.context(m, 4096)
			logger := slog.New(slog.NewJSONHandler(a.stderr, nil))
			srv, err := serve.New(serve.Config{Model: m, Name: strings.TrimSuffix(filepath.Base(model), ".gguf"), Ctx: n, Parallel: parallel,
				Queue: queue, APIKey: apiKey, MaxBody: maxBody, KV: kv, Logger: logger, BodyTimeout: bodyTimeout,
				FileType: fileTypeName(m), Version: version})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			a.warnIfExposed(ln.Addr(), apiKey)
			return a.serveUntilDone(cmd.Context(), serve.LimitListener(ln, maxConns), srv.HTTPServer(idleTimeout), logger)
		},
	}
	lf.register(c, "context per slot in tokens, at least 1 (default: the smaller of 4096 and the model's maximum)")
	f := c.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address (loopback by default)")
	f.IntVar(&parallel, "parallel", 1, "concurrent requests, each with its own KV cache")
	f.IntVar(&queue, "queue", 64, "requests that may wait for a slot before the server answers 503")
	f.StringVar(&apiKey, "api-key", "", "require Authorization: Bearer KEY")
	f.Int64Var(&maxBody, "max-body", 8<<20, "request body limit in bytes (413 above)")
	f.IntVar(&maxConns, "max-connections", 256, "connections served at once; more wait in the kernel's queue")
	f.DurationVar(&bodyTimeout, "body-timeout", 30*time.Second, "time a client may take to send a request body (408 after)")
	f.DurationVar(&idleTimeout, "idle-timeout", 60*time.Second, "close keep-alive connections idle this long")
	return c
}

// serveUntilDone serves until ctx is cancelled (SIGINT/SIGTERM), then shuts down gracefully.
func (a *app) serveUntilDone(ctx context.Context, ln net.Listener, hs *http.Server, logger *slog.Logger) error {
	fmt.Fprintf(a.stderr, "glmtool serve: listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		_ = hs.Close() // streams still running after the grace period are cut
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// warnIfExposed warns when the server can be reached from other machines and asks for no key.
func (a *app) warnIfExposed(addr net.Addr, apiKey string) {
	if apiKey == "" && !isLoopback(addr) {
		fmt.Fprintf(a.stderr, "glmtool serve: warning: listening on %s, reachable from other machines, without --api-key: anyone who can connect can use the model\n", addr)
	}
}

// isLoopback reports whether addr can be reached only from this machine.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// fileTypeName is the model file's general.file_type as llama.cpp names it ("Q4_0"), or "unknown".
func fileTypeName(m *infer.Model) string {
	ft, err := m.File.Meta.Uint32(arch.KeyFileType)
	if err != nil {
		return "unknown"
	}
	return tensor.FileType(ft).String()
}
