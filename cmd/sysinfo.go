package cmd

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// peakRSS reads the process's peak resident set size (VmHWM) from /proc, in bytes; 0 where unavailable.
func peakRSS() int64 { return procKB("/proc/self/status", "VmHWM:") }

// memTotal is the machine's memory (MemTotal) in bytes, 0 where unavailable.
func memTotal() int64 { return procKB("/proc/meminfo", "MemTotal:") }

// procKB reads the "KEY: N kB" line of a /proc file, in bytes; 0 where the file or key is missing.
func procKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// physicalCores counts distinct (physical id, core id) pairs in /proc/cpuinfo: hyper-threads share a
// core's execution units, so they add little to a memory-bound decoder. Falls back to NumCPU.
func physicalCores() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	cores := map[string]bool{}
	phys := ""
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "physical id":
			phys = strings.TrimSpace(v)
		case "core id":
			cores[phys+"/"+strings.TrimSpace(v)] = true
		}
	}
	if len(cores) == 0 {
		return runtime.NumCPU()
	}
	return min(len(cores), runtime.NumCPU())
}

// resetPeakRSS starts a new peak-RSS measurement (Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
