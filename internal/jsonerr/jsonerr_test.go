package jsonerr

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

type request struct {
	Temperature *float32          `json:"temperature"`
	MaxTokens   int               `json:"max_tokens"`
	Stop        []string          `json:"stop"`
	Options     map[string]string `json:"options"`
	Stream      bool              `json:"stream"`
}

// TestDescribe: every decoding error reads in JSON's terms, naming the field, never Go's types.
func TestDescribe(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"temperature":"hot"}`, "temperature: got a JSON string, want a number"},
		{`{"max_tokens":1.5}`, "max_tokens: got a JSON number 1.5, want an integer"},
		{`{"stop":"x"}`, "stop: got a JSON string, want a list"},
		{`{"options":[1]}`, "options: got a JSON array, want an object"},
		{`{"stream":"yes"}`, "stream: got a JSON string, want true or false"},
		{`[1]`, "value: got a JSON array, want an object"},
		{`{"stream":tru}`, "malformed JSON at byte"},
		{`{"stream":true`, "malformed JSON: the data end in the middle of a value"},
	}
	for _, c := range cases {
		var r request
		err := DecodeOne(json.NewDecoder(strings.NewReader(c.in)), &r)
		if err == nil {
			t.Errorf("%s: no error", c.in)
			continue
		}
		got := Describe(err)
		if !strings.Contains(got, c.want) || strings.Contains(got, "Go ") || strings.Contains(got, "request") || strings.Contains(got, "float32") {
			t.Errorf("%s: %q, want it to contain %q and no Go names", c.in, got, c.want)
		}
	}
}

// TestDecodeOne: one object and white space is accepted; a second value or junk after it is not; the
// reader's own errors come back unchanged.
func TestDecodeOne(t *testing.T) {
	for in, ok := range map[string]bool{`{"stream":true}`: true, "{\"stream\":true}\n \t": true, `{}{}`: false, `{} x`: false, `{} 1`: false, `{}]`: false} {
		var r request
		err := DecodeOne(json.NewDecoder(strings.NewReader(in)), &r)
		if (err == nil) != ok || (!ok && !errors.Is(err, errTrailing)) {
			t.Errorf("%q: %v, want accepted %v", in, err, ok)
		}
	}
	boom := errors.New("body too large")
	var r request
	if err := DecodeOne(json.NewDecoder(io.MultiReader(strings.NewReader(`{} `), errReader{boom})), &r); !errors.Is(err, boom) {
		t.Errorf("a read error after the value became %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
