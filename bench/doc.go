// Package bench measures models the way llama-bench does: prompt processing (pp) and token generation
// (tg) speed over repetitions after a warm-up, peak memory, and how close generation comes to the memory
// bandwidth limit, which it measures in the same run.
package bench
