package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/tokenizer"
)

func (a *app) chatCommand() *cobra.Command {
	var fl modelFlags
	var system string
	c := &cobra.Command{
		Use:   "chat -m MODEL.gguf",
		Short: "Chat with a model in the terminal (or over piped stdin)",
		Long: `Hold a conversation: each line you type is a user turn, the reply streams back. The conversation
stays in the KV cache, so each turn only feeds its new tokens; when the context fills, the oldest turns
are dropped. Ctrl-C stops a reply without leaving; at the prompt it exits, as Ctrl-D does.

In a terminal the line editor has history (up/down) and the usual editing keys; a line ending in \
continues on the next, and """ starts and ends a block of several lines. Commands: /help, /clear (forget
the conversation), /system TEXT (set the system prompt, ChatGLM3 and GLM-4), /exit. -v prints the speed
of each reply to stderr. With piped stdin there are no prompt decorations: one reply per input line, and
command confirmations go to stderr.`,
		Example: `  glmtool chat -m chatglm3-6b-q4_0.gguf
  printf '你好\n介绍一下你自己\n' | glmtool chat -m glm4-9b-q4_0.gguf --temp 0`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, s, err := fl.load()
			if err != nil {
				return err
			}
			defer m.Close()
			if m.Tok == nil {
				return errNoTokenizer(fl.model, "chat")
			}
			if system != "" && !m.Tok.SupportsRoles() {
				return usagef("%s has no system role (ChatGLM3 and GLM-4 have)", m.Params.Family)
			}
			return a.chatLoop(cmd.Context(), m, s, &fl, system)
		},
	}
	fl.register(c)
	c.Flags().StringVar(&system, "system", "", "system prompt (ChatGLM3, GLM-4)")
	return c
}

// chatHelp is what /help prints.
const chatHelp = `Commands:
  /help          this list
  /clear         forget the conversation (the system prompt stays)
  /system TEXT   set the system prompt and start over (ChatGLM3, GLM-4); /system alone removes it
  /exit, /quit   leave (so do Ctrl-D and Ctrl-C at the prompt)
Input: a line ending in \ continues on the next line; """ on a line of its own starts and ends a block of
several lines. Arrow keys edit the line and walk the history. Ctrl-C during a reply stops the reply.`

// lineReader reads one line of input; io.EOF ends the chat.
type lineReader interface {
	ReadLine(prompt string) (string, error)
}

// pipeReader reads lines from a pipe or file, with no prompt.
type pipeReader struct{ r *bufio.Reader }

func (p *pipeReader) ReadLine(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if errors.Is(err, io.EOF) && line != "" {
		err = nil // the last line, without a newline
	}
	return strings.TrimRight(line, "\r\n"), err
}

// terminalReader edits lines with golang.org/x/term's line editor (arrow keys, history, Ctrl-A/E/K/U...).
// The terminal is raw only while a line is read, so Ctrl-C during a reply is still a signal that stops the
// reply, while Ctrl-C or Ctrl-D at the prompt ends the chat.
type terminalReader struct {
	fd  int
	out io.Writer
	t   *term.Terminal
}

func newTerminalReader(in *os.File, out io.Writer) *terminalReader {
	rw := struct {
		io.Reader
		io.Writer
	}{in, out}
	return &terminalReader{fd: int(in.Fd()), out: out, t: term.NewTerminal(rw, "")}
}

func (r *terminalReader) ReadLine(prompt string) (string, error) {
	old, err := term.MakeRaw(r.fd)
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(r.fd, old)
	if w, h, err := term.GetSize(r.fd); err == nil {
		_ = r.t.SetSize(w, h)
	}
	r.t.SetPrompt(prompt)
	return r.t.ReadLine()
}

