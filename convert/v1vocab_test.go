package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
)

// spmProto encodes a SentencePiece ModelProto with the given pieces (field 1: piece, score, type).
func spmProto(pieces []spmPiece) []byte {
	var out []byte
	for _, p := range pieces {
		var body []byte
		body = append(body, 0x0a)
		body = binary.AppendUvarint(body, uint64(len(p.Piece)))
		body = append(body, p.Piece...)
		body = append(body, 0x15)
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(p.Score))
		body = append(body, 0x18)
		body = binary.AppendUvarint(body, uint64(p.Type))
		out = append(out, 0x0a)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out
}

// TestChatGLM1Tokenizer converts the v1 fixture with an ice_text.model laid out like the real one (the real
// file is not available here): every piece, with its score and type, lands at its id, and the special ids
// are found by their pieces.
func TestChatGLM1Tokenizer(t *testing.T) {
	pieces := make([]spmPiece, 130528)
	for i := range pieces {
		pieces[i] = spmPiece{Piece: fmt.Sprintf("▁p%d", i), Score: -float32(i) / 7, Type: arch.TokenNormal}
	}
	for id, p := range map[int]spmPiece{0: {"<unk>", 0, arch.TokenUnknown}, 3: {"<pad>", 0, arch.TokenControl}, 4: {"<n>", 0, arch.TokenUserDefined},
		5: {"▁", -2, arch.TokenNormal}, 130000: {"[MASK]", 0, arch.TokenUserDefined}, 130001: {"[gMASK]", 0, arch.TokenUserDefined},
		130004: {"<sop>", 0, arch.TokenUserDefined}, 130005: {"<eop>", 0, arch.TokenUserDefined}, 130088: {"<0x00>", 0, arch.TokenByte}} {
		pieces[id] = p
	}
	dir := linkFixture(t, "chatglm-6b-tiny")
	replaceFile(t, dir, "ice_text.model", spmProto(pieces))
	out := filepath.Join(t.TempDir(), "v1.gguf")
	if _, err := Checkpoint(context.Background(), dir, out, Options{VocabOnly: true}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	toks, _ := f.Meta.Strings(arch.KeyTokens)
	scores, _ := f.Meta.Float32s(arch.KeyScores)
	types, _ := f.Meta.Int32s(arch.KeyTokenTypes)
	if len(toks) != 130528 {
		t.Fatalf("%d tokens", len(toks))
	}
	for i, p := range pieces {
		if toks[i] != p.Piece || scores[i] != p.Score || types[i] != p.Type {
			t.Fatalf("token %d = %q %g %d, want %q %g %d", i, toks[i], scores[i], types[i], p.Piece, p.Score, p.Type)
		}
	}
	for key, want := range map[string]uint32{arch.KeyBOS: 130004, arch.KeyEOS: 130005, arch.KeyMASK: 130000, arch.KeyPAD: 3} {
		if got, err := f.Meta.Uint32(key); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	if fam, _ := f.Meta.String(arch.KeyFamily); fam != "chatglm" {
		t.Errorf("family %q", fam)
	}
}
