package convert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// refuseInputAsOutput fails when out names the input folder or a file in it (config.json, a shard, the
// tokenizer...), by any path: symlinks and hard links are followed, as the atomic rename would replace
// the file the user still needs. An output that does not exist yet replaces nothing.
func refuseInputAsOutput(dir, out string) error {
	outInfo, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	if dirInfo, err := os.Stat(dir); err == nil && os.SameFile(dirInfo, outInfo) {
		return fmt.Errorf("output %s is the input folder; choose an output file", out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // the folder's own errors are reported when it is read
	}
	for _, e := range entries {
		in := filepath.Join(dir, e.Name())
		if info, err := os.Stat(in); err == nil && os.SameFile(info, outInfo) {
			return fmt.Errorf("output %s is the input file %s; choose another output path (the input is never overwritten)", out, in)
		}
	}
	return nil
}
