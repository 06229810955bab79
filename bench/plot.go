package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // PNG, JPEG, TIFF canvases for draw.NewFormattedCanvas
	_ "gonum.org/v1/plot/vg/vgpdf"
	_ "gonum.org/v1/plot/vg/vgsvg"
)

// series is one line (or bar) of a panel: one model at one thread count.
type series struct {
	label  string
	points []plotPoint
}

type plotPoint struct {
	x, y, sd float64
}

// Plot draws the results into path (PNG, or SVG/PDF by extension): a panel for prompt processing and
// one for generation, each with its own speed scale (prompts are often ten times faster). Where every
// model was measured at one length, the panel is a bar per model and thread count; where lengths vary,
// lines of t/s against the length. Error bars show ± one standard deviation when there were
// repetitions. The title names the models, their types, the backend with its kernels and the threads.
func Plot(results []Result, path string) error {
	var panels []*plot.Plot
	for _, kind := range []string{"pp", "tg"} {
		ss := seriesOf(results, kind)
		if len(ss) == 0 {
			continue
		}
		p, err := panel(kind, ss)
		if err != nil {
			return err
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return fmt.Errorf("plot: no pp or tg results to draw (pp+tg tests are not plotted)")
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format == "" {
		return fmt.Errorf("plot %s: give the file an extension (.png, .svg or .pdf)", path)
	}
	width := vg.Length(len(panels)) * 5.5 * vg.Inch
	c, err := draw.NewFormattedCanvas(width, 5.5*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	const titleSpace = vg.Length(40)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadTop: titleSpace, PadBottom: 8, PadLeft: 8, PadRight: 12, PadX: 24}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	drawTitle(dc, title(results), titleSpace)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// seriesOf groups the results of one kind ("pp" or "tg") by model and thread count, in the order of the
// results.
func seriesOf(results []Result, kind string) []series {
	var out []series
	index := map[string]int{}
	for _, r := range results {
		var x float64
		switch {
		case kind == "pp" && r.GenTokens == 0:
			x = float64(r.PromptTokens)
		case kind == "tg" && r.PromptTokens == 0:
			x = float64(r.GenTokens)
		default:
			continue
		}
		name := shortName(r.Model)
		label := fmt.Sprintf("%s, %d threads", name, r.Threads)
		if r.Threads == 1 {
			label = name + ", 1 thread"
		}
		i, ok := index[label]
		if !ok {
			i = len(out)
			index[label] = i
			out = append(out, series{label: label})
		}
		sd := 0.0
		if r.Repetitions > 1 {
			sd = r.TokensPerSecSD
		}
		out[i].points = append(out[i].points, plotPoint{x: x, y: r.TokensPerSec, sd: sd})
	}
	for _, s := range out {
		sort.Slice(s.points, func(a, b int) bool { return s.points[a].x < s.points[b].x })
	}
	return out
}

func panel(kind string, ss []series) (*plot.Plot, error) {
	p := plot.New()
	p.BackgroundColor = color.Transparent
	what, axis := "prompt processing (pp)", "prompt length (tokens)"
	if kind == "tg" {
		what, axis = "generation (tg)", "generated tokens"
	}
	p.Title.Text = what
	p.Y.Label.Text = "tokens per second"
	p.Y.Min = 0
	oneLength := true
	for _, s := range ss {
		oneLength = oneLength && len(s.points) == 1
	}
	if oneLength {
		return p, barPanel(p, kind, ss)
	}
	p.X.Label.Text = axis
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	// Ticks at the lengths that were measured, not at round numbers between them.
	var ticks []plot.Tick
	seen := map[float64]bool{}
	for _, s := range ss {
		for _, pt := range s.points {
			if !seen[pt.x] {
				seen[pt.x] = true
				ticks = append(ticks, plot.Tick{Value: pt.x, Label: fmt.Sprint(pt.x)})
			}
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	lo, hi := ticks[0].Value, ticks[0].Value
	for _, t := range ticks {
		lo, hi = min(lo, t.Value), max(hi, t.Value)
	}
	pad := max(1, (hi-lo)*0.06) // keep the end points and their labels off the frame
	p.X.Min, p.X.Max = lo-pad, hi+pad
	for i, s := range ss {
		xys := make(plotter.XYs, len(s.points))
		errs := make(plotter.YErrors, len(s.points))
		for j, pt := range s.points {
			xys[j] = plotter.XY{X: pt.x, Y: pt.y}
			errs[j] = struct{ Low, High float64 }{pt.sd, pt.sd}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		c := plotutil.Color(i)
		line.Color, points.Color, points.Shape = c, c, plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(s.label, line, points)
		if hasSpread(s) {
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, errs})
			if err != nil {
				return nil, err
			}
			eb.Color = c
			p.Add(eb)
		}
	}
	p.Y.Max *= 1.15 + 0.07*float64(len(ss)) // room for the legend above the lines
	return p, nil
}

// barPanel draws one bar per series, labelled under it, with the t/s written on the bar.
func barPanel(p *plot.Plot, kind string, ss []series) error {
	vals := make(plotter.Values, len(ss))
	names := make([]string, len(ss))
	xys := make(plotter.XYs, len(ss))
	errs := make(plotter.YErrors, len(ss))
	spread := false
	for i, s := range ss {
		pt := s.points[0]
		vals[i] = pt.y
		names[i] = strings.Replace(s.label, ", ", "\n", 1)
		xys[i] = plotter.XY{X: float64(i), Y: pt.y}
		errs[i] = struct{ Low, High float64 }{pt.sd, pt.sd}
		spread = spread || pt.sd > 0
	}
	// Each value is written above its bar and its error bar.
	tops := make(plotter.XYs, len(ss))
	for i := range tops {
		tops[i] = plotter.XY{X: xys[i].X, Y: xys[i].Y + errs[i].High}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(min(60, 260/float64(len(ss)))))
	if err != nil {
		return err
	}
	bars.Color = plotutil.Color(0)
	if kind == "tg" {
		bars.Color = plotutil.Color(1)
	}
	bars.LineStyle.Width = 0
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // bars need only the horizontal lines
	p.Add(grid, bars)
	p.NominalX(names...)
	p.X.Label.Text = fmt.Sprintf("%s%d", kind, int(ss[0].points[0].x))
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: tops, Labels: valueLabels(vals)})
	if err != nil {
		return err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].XAlign = draw.XCenter
		labels.TextStyle[i].YAlign = draw.YBottom
	}
	labels.Offset = vg.Point{Y: 3}
	p.Add(labels)
	if spread {
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{xys, errs})
		if err != nil {
			return err
		}
		p.Add(eb)
	}
	p.Y.Max *= 1.15
	return nil
}

