package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/nlpodyssey/safetensors"

	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/atomicfile"
)

// PerplexityResult summarises a perplexity run, with KL divergence against a base run when one is given.
type PerplexityResult struct {
	Tokens     int      `json:"tokens"`
	Chunks     int      `json:"chunks"`
	Ctx        int      `json:"ctx"`
	Scored     int      `json:"scored_positions"`
	Perplexity float64  `json:"perplexity"`
	MeanKL     *float64 `json:"mean_kl,omitempty"`
	MaxKL      *float64 `json:"max_kl,omitempty"`
	Top1Agree  *float64 `json:"top1_agreement,omitempty"`
}

// Perplexity evaluates tokens in chunks of ctx, each from an empty cache, and scores the second half of
// each chunk (positions ctx/2 … ctx-2 predict the next token), as llama-perplexity does. The log-probs of
// the scored positions are returned for saving and KL comparison: [chunk][position][vocab].
func Perplexity(ctx context.Context, m *infer.Model, tokens []int32, n int, kv infer.KVType) (*PerplexityResult, [][][]float32, error) {
	if n < 4 {
		return nil, nil, fmt.Errorf("--ctx %d is too small (want at least 4)", n)
	}
	chunks := len(tokens) / n
	if chunks == 0 {
		return nil, nil, fmt.Errorf("the text has %d tokens, fewer than one chunk of %d (lower --ctx)", len(tokens), n)
	}
	first := n / 2
	res := &PerplexityResult{Tokens: len(tokens), Chunks: chunks, Ctx: n}
	var nll float64
	lps := make([][][]float32, chunks)
	for c := range chunks {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		s, err := m.NewSession(n, kv)
		if err != nil {
			return nil, nil, err
		}
		chunk := tokens[c*n : (c+1)*n]
		logits, err := s.Eval(chunk, true)
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		for p := first; p < n-1; p++ {
			lp := infer.LogSoftmax(logits[p]) // a new slice: it outlives the session's buffers
			nll -= float64(lp[chunk[p+1]])
			res.Scored++
			lps[c] = append(lps[c], lp)
		}
		s.Close() // a GPU's KV cache and buffers are device memory: freed per chunk, not by the GC
	}
	res.Perplexity = math.Exp(nll / float64(res.Scored))
	return res, lps, nil
}

// CompareKL fills in the KL divergence KL(base ‖ this) and top-1 agreement of this run's log-probs against a
// base run's, position by position.
func CompareKL(res *PerplexityResult, lps, base [][][]float32) error {
	if len(base) != len(lps) {
		return fmt.Errorf("the base run has %d chunks, this one %d: use the same text and --ctx", len(base), len(lps))
	}
	var sum, mx float64
	agree, n := 0, 0
	for c := range lps {
		if len(base[c]) != len(lps[c]) {
			return fmt.Errorf("chunk %d: %d scored positions in the base run, %d here", c, len(base[c]), len(lps[c]))
		}
		for p := range lps[c] {
			b, q := base[c][p], lps[c][p]
			if len(b) != len(q) {
				return fmt.Errorf("the base run has a vocabulary of %d, this model %d", len(b), len(q))
			}
			var kl float64
			bi, qi := 0, 0
			for v := range b {
				pb := math.Exp(float64(b[v]))
				kl += pb * float64(b[v]-q[v])
				if b[v] > b[bi] {
					bi = v
				}
				if q[v] > q[qi] {
					qi = v
				}
			}
			sum += kl
			mx = max(mx, kl)
			if bi == qi {
				agree++
			}
			n++
		}
	}
	mean, top := sum/float64(n), float64(agree)/float64(n)
	res.MeanKL, res.MaxKL, res.Top1Agree = &mean, &mx, &top
	return nil
}

// SaveLogprobs writes log-probs [chunks, positions, vocab] as float32 safetensors ("logprobs"), atomically.
func SaveLogprobs(ctx context.Context, path string, lps [][][]float32) error {
	c, p, v := len(lps), len(lps[0]), len(lps[0][0])
	header := fmt.Sprintf(`{"logprobs":{"dtype":"F32","shape":[%d,%d,%d],"data_offsets":[0,%d]}}`, c, p, v, 4*c*p*v)
	for len(header)%8 != 0 {
		header += " "
	}
	return atomicfile.Write(ctx, path, func(w io.Writer) error {
		buf := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		if _, err := w.Write(append(buf, header...)); err != nil {
			return err
		}
		row := make([]byte, 4*v)
		for _, chunk := range lps {
			for _, lp := range chunk {
				for i, x := range lp {
					binary.LittleEndian.PutUint32(row[4*i:], math.Float32bits(x))
				}
				if _, err := w.Write(row); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// LoadLogprobs reads a file written by SaveLogprobs.
func LoadLogprobs(path string) ([][][]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tv, ok := st.Tensor("logprobs")
	if !ok || tv.DType() != safetensors.F32 || len(tv.Shape()) != 3 {
		return nil, fmt.Errorf("%s: no float32 [chunks, positions, vocab] tensor \"logprobs\"", path)
	}
	sh := tv.Shape()
	b := tv.Data()
	out := make([][][]float32, sh[0])
	k := 0
	for c := range out {
		out[c] = make([][]float32, sh[1])
		for p := range out[c] {
			row := make([]float32, sh[2])
			for i := range row {
				row[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
				k++
			}
			out[c][p] = row
		}
	}
	return out, nil
}
