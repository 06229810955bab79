package tensor

import (
	"fmt"
	"strings"
)

// FileType is llama.cpp's llama_ftype, stored as general.file_type: the nominal type of a whole model file.
type FileType uint32

// The file types that this project writes or that are common in the wild.
const (
	FileF32    FileType = 0
	FileF16    FileType = 1
	FileQ4_0   FileType = 2
	FileQ4_1   FileType = 3
	FileQ8_0   FileType = 7
	FileQ5_0   FileType = 8
	FileQ5_1   FileType = 9
	FileQ2_K   FileType = 10
	FileQ3_K_S FileType = 11
	FileQ3_K_M FileType = 12
	FileQ3_K_L FileType = 13
	FileQ4_K_S FileType = 14
	FileQ4_K_M FileType = 15
	FileQ5_K_S FileType = 16
	FileQ5_K_M FileType = 17
	FileQ6_K   FileType = 18
	FileBF16   FileType = 32
)

// fileTypeGuessed is the flag llama.cpp sets when the file type was inferred, not stored.
const fileTypeGuessed = 1024

var fileTypeNames = map[FileType]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
	17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS",
	24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M",
	32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}

// String returns the name llama.cpp uses for the file type ("Q4_K_M").
func (f FileType) String() string {
	name, ok := fileTypeNames[f&^fileTypeGuessed]
	if !ok {
		return fmt.Sprintf("unknown(%d)", uint32(f))
	}
	if f&fileTypeGuessed != 0 {
		return name + " (guessed)"
	}
	return name
}

// ParseFileType finds a file type by llama.cpp's name, in any case ("q3_k_m", "IQ4_XS").
func ParseFileType(name string) (FileType, bool) {
	for ft, n := range fileTypeNames {
		if strings.EqualFold(n, name) {
			return ft, true
		}
	}
	return 0, false
}
