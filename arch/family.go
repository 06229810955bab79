package arch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/glmtool/glmtool/gguf"
)

// familyOf tells which generation a file of architecture archName holds. glmtool writes glmtool.family;
// files written by llama.cpp's converter do not, so the family is read from what the file holds, in order
// of reliability: the tokenizer model (GLM-4 alone is byte-level BPE), the vocabulary (ChatGLM3 added
// the role tokens <|user|> ... to ChatGLM2's), the chat template, and last the model's name.
func familyOf(m *gguf.Metadata, archName string) (Family, error) {
	if archName == ChatGLM1 {
		return FamilyChatGLM1, nil
	}
	if fam, err := m.String(KeyFamily); err == nil {
		if !slices.Contains(Families, Family(fam)) {
			return "", fmt.Errorf("key %q: family %q is not one of chatglm, chatglm2, chatglm3, glm4", KeyFamily, fam)
		}
		return Family(fam), nil
	}
	if tm, err := m.String(KeyTokenizerModel); err == nil && tm == "gpt2" {
		return FamilyGLM4, nil
	}
	if toks, err := m.Strings(KeyTokens); err == nil {
		if slices.Contains(toks, "<|user|>") {
			return FamilyChatGLM3, nil
		}
		return FamilyChatGLM2, nil // SentencePiece with [gMASK] sop but no roles
	}
	if tmpl, err := m.String(KeyChatTemplate); err == nil {
		switch {
		case strings.Contains(tmpl, "<|user|>"):
			return FamilyChatGLM3, nil
		case strings.Contains(tmpl, "[Round"):
			return FamilyChatGLM2, nil
		}
	}
	name, _ := m.String(KeyName)
	switch name = strings.ToLower(name); {
	case strings.Contains(name, "glm-4") || strings.Contains(name, "glm4"):
		return FamilyGLM4, nil
	case strings.Contains(name, "chatglm2"):
		return FamilyChatGLM2, nil
	}
	return FamilyChatGLM3, nil // the likeliest for a chatglm file that says nothing else
}