// readMessage reads one message: a line, lines joined by a trailing backslash, or a """ block.
func readMessage(in lineReader, interactive bool) (string, error) {
	prompt, more := "", ""
	if interactive {
		prompt, more = ">>> ", "... "
	}
	line, err := in.ReadLine(prompt)
	if err != nil {
		return "", err
	}
	switch {
	case strings.TrimSpace(line) == `"""`:
		var parts []string
		for {
			l, err := in.ReadLine(more)
			if err != nil {
				return strings.Join(parts, "\n"), err
			}
			if strings.TrimSpace(l) == `"""` {
				return strings.Join(parts, "\n"), nil
			}
			parts = append(parts, l)
		}
	case strings.HasSuffix(line, `\`):
		parts := []string{strings.TrimSuffix(line, `\`)}
		for {
			l, err := in.ReadLine(more)
			if err != nil {
				return strings.Join(parts, "\n"), err
			}
			if !strings.HasSuffix(l, `\`) {
				return strings.Join(append(parts, l), "\n"), nil
			}
			parts = append(parts, strings.TrimSuffix(l, `\`))
		}
	}
	return line, nil
}

func (a *app) chatLoop(ctx context.Context, m *infer.Model, s *infer.Session, fl *modelFlags, system string) error {
	f, isFile := a.stdin.(*os.File)
	interactive := isFile && term.IsTerminal(int(f.Fd()))
	out := bufio.NewWriter(a.stdout)
	defer out.Flush()
	// Confirmations go to the screen, or to stderr when stdout is a pipe of one reply per line.
	note := func(format string, args ...any) {
		if interactive {
			fmt.Fprintf(out, format+"\n", args...)
		} else {
			fmt.Fprintf(a.stderr, format+"\n", args...)
		}
	}
	var in lineReader = &pipeReader{r: bufio.NewReader(a.stdin)}
	if interactive {
		in = newTerminalReader(f, a.stdout)
	}
	var history []tokenizer.Message
	reset := func() {
		history = history[:0]
		if system != "" {
			history = append(history, tokenizer.Message{Role: "system", Content: system})
		}
	}
	reset()
	sampler := fl.sampler(m)
	if interactive {
		fmt.Fprintf(out, "glmtool chat: %s. /help for commands; Ctrl-C stops a reply, Ctrl-D exits.\n", describeModel(m))
	}
	for {
		out.Flush()
		text, err := readMessage(in, interactive)
		if errors.Is(err, io.EOF) && text == "" {
			if interactive {
				fmt.Fprintln(out) // leave the shell prompt on a line of its own
			}
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		eof := errors.Is(err, io.EOF)
		cmdName, arg, _ := strings.Cut(strings.TrimSpace(text), " ")
		switch {
		case strings.TrimSpace(text) == "":
		case cmdName == "/exit" || cmdName == "/quit":
			return nil
		case cmdName == "/help" || cmdName == "/?":
			note("%s", chatHelp)
		case cmdName == "/clear":
			reset()
			s.Truncate(0)
			note("(conversation cleared)")
		case cmdName == "/system":
			if !m.Tok.SupportsRoles() {
				note("(%s has no system role; nothing changed)", m.Params.Family)
				break
			}
			system = strings.TrimSpace(arg)
			reset()
			s.Truncate(0)
			if system == "" {
				note("(system prompt removed; conversation cleared)")
			} else {
				note("(system prompt set; conversation cleared)")
			}
		case strings.HasPrefix(cmdName, "/") && !strings.Contains(cmdName[1:], "/"):
			note("(unknown command %s; /help lists them. Start a message with a space to send a slash.)", cmdName)
		default:
			reply, res, err := a.chatTurn(ctx, m, s, sampler, fl.maxTok, &history, text, out)
			if err != nil {
				return err
			}
			history = append(history, tokenizer.Message{Role: "user", Content: text}, tokenizer.Message{Role: "assistant", Content: reply})
			fmt.Fprintln(out)
			if a.verbose {
				out.Flush()
				t := timings(res)
				fmt.Fprintf(a.stderr, "(prompt %d tokens, %.2f t/s; reply %d tokens, %.2f t/s; context %d of %d)\n",
					res.PromptN, t.PromptPerSec, len(res.Generated), t.GeneratePerSec, s.Len(), s.Context())
			}
		}
		if eof || ctx.Err() != nil {
			return nil
		}
	}
}

// chatTurn answers one user line, reusing the cached prefix of the conversation and dropping the oldest
// turns when the context would overflow.
func (a *app) chatTurn(ctx context.Context, m *infer.Model, s *infer.Session, sampler *infer.Sampler, maxTok int,
	history *[]tokenizer.Message, text string, out *bufio.Writer) (string, *infer.Result, error) {
	reserve := min(512, s.Context()/4) // room for the reply
	var ids []int32
	for {
		msgs := append(append([]tokenizer.Message(nil), *history...), tokenizer.Message{Role: "user", Content: text})
		var err error
		if ids, err = m.Tok.ChatPrompt(msgs); err != nil {
			return "", nil, err
		}
		first := 0
		if len(*history) > 0 && (*history)[0].Role == "system" {
			first = 1
		}
		if len(ids)+reserve <= s.Context() || len(*history)-first < 2 {
			break
		}
		*history = append((*history)[:first], (*history)[first+2:]...) // drop the oldest exchange
	}
	if len(ids) >= s.Context() {
		return "", nil, fmt.Errorf("the message needs %d tokens, the context holds %d (raise --ctx)", len(ids), s.Context())
	}
	common := 0
	for common < len(ids) && common < s.Len() && s.Tokens()[common] == ids[common] {
		common++
	}
	common = min(common, len(ids)-1) // feed at least one token
	s.Truncate(common)
	replyCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.setInterruptHandler(func() bool { cancel(); return true })
	defer a.setInterruptHandler(nil)
	dec := m.Tok.NewDecoder()
	post := tokenizer.NewPostProcessor(m.Params.Family)
	var reply strings.Builder
	res, err := s.Generate(replyCtx, ids[common:], infer.GenerateOptions{MaxTokens: maxTok, Stops: m.Stops, Sampler: sampler,
		OnToken: func(id int32) bool {
			piece := post.Write(string(dec.Next(id)))
			reply.WriteString(piece)
			out.WriteString(piece)
			out.Flush()
			return replyCtx.Err() == nil
		}})
	if err != nil {
		return "", nil, err
	}
	tail := post.Write(string(dec.Flush())) + post.Flush()
	reply.WriteString(tail)
	out.WriteString(tail)
	if res.StopReason == "cancelled" {
		out.WriteString(" [stopped]")
	}
	return strings.TrimPrefix(reply.String(), "\n"), res, nil
}
