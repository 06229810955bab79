package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/tokenizer"
)

const (
	// glm3ToolSystem is ChatGLM3's default system text for tool use (its openai_api demo).
	glm3ToolSystem = "Answer the following questions as best as you can. You have access to the following tools:"
	// glm4ToolPreamble opens GLM-4's tool system message (its chat template, spec §5.4).
	glm4ToolPreamble = "你是一个名为 GLM-4 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，你的任务是针对用户的问题和要求提供适当的答复和支持。\n\n# 可用工具"
)

// jsonIndent marshals like Python's json.dumps(x, indent=4, ensure_ascii=False).
func jsonIndent(x any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	_ = enc.Encode(x)
	return strings.TrimSuffix(buf.String(), "\n")
}

type functionSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// toMessages turns OpenAI messages (and tools) into the family's chat messages (spec §5.3, §5.4).
func toMessages(fam arch.Family, msgs []chatMessage, tools []tool) ([]tokenizer.Message, error) {
	if len(tools) > 0 && fam != arch.FamilyChatGLM3 && !glm4Tools(fam) {
		return nil, fmt.Errorf("%s has no tool calling (ChatGLM3, GLM-4 and GLM-4-0414 have)", fam)
	}
	var specs []functionSpec
	for _, t := range tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, fmt.Errorf("every tool must be {type: \"function\", function: {name, ...}}")
		}
		specs = append(specs, functionSpec{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	var out []tokenizer.Message
	systemDone := false
	addTools := func(content string) string {
		if fam == arch.FamilyChatGLM3 {
			if content == "" {
				content = glm3ToolSystem
			}
			return content + "\n" + jsonIndent(specs)
		}
		var b strings.Builder
		b.WriteString(glm4ToolPreamble)
		for _, s := range specs {
			fmt.Fprintf(&b, "\n\n## %s\n\n%s\n在调用上述函数时，请使用 Json 格式表示调用的参数。", s.Name, jsonIndent(s))
		}
		if content != "" {
			b.WriteString("\n\n" + content)
		}
		return b.String()
	}
	for _, m := range msgs {
		text, err := m.text()
		if err != nil {
			return nil, err
		}
		switch m.Role {
		case "system", "developer":
			if len(specs) > 0 && !systemDone {
				text = addTools(text)
				systemDone = true
			}
			out = append(out, tokenizer.Message{Role: "system", Content: text})
		case "user":
			out = append(out, tokenizer.Message{Role: "user", Content: text})
		case "assistant":
			if len(m.ToolCalls) == 0 {
				out = append(out, tokenizer.Message{Role: "assistant", Content: text})
			}
			for _, tc := range m.ToolCalls {
				out = append(out, tokenizer.Message{Role: "assistant", Metadata: tc.Function.Name, Content: toolCallContent(fam, tc.Function.Arguments)})
			}
		case "tool":
			out = append(out, tokenizer.Message{Role: "observation", Content: text})
		default:
			return nil, fmt.Errorf("unknown message role %q", m.Role)
		}
	}
	if len(specs) > 0 && !systemDone {
		out = append([]tokenizer.Message{{Role: "system", Content: addTools("")}}, out...)
	}
	return out, nil
}

// toolCallContent is how an assistant's tool call appears in the history: ChatGLM3 writes Python
// `tool_call(k=v)` in a code block, GLM-4 the JSON arguments.
func toolCallContent(fam arch.Family, arguments string) string {
	if glm4Tools(fam) {
		return arguments
	}
	var args map[string]any
	_ = json.Unmarshal([]byte(arguments), &args)
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + pyLiteral(args[k])
	}
	return "```python\ntool_call(" + strings.Join(parts, ", ") + ")\n```"
}

func pyLiteral(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), "'", `\'`) + "'"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseToolCall reads a reply as a tool call: its first line names the function (empty for plain text);
// GLM-4 puts JSON arguments after it, ChatGLM3 a Python tool_call(k=v, ...) in a code block.
func parseToolCall(fam arch.Family, reply string) (name, arguments string, ok bool) {
	meta, body, found := strings.Cut(reply, "\n")
	meta = strings.TrimSpace(meta)
	if !found || meta == "" || strings.ContainsAny(meta, " \t") {
		return "", "", false
	}
	body = strings.TrimSpace(body)
	if glm4Tools(fam) {
		var args map[string]any
		if json.Unmarshal([]byte(body), &args) != nil {
			return "", "", false
		}
		out, _ := json.Marshal(args)
		return meta, string(out), true
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "```") {
			lines = append(lines, l)
		}
	}
	call := strings.TrimSpace(strings.Join(lines, "\n"))
	inner, okPrefix := strings.CutPrefix(call, "tool_call(")
	if !okPrefix || !strings.HasSuffix(inner, ")") {
		return "", "", false
	}
	args, err := parseKwargs(strings.TrimSuffix(inner, ")"))
	if err != nil {
		return "", "", false
	}
	out, _ := json.Marshal(args)
	return meta, string(out), true
}

// parseKwargs reads Python keyword arguments with literal values: strings, numbers, True/False/None.
func parseKwargs(s string) (map[string]any, error) {
	args := map[string]any{}
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == ',') {
			i++
		}
	}
	for skip(); i < len(s); skip() {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, fmt.Errorf("expected name=value")
		}
		key := strings.TrimSpace(s[i : i+eq])
		i += eq + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return nil, fmt.Errorf("missing value for %s", key)
		}
		if q := s[i]; q == '\'' || q == '"' {
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			i++
			args[key] = b.String()
			continue
		}
		end := strings.IndexByte(s[i:], ',')
		if end < 0 {
			end = len(s) - i
		}
		lit := strings.TrimSpace(s[i : i+end])
		i += end
		switch lit {
		case "True":
			args[key] = true
		case "False":
			args[key] = false
		case "None":
			args[key] = nil
		default:
			f, err := strconv.ParseFloat(lit, 64)
			if err != nil {
				return nil, fmt.Errorf("value %q of %s is not a literal", lit, key)
			}
			args[key] = f
		}
	}
	return args, nil
}

// glm4Tools reports the families that call tools in GLM-4's format (GLM-4-0414 kept it).
func glm4Tools(fam arch.Family) bool { return fam == arch.FamilyGLM4 || fam == arch.FamilyGLM40414 }
