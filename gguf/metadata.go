package gguf

import "fmt"

// Metadata is an ordered set of key/value pairs. Order matters: a file is written back with its keys in the
// order they were read, which is what makes a round trip byte-identical.
type Metadata struct {
	kvs   []KV
	index map[string]int
}

// NewMetadata builds metadata from pairs in order; a repeated key replaces the earlier value in place.
func NewMetadata(kvs ...KV) *Metadata {
	m := &Metadata{index: make(map[string]int, len(kvs))}
	for _, kv := range kvs {
		m.Set(kv.Key, kv.Value)
	}
	return m
}

// KVs returns the pairs in order. The slice must not be modified.
func (m *Metadata) KVs() []KV { return m.kvs }

// Len is the number of keys.
func (m *Metadata) Len() int { return len(m.kvs) }

// Get returns the value of key.
func (m *Metadata) Get(key string) (Value, bool) {
	i, ok := m.index[key]
	if !ok {
		return Value{}, false
	}
	return m.kvs[i].Value, true
}

// Has reports whether key is present.
func (m *Metadata) Has(key string) bool { _, ok := m.index[key]; return ok }

// Set replaces the value of an existing key in place, or appends a new key at the end.
func (m *Metadata) Set(key string, v Value) {
	if m.index == nil {
		m.index = map[string]int{}
	}
	if i, ok := m.index[key]; ok {
		m.kvs[i].Value = v
		return
	}
	m.index[key] = len(m.kvs)
	m.kvs = append(m.kvs, KV{Key: key, Value: v})
}

// Delete removes key if present, keeping the order of the others.
func (m *Metadata) Delete(key string) {
	i, ok := m.index[key]
	if !ok {
		return
	}
	m.kvs = append(m.kvs[:i], m.kvs[i+1:]...)
	delete(m.index, key)
	for j := i; j < len(m.kvs); j++ {
		m.index[m.kvs[j].Key] = j
	}
}

// Clone returns a copy whose order and values can be changed independently (array payloads are shared).
func (m *Metadata) Clone() *Metadata {
	return NewMetadata(m.kvs...)
}

// KeyError says that a key is missing or holds a value of another type.
type KeyError struct {
	Key  string
	Want string
	Got  string // empty when the key is missing
}

func (e *KeyError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("key %q: missing (want %s)", e.Key, e.Want)
	}
	return fmt.Sprintf("key %q: want %s, got %s", e.Key, e.Want, e.Got)
}

func get[T any](m *Metadata, key, want string) (T, error) {
	var zero T
	v, ok := m.Get(key)
	if !ok {
		return zero, &KeyError{Key: key, Want: want}
	}
	x, ok := v.Any().(T)
	if !ok {
		return zero, &KeyError{Key: key, Want: want, Got: v.TypeName()}
	}
	return x, nil
}

// Typed accessors. Each returns a *KeyError when the key is missing or has another type.
func (m *Metadata) Uint32(key string) (uint32, error)   { return get[uint32](m, key, "uint32") }
func (m *Metadata) Int32(key string) (int32, error)     { return get[int32](m, key, "int32") }
func (m *Metadata) Uint64(key string) (uint64, error)   { return get[uint64](m, key, "uint64") }
func (m *Metadata) Float32(key string) (float32, error) { return get[float32](m, key, "float32") }
func (m *Metadata) Bool(key string) (bool, error)       { return get[bool](m, key, "bool") }
func (m *Metadata) String(key string) (string, error)   { return get[string](m, key, "string") }
func (m *Metadata) Strings(key string) ([]string, error) {
	return get[[]string](m, key, "array[string]")
}
func (m *Metadata) Float32s(key string) ([]float32, error) {
	return get[[]float32](m, key, "array[float32]")
}
func (m *Metadata) Int32s(key string) ([]int32, error) { return get[[]int32](m, key, "array[int32]") }

// Int reads any integer-typed scalar as an int64; hyper-parameters are written as UINT32 by convert but as
// other integer types by some tools, and llama.cpp accepts them all.
func (m *Metadata) Int(key string) (int64, error) {
	v, ok := m.Get(key)
	if !ok {
		return 0, &KeyError{Key: key, Want: "integer"}
	}
	switch x := v.v.(type) {
	case uint8:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x <= 1<<63-1 {
			return int64(x), nil
		}
	}
	return 0, &KeyError{Key: key, Want: "integer", Got: v.TypeName()}
}
