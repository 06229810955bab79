package convert

import (
	"slices"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tokenizer"
)

// TestTransformersGLMChatPrompts: the chat formats of GLM-4-0414 (GLM-4's: [gMASK]<sop>, then
// <|role|>\n content per message, then <|assistant|>) and GLM-Edge (llama.cpp's GLMEDGE: the same without
// the prefix), on the synthetic vocabularies with the real special ids, and their stop ids.
func TestTransformersGLMChatPrompts(t *testing.T) {
	msgs := []tokenizer.Message{{Role: "system", Content: "S"}, {Role: "user", Content: "hi"}}
	for _, c := range []struct {
		preset string
		prefix []int32
		roles  [3]int32 // system, user, assistant
		stops  []int32
	}{
		{"glm4-9b-0414", []int32{151331, 151333}, [3]int32{151335, 151336, 151337}, []int32{151329, 151336, 151338}},
		{"glm-edge-1.5b", nil, [3]int32{59252, 59253, 59254}, []int32{59246, 59253, 59255}},
	} {
		p := Presets[c.preset]
		meta := gguf.NewMetadata()
		syntheticVocab(p).Write(meta)
		tok, err := tokenizer.FromMetadata(meta, p.Family)
		if err != nil {
			t.Fatal(err)
		}
		if fam, err := arch.FamilyFromMetadata(meta, p.Family.Architecture()); err != nil || fam != p.Family {
			t.Errorf("%s: a llama.cpp-style file (no glmtool.family) reads as %q (%v)", c.preset, fam, err)
		}
		got, err := tok.ChatPrompt(msgs)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.prefix)
		want = append(want, c.roles[0])
		want = append(want, tok.Encode("\n")...)
		want = append(want, tok.Encode("S")...)
		want = append(want, c.roles[1])
		want = append(want, tok.Encode("\n")...)
		want = append(want, tok.Encode("hi")...)
		want = append(want, c.roles[2])
		if !slices.Equal(got, want) {
			t.Errorf("%s: chat prompt %v, want %v", c.preset, got, want)
		}
		if stops := tokenizer.StopIDs(tok, nil); !slices.Equal(stops, c.stops) {
			t.Errorf("%s: stop ids %v, want %v", c.preset, stops, c.stops)
		}
	}
}