// shortName is a model's file name without .gguf, cut to fit under a bar.
func shortName(model string) string {
	r := []rune(strings.TrimSuffix(model, ".gguf"))
	if len(r) > 16 {
		return string(r[:15]) + "…"
	}
	return string(r)
}

func valueLabels(vals plotter.Values) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if v >= 100 {
			out[i] = fmt.Sprintf("%.0f t/s", v)
		} else {
			out[i] = fmt.Sprintf("%.2f t/s", v)
		}
	}
	return out
}

func hasSpread(s series) bool {
	for _, pt := range s.points {
		if pt.sd > 0 {
			return true
		}
	}
	return false
}

// title names what the figure compares: the models with their types, the backend and kernel set, and
// the thread counts.
func title(results []Result) string {
	var models, threads []string
	seenM, seenT := map[string]bool{}, map[int]bool{}
	for _, r := range results {
		if m := fmt.Sprintf("%s (%s)", r.Model, r.Type); !seenM[m] {
			seenM[m] = true
			models = append(models, m)
		}
		if !seenT[r.Threads] {
			seenT[r.Threads] = true
			threads = append(threads, fmt.Sprint(r.Threads))
		}
	}
	r := results[0]
	backend := r.Backend
	if r.Kernels != "" {
		backend += " " + r.Kernels
	}
	unit := "threads"
	if len(threads) == 1 && threads[0] == "1" {
		unit = "thread"
	}
	return fmt.Sprintf("glmtool bench: %s, %s, %s %s", strings.Join(models, ", "), backend, strings.Join(threads, "/"), unit)
}

// drawTitle writes s centred in the top space of the canvas.
func drawTitle(dc draw.Canvas, s string, space vg.Length) {
	sty := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, 13), XAlign: draw.XCenter, YAlign: draw.YCenter,
		Handler: plot.DefaultTextHandler}
	at := vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - space/2}
	dc.FillText(sty, at, s)
}
