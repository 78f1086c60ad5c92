using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Presence.WebFrontend.Tests;

/// <summary>One sample line: <c>name{label="value",...} value [timestamp]</c>.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4): <c># HELP</c> and
/// <c># TYPE</c> lines, then the samples of each family together, every sample in a declared family,
/// no series twice, and histograms whose buckets are cumulative and end at <c>+Inf</c> = <c>_count</c>.
/// Anything else is a <see cref="FormatException"/> naming the line.
/// </summary>
public sealed partial class PrometheusText
{
    private static readonly string[] KnownTypes = ["counter", "gauge", "histogram", "summary", "untyped"];

    private readonly Dictionary<string, string> _types = [];
    private readonly List<PrometheusSample> _samples = [];

    private PrometheusText()
    {
    }

    /// <summary>Each family (metric name) and its type.</summary>
    public IReadOnlyDictionary<string, string> Families => _types;

    public IReadOnlyList<PrometheusSample> Samples => _samples;

    public static PrometheusText Parse(string text)
    {
        if (!text.EndsWith('\n'))
        {
            throw new FormatException("The exposition does not end with a line feed.");
        }
        var parsed = new PrometheusText();
        var help = new HashSet<string>();
        var closed = new HashSet<string>();
        var series = new HashSet<string>();
        string? current = null;
        var lines = text[..^1].Split('\n');
        for (var index = 0; index < lines.Length; index++)
        {
            var line = lines[index];
            try
            {
                if (line.Length == 0)
                {
                    continue;
                }
                if (line.StartsWith('#'))
                {
                    var meta = MetaLine().Match(line);
                    if (!meta.Success)
                    {
                        continue; // a plain comment
                    }
                    var (kind, name, rest) = (meta.Groups[1].Value, meta.Groups[2].Value, meta.Groups[3].Value);
                    if (kind == "HELP" && !help.Add(name))
                    {
                        throw new FormatException($"a second HELP for {name}");
                    }
                    if (kind == "TYPE")
                    {
                        if (!KnownTypes.Contains(rest))
                        {
                            throw new FormatException($"unknown type '{rest}'");
                        }
                        if (!parsed._types.TryAdd(name, rest))
                        {
                            throw new FormatException($"a second TYPE for {name}");
                        }
                        if (closed.Contains(name) || (current == name))
                        {
                            throw new FormatException($"the TYPE of {name} comes after its samples");
                        }
                    }
                    continue;
                }

                var sample = ParseSample(line);
                var family = parsed.FamilyOf(sample.Name)
                    ?? throw new FormatException($"{sample.Name} has no TYPE line before it");
                if (family != current)
                {
                    if (current is not null)
                    {
                        closed.Add(current);
                    }
                    if (closed.Contains(family))
                    {
                        throw new FormatException($"the samples of {family} are not together");
                    }
                    current = family;
                }
                var key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(label => label.Key, StringComparer.Ordinal).Select(label => $"{label.Key}={label.Value}")) + "}";
                if (!series.Add(key))
                {
                    throw new FormatException($"the series {key} appears twice");
                }
                if (parsed._types[family] == "counter" && !(sample.Value >= 0))
                {
                    throw new FormatException($"the counter {sample.Name} is {sample.Value}");
                }
                parsed._samples.Add(sample);
            }
            catch (FormatException exception)
            {
                throw new FormatException($"line {index + 1} '{line}': {exception.Message}", exception);
            }
        }
        parsed.CheckHistograms();
        return parsed;
    }

    /// <summary>The one sample of <paramref name="name"/> with these labels (among others), or null.</summary>
    public double? Find(string name, params (string Name, string Value)[] labels)
    {
        var matching = _samples.Where(sample => sample.Name == name
            && labels.All(label => sample.Labels.TryGetValue(label.Name, out var value) && value == label.Value)).ToList();
        return matching.Count switch
        {
            0 => null,
            1 => matching[0].Value,
            _ => throw new InvalidOperationException($"{matching.Count} series of {name} match"),
        };
    }

    /// <summary>A counter not incremented yet has no series: 0.</summary>
    public double Count(string name, params (string Name, string Value)[] labels) => Find(name, labels) ?? 0;

    private string? FamilyOf(string sampleName)
    {
        if (_types.ContainsKey(sampleName))
        {
            return sampleName;
        }
        foreach (var suffix in (string[])["_bucket", "_sum", "_count"])
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && _types.TryGetValue(sampleName[..^suffix.Length], out var type) && type is "histogram" or "summary")
            {
                return sampleName[..^suffix.Length];
            }
        }
        return null;
    }

    private void CheckHistograms()
    {
        foreach (var (family, _) in _types.Where(entry => entry.Value == "histogram"))
        {
            var buckets = _samples.Where(sample => sample.Name == family + "_bucket")
                .GroupBy(sample => SeriesWithout(sample, "le"));
            foreach (var group in buckets)
            {
                var ordered = group.Select(sample => (Le: ParseValue(sample.Labels["le"]), sample.Value)).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    if (!(ordered[i].Le > ordered[i - 1].Le) || ordered[i].Value < ordered[i - 1].Value)
                    {
                        throw new FormatException($"the buckets of {family} {group.Key} are not cumulative in increasing 'le'");
                    }
                }
                var count = _samples.SingleOrDefault(sample => sample.Name == family + "_count" && SeriesWithout(sample, "le") == group.Key)
                    ?? throw new FormatException($"{family} {group.Key} has no _count");
                if (ordered.Count == 0 || !double.IsPositiveInfinity(ordered[^1].Le) || ordered[^1].Value != count.Value)
                {
                    throw new FormatException($"{family} {group.Key}: the last bucket is not +Inf with the _count");
                }
                if (!_samples.Any(sample => sample.Name == family + "_sum" && SeriesWithout(sample, "le") == group.Key))
                {
                    throw new FormatException($"{family} {group.Key} has no _sum");
                }
            }
        }
    }

    private static string SeriesWithout(PrometheusSample sample, string label) =>
        string.Join(",", sample.Labels.Where(entry => entry.Key != label).OrderBy(entry => entry.Key, StringComparer.Ordinal).Select(entry => $"{entry.Key}={entry.Value}"));

    private static PrometheusSample ParseSample(string line)
    {
        var name = MetricName().Match(line);
        if (!name.Success)
        {
            throw new FormatException("not a metric name");
        }
        var position = name.Length;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (position < line.Length && line[position] == '{')
        {
            position++;
            while (line[position] != '}')
            {
                var label = LabelName().Match(line, position);
                if (!label.Success || label.Index != position || line[position + label.Length] != '=' || line[position + label.Length + 1] != '"')
                {
                    throw new FormatException($"a bad label at {position}");
                }
                position += label.Length + 2;
                var value = new StringBuilder();
                while (line[position] != '"')
                {
                    if (line[position] == '\\')
                    {
                        position++;
                        value.Append(line[position] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"a bad escape at {position}"),
                        });
                    }
                    else
                    {
                        value.Append(line[position]);
                    }
                    position++;
                }
                position++;
                if (!labels.TryAdd(label.Value, value.ToString()))
                {
                    throw new FormatException($"the label {label.Value} twice");
                }
                if (line[position] == ',')
                {
                    position++;
                }
                else if (line[position] != '}')
                {
                    throw new FormatException($"',' or '}}' expected at {position}");
                }
            }
            position++;
        }
        var fields = line[position..].Split(' ');
        if (fields.Length is < 2 or > 3 || fields[0].Length != 0)
        {
            throw new FormatException("expected ' value' or ' value timestamp'");
        }
        if (fields.Length == 3 && !long.TryParse(fields[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            throw new FormatException($"a bad timestamp '{fields[2]}'");
        }
        return new PrometheusSample(name.Value, labels, ParseValue(fields[1]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when FloatValue().IsMatch(text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => throw new FormatException($"a bad value '{text}'"),
    };

    [GeneratedRegex(@"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$")]
    private static partial Regex MetaLine();

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"[a-zA-Z_][a-zA-Z0-9_]*")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")]
    private static partial Regex FloatValue();
}
