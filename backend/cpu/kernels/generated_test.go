package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPanelsAsmMatchesGenerator: q4_0_panels_amd64.s is what scripts/amxgen.py writes (the tile
// instructions are bytes there, so the file is generated, never edited by hand).
func TestPanelsAsmMatchesGenerator(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: cannot run scripts/amxgen.py to compare its output")
	}
	script := filepath.Join("..", "..", "..", "scripts", "amxgen.py")
	want, err := exec.Command(python, script).Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	got, err := os.ReadFile("q4_0_panels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("q4_0_panels_amd64.s differs from the output of scripts/amxgen.py: regenerate it (python3 scripts/amxgen.py > backend/cpu/kernels/q4_0_panels_amd64.s)")
	}
}
