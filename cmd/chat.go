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
are dropped. Ctrl-C stops a reply without leaving; at the prompt it exits.

Commands: /clear (forget the conversation), /system TEXT (set the system prompt, ChatGLM3 and GLM-4),
/exit. With piped stdin there are no prompt decorations: one reply per input line.`,
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

func (a *app) chatLoop(ctx context.Context, m *infer.Model, s *infer.Session, fl *modelFlags, system string) error {
	f, isFile := a.stdin.(*os.File)
	interactive := isFile && term.IsTerminal(int(f.Fd()))
	out := bufio.NewWriter(a.stdout)
	defer out.Flush()
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
		fmt.Fprintf(out, "glmtool chat: %s. /clear, /system TEXT, /exit; Ctrl-C stops a reply.\n", describeModel(m))
	}
	in := bufio.NewReader(a.stdin)
	for {
		if interactive {
			fmt.Fprint(out, "\n> ")
		}
		out.Flush()
		line, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		text := strings.TrimRight(line, "\r\n")
		eof := errors.Is(err, io.EOF)
		switch {
		case strings.TrimSpace(text) == "":
		case text == "/exit" || text == "/quit":
			return nil
		case text == "/clear":
			reset()
			s.Truncate(0)
		case strings.HasPrefix(text, "/system"):
			if !m.Tok.SupportsRoles() {
				fmt.Fprintf(out, "%s has no system role\n", m.Params.Family)
				break
			}
			system = strings.TrimSpace(strings.TrimPrefix(text, "/system"))
			reset()
			s.Truncate(0)
		default:
			reply, err := a.chatTurn(ctx, m, s, sampler, fl.maxTok, &history, text, out)
			if err != nil {
				return err
			}
			history = append(history, tokenizer.Message{Role: "user", Content: text}, tokenizer.Message{Role: "assistant", Content: reply})
			fmt.Fprintln(out)
		}
		if eof || ctx.Err() != nil {
			return nil
		}
	}
}

// chatTurn answers one user line, reusing the cached prefix of the conversation and dropping the oldest
// turns when the context would overflow.
func (a *app) chatTurn(ctx context.Context, m *infer.Model, s *infer.Session, sampler *infer.Sampler, maxTok int,
	history *[]tokenizer.Message, text string, out *bufio.Writer) (string, error) {
	reserve := min(512, s.Context()/4) // room for the reply
	var ids []int32
	for {
		msgs := append(append([]tokenizer.Message(nil), *history...), tokenizer.Message{Role: "user", Content: text})
		var err error
		if ids, err = m.Tok.ChatPrompt(msgs); err != nil {
			return "", err
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
		return "", fmt.Errorf("the message needs %d tokens, the context holds %d (raise --ctx)", len(ids), s.Context())
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
		return "", err
	}
	tail := post.Write(string(dec.Flush())) + post.Flush()
	reply.WriteString(tail)
	out.WriteString(tail)
	if res.StopReason == "cancelled" {
		out.WriteString(" [stopped]")
	}
	return strings.TrimPrefix(reply.String(), "\n"), nil
}
