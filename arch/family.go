package arch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/glmtool/glmtool/gguf"
)

// familyOf tells which generation a file of architecture archName holds. glmtool writes glmtool.family;
// files written by llama.cpp's converter do not, so the family is read from what the file holds, in order
// of reliability: the tokenizer model (GLM-4 and GLM-Edge are byte-level BPE; GLM-Edge's name or its
// template without [gMASK] tell it from GLM-4), the vocabulary (ChatGLM3 added
// the role tokens <|user|> ... to ChatGLM2's), the chat template, and last the model's name.
func familyOf(m *gguf.Metadata, archName string) (Family, error) {
	switch archName {
	case ChatGLM1:
		return FamilyChatGLM1, nil
	case GLM4:
		return FamilyGLM40414, nil // the one family of llama.cpp's glm4 architecture
	}
	if fam, err := m.String(KeyFamily); err == nil {
		if !slices.Contains(Families, Family(fam)) || Family(fam).Architecture() != archName {
			return "", fmt.Errorf("key %q: family %q is not one of the %s architecture's (chatglm2, chatglm3, glm4, glm-edge)", KeyFamily, fam, archName)
		}
		return Family(fam), nil
	}
	name, _ := m.String(KeyName)
	name = strings.ToLower(name)
	if tm, err := m.String(KeyTokenizerModel); err == nil && tm == "gpt2" {
		// GLM-Edge (which llama.cpp also converts as chatglm) chats without GLM-4's [gMASK]<sop> prefix.
		tmpl, terr := m.String(KeyChatTemplate)
		if strings.Contains(name, "edge") || (terr == nil && strings.Contains(tmpl, "<|user|>") && !strings.Contains(tmpl, "[gMASK]")) {
			return FamilyGLMEdge, nil
		}
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
	switch {
	case strings.Contains(name, "glm-4") || strings.Contains(name, "glm4"):
		return FamilyGLM4, nil
	case strings.Contains(name, "chatglm2"):
		return FamilyChatGLM2, nil
	}
	return FamilyChatGLM3, nil // the likeliest for a chatglm file that says nothing else
}

// FamilyFromMetadata is the family of a file of architecture archName with metadata m (see familyOf).
func FamilyFromMetadata(m *gguf.Metadata, archName string) (Family, error) {
	return familyOf(m, archName)
}
