package bench

import (
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot draws tokens per second against the prompt length (pp tests) or generated length (tg tests), one
// line per model, kind and thread count, and saves it as PNG (or SVG/PDF, by extension).
func Plot(results []Result, path string) error {
	p := plot.New()
	p.Title.Text = "glmtool bench"
	p.X.Label.Text = "tokens (prompt length for pp, generated length for tg)"
	p.Y.Label.Text = "tokens per second"
	p.Legend.Top = true
	type key struct {
		model, kind string
		threads     int
	}
	series := map[key]plotter.XYs{}
	var keys []key
	for _, r := range results {
		var k key
		var x float64
		switch {
		case r.GenTokens == 0:
			k, x = key{r.Model, "pp", r.Threads}, float64(r.PromptTokens)
		case r.PromptTokens == 0:
			k, x = key{r.Model, "tg", r.Threads}, float64(r.GenTokens)
		default:
			continue
		}
		if _, ok := series[k]; !ok {
			keys = append(keys, k)
		}
		series[k] = append(series[k], plotter.XY{X: x, Y: r.TokensPerSec})
	}
	if len(keys) == 0 {
		return fmt.Errorf("plot: no pp or tg results to draw")
	}
	for i, k := range keys {
		pts := series[k]
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		line.Color, points.Color = c, c
		points.Shape = plotutil.Shape(i)
		if k.kind == "tg" {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(line, points)
		p.Legend.Add(fmt.Sprintf("%s %s t=%d", k.model, k.kind, k.threads), line, points)
	}
	p.Add(plotter.NewGrid())
	p.BackgroundColor = color.White
	// Start the axis at zero and leave the top third free for the legend.
	p.Y.Min = 0
	p.Y.Max *= 1.0 + 0.09*float64(len(keys))
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}
