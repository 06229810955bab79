package convert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// spmPiece is one SentencePiece vocabulary entry.
type spmPiece struct {
	Piece string
	Score float32
	Type  int32 // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
}

// spmModel is what glmtool needs of a SentencePiece ModelProto.
type spmModel struct {
	Pieces       []spmPiece
	ModelType    int32 // TrainerSpec.model_type: 1 unigram, 2 BPE
	ByteFallback bool
	DummyPrefix  bool // NormalizerSpec.add_dummy_prefix (default true)
}

// errTruncated is reported for any field that runs past the end of the message.
var errTruncated = errors.New("truncated protobuf field")

// pbReader walks protobuf wire format with every length checked against the data.
type pbReader struct {
	b   []byte
	pos int
}

func (r *pbReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, errTruncated
	}
	r.pos += n
	return v, nil
}

// next returns the field number, wire type, and for length-delimited fields the payload.
func (r *pbReader) next() (field int, wire int, val uint64, payload []byte, err error) {
	key, err := r.varint()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	field, wire = int(key>>3), int(key&7)
	switch wire {
	case 0:
		val, err = r.varint()
	case 1:
		if len(r.b)-r.pos < 8 {
			return 0, 0, 0, nil, errTruncated
		}
		val = binary.LittleEndian.Uint64(r.b[r.pos:])
		r.pos += 8
	case 5:
		if len(r.b)-r.pos < 4 {
			return 0, 0, 0, nil, errTruncated
		}
		val = uint64(binary.LittleEndian.Uint32(r.b[r.pos:]))
		r.pos += 4
	case 2:
		var n uint64
		if n, err = r.varint(); err != nil {
			return
		}
		if n > uint64(len(r.b)-r.pos) {
			return 0, 0, 0, nil, errTruncated
		}
		payload = r.b[r.pos : r.pos+int(n)]
		r.pos += int(n)
	default:
		return 0, 0, 0, nil, fmt.Errorf("unsupported protobuf wire type %d", wire)
	}
	return
}

// parseSPM reads a SentencePiece ModelProto (sentencepiece_model.proto): pieces (field 1), trainer spec
// (2: model_type 3, byte_fallback 35) and normalizer spec (3: add_dummy_prefix 3).
func parseSPM(data []byte) (*spmModel, error) {
	m := &spmModel{DummyPrefix: true}
	r := &pbReader{b: data}
	for r.pos < len(data) {
		field, wire, _, payload, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("byte %d: %w", r.pos, err)
		}
		switch {
		case field == 1 && wire == 2:
			p, err := parseSPMPiece(payload)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case field == 2 && wire == 2:
			if err := walkFields(payload, func(f, w int, v uint64, _ []byte) {
				switch {
				case f == 3 && w == 0:
					m.ModelType = int32(v)
				case f == 35 && w == 0:
					m.ByteFallback = v != 0
				}
			}); err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case field == 3 && wire == 2:
			if err := walkFields(payload, func(f, w int, v uint64, _ []byte) {
				if f == 3 && w == 0 {
					m.DummyPrefix = v != 0
				}
			}); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		}
	}
	if len(m.Pieces) == 0 {
		return nil, errors.New("no pieces: not a SentencePiece model")
	}
	return m, nil
}

func walkFields(b []byte, fn func(field, wire int, val uint64, payload []byte)) error {
	r := &pbReader{b: b}
	for r.pos < len(b) {
		f, w, v, p, err := r.next()
		if err != nil {
			return err
		}
		fn(f, w, v, p)
	}
	return nil
}

func parseSPMPiece(b []byte) (spmPiece, error) {
	p := spmPiece{Type: 1}
	err := walkFields(b, func(f, w int, v uint64, payload []byte) {
		switch {
		case f == 1 && w == 2:
			p.Piece = string(payload)
		case f == 2 && w == 5:
			p.Score = math.Float32frombits(uint32(v))
		case f == 3 && w == 0:
			p.Type = int32(v)
		}
	})
	if err == nil && (p.Type < 1 || p.Type > 6) {
		err = fmt.Errorf("piece %q has unknown type %d", p.Piece, p.Type)
	}
	return p, err
}
