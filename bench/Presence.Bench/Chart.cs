using System.Globalization;
using System.Text;

namespace Presence.Bench;

/// <summary>An SVG of the fan-out runs: p99 latency and RSS per connection against room size.</summary>
internal static class Chart
{
    private const int PanelWidth = 420, PanelHeight = 260, Margin = 55;
    private static readonly (string Server, string Color)[] Series = [(Bench.Service, "#1b6ac9"), (Bench.Baseline, "#9a9a9a")];

    public static string FanOut(IReadOnlyList<FanOutResult> runs)
    {
        var svg = new StringBuilder();
        var width = 2 * (PanelWidth + Margin) + Margin;
        var height = PanelHeight + 2 * Margin + 20;
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        Panel(svg, runs, Margin, "p99 publish to last delivery (ms)", r => r.P99Ms);
        Panel(svg, runs, 2 * Margin + PanelWidth, "server RSS per connection (KB)", r => r.BytesPerConnection / 1024);
        var legendY = height - 12;
        for (var i = 0; i < Series.Length; i++)
        {
            var x = Margin + i * 160;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{legendY - 9}\" width=\"14\" height=\"4\" fill=\"{Series[i].Color}\"/><text x=\"{x + 20}\" y=\"{legendY}\">{Series[i].Server}</text>");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, IReadOnlyList<FanOutResult> runs, int left, string title, Func<FanOutResult, double> value)
    {
        var top = Margin;
        var sizes = runs.Select(r => r.Watchers).Distinct().Order().ToList();
        var maxX = (double)sizes.Max();
        var maxY = Math.Max(1, runs.Select(value).Where(v => !double.IsNaN(v)).DefaultIfEmpty(1).Max() * 1.15);
        double X(double size) => left + size / maxX * PanelWidth;
        double Y(double v) => top + PanelHeight - v / maxY * PanelHeight;

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{top - 15}\" font-weight=\"bold\">{title}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top + PanelHeight}\" x2=\"{left + PanelWidth}\" y2=\"{top + PanelHeight}\" stroke=\"black\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{top + PanelHeight}\" stroke=\"black\"/>");
        for (var tick = 0; tick <= 4; tick++)
        {
            var v = maxY * tick / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{Y(v) + 4:F1}\" text-anchor=\"end\">{v:0.#}</text>");
        }
        foreach (var size in sizes)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(size):F1}\" y=\"{top + PanelHeight + 16}\" text-anchor=\"middle\">{size}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + PanelWidth / 2}\" y=\"{top + PanelHeight + 34}\" text-anchor=\"middle\">watchers in the room</text>");
        foreach (var (server, color) in Series)
        {
            var points = runs.Where(r => r.Server == server && !double.IsNaN(value(r))).OrderBy(r => r.Watchers)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"{X(r.Watchers):F1},{Y(value(r)):F1}")).ToList();
            if (points.Count == 0)
            {
                continue;
            }
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\" points=\"{string.Join(' ', points)}\"/>");
            foreach (var point in points)
            {
                var xy = point.Split(',');
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{xy[0]}\" cy=\"{xy[1]}\" r=\"3.5\" fill=\"{color}\"/>");
            }
        }
    }
}
