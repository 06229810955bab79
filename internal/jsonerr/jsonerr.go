// Package jsonerr turns encoding/json's errors into messages for the people who wrote the JSON: they name
// the field and the kinds of value involved, never Go's type or struct names.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Describe rewrites a decoding error. Type mismatches become "FIELD: got a JSON string, want a number";
// syntax errors keep their byte offset; anything else is returned as it is, without its "json: " prefix.
func Describe(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s: got a JSON %s, want %s", field, te.Value, kind(te.Type))
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the data end in the middle of a value"
	case errors.Is(err, errTrailing):
		return err.Error()
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// kind names what a Go type accepts in JSON terms.
func kind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another kind of value"
}

var errTrailing = errors.New("data after the JSON value")

// DecodeOne decodes exactly one JSON value from dec into v: anything but white space after it is an
// error, so that "{...}{...}" or "{...} junk" is refused instead of half read. Read errors of the
// underlying reader (a body over its size limit, a timeout) come back as they are.
func DecodeOne(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		return err
	}
	_, err := dec.Token()
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil || errors.As(err, &se):
		return errTrailing
	}
	return err
}
