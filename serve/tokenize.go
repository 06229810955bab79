package serve

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// tokenizeRequest and the rest are llama-server's /tokenize and /detokenize, which scripts use to count
// tokens or check a prompt's encoding against the model's own tokenizer.
type tokenizeRequest struct {
	Content    string `json:"content"`
	AddSpecial bool   `json:"add_special"` // the family's prefix tokens ([gMASK] sop ...)
	WithPieces bool   `json:"with_pieces"`
}

type tokenPiece struct {
	ID    int32  `json:"id"`
	Piece string `json:"piece"` // the text the token stands for (invalid UTF-8 replaced)
}

type tokenizeResponse struct {
	Tokens any `json:"tokens"` // []int32, or []tokenPiece with with_pieces
}

type detokenizeRequest struct {
	Tokens []int32 `json:"tokens"`
}

type detokenizeResponse struct {
	Content string `json:"content"`
}

func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) {
	var req tokenizeRequest
	if !s.decode(w, r, &req) {
		return
	}
	tok := s.cfg.Model.Tok
	// The same bounds as a prompt: refused from its byte count when it cannot fit, encoding stops at the
	// context, and it is cancelled when the client leaves.
	ids, ok := s.encodePrompt(w, r, func(ctx context.Context, limit int) ([]int32, error) {
		if req.AddSpecial {
			return tok.EncodeWithSpecialsContext(ctx, req.Content, limit)
		}
		return tok.EncodeContext(ctx, req.Content, limit)
	})
	if !ok {
		return
	}
	if ids == nil {
		ids = []int32{}
	}
	if !req.WithPieces {
		writeJSON(w, http.StatusOK, tokenizeResponse{Tokens: ids})
		return
	}
	pieces := make([]tokenPiece, len(ids))
	for i, id := range ids {
		text := string(tok.Text(id))
		if text == "" && tok.IsControl(id) {
			text = tok.Piece(id)
		}
		pieces[i] = tokenPiece{ID: id, Piece: strings.ToValidUTF8(text, "\uFFFD")}
	}
	writeJSON(w, http.StatusOK, tokenizeResponse{Tokens: pieces})
}

func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) {
	var req detokenizeRequest
	if !s.decode(w, r, &req) {
		return
	}
	n := s.cfg.Model.Tok.VocabSize()
	for i, id := range req.Tokens {
		if id < 0 || int(id) >= n {
			writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("tokens[%d]: id %d is outside the vocabulary (0 to %d)", i, id, n-1))
			return
		}
	}
	writeJSON(w, http.StatusOK, detokenizeResponse{Content: s.cfg.Model.Tok.Decode(req.Tokens)})
}
