package tokenizer

import (
	"unicode/utf8"
)

// Decoder turns a stream of ids into UTF-8 text without ever splitting a character: bytes of an incomplete
// character wait for the next token. SentencePiece's leading space (from the dummy prefix) is dropped once,
// at the start.
type Decoder struct {
	t       *Tokenizer
	pending []byte
	started bool
}

// NewDecoder starts a decoding stream.
func (t *Tokenizer) NewDecoder() *Decoder { return &Decoder{t: t} }

// Next adds one id and returns the complete characters now available.
func (d *Decoder) Next(id int32) []byte {
	if id < 0 || int(id) >= len(d.t.bytes) {
		return nil
	}
	b := d.t.bytes[id]
	if len(b) == 0 {
		return nil
	}
	if !d.started && d.t.spm != nil && len(d.pending) == 0 && b[0] == ' ' {
		b = b[1:]
	}
	d.started = true
	d.pending = append(d.pending, b...)
	n := completePrefix(d.pending)
	out := append([]byte(nil), d.pending[:n]...)
	d.pending = d.pending[n:]
	return out
}

// Flush returns whatever is left, invalid bytes replaced by U+FFFD.
func (d *Decoder) Flush() []byte {
	out := []byte(string([]rune(string(d.pending))))
	d.pending = nil
	return out
}

// completePrefix is the length of b without a trailing incomplete UTF-8 sequence (invalid bytes that can
// never complete are passed through).
func completePrefix(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		i := len(b) - k
		c := b[i]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xC0 { // a lead byte: is its sequence complete?
			need := 2
			if c >= 0xF0 {
				need = 4
			} else if c >= 0xE0 {
				need = 3
			}
			if k < need && utf8.FullRune(b[i:]) == false {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}
