using System.IO.Pipelines;
using System.Text;

namespace Presence.WebFrontend.Tests;

/// <summary>Reads what an <see cref="Sse.SseConnection"/> wrote into a pipe, as text.</summary>
internal static class PipeText
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(5);

    /// <summary>What has been written and not read yet; waits (at most <see cref="WaitLimit"/>) for something to be written.</summary>
    public static async Task<string> ReadAsync(PipeReader reader)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        var result = await reader.ReadAsync(timeout.Token);
        var text = Encoding.UTF8.GetString(result.Buffer);
        reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    public static async Task<string> ReadUntilAsync(PipeReader reader, string end)
    {
        var text = "";
        while (!text.EndsWith(end, StringComparison.Ordinal))
        {
            text += await ReadAsync(reader);
        }
        return text;
    }
}
