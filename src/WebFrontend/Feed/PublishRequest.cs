using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend.Feed;

/// <summary>A validated <c>{"type":"...","data":&lt;any JSON&gt;}</c> body.</summary>
internal sealed partial record PublishRequest(string Type, ReadOnlyMemory<byte> Data)
{
    public const int MaxDataBytes = 64 * 1024;

    /// <summary>Bodies past this are refused before they are read.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    private static readonly JsonWriterOptions CompactJson = new()
    {
        // The data goes into an SSE line, never into HTML: keep non-ASCII text as it is.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Either the request or the problem to answer with.</summary>
    public static PublishRequest? Parse(JsonElement body, out IResult? problem)
    {
        // System.Text.Json checks the text of a string only when it decodes it: invalid UTF-8 would
        // pass as U+FFFD unnoticed, and an escaped lone surrogate ("\ud800") throws there.
        if (!Utf8.IsValid(JsonMarshal.GetRawUtf8Value(body)))
        {
            problem = BadRequest("The body must be UTF-8 text.");
            return null;
        }
        try
        {
            return ParseObject(body, out problem);
        }
        catch (InvalidOperationException)
        {
            problem = BadRequest("A string in the body is not valid Unicode (an escaped lone surrogate such as \\ud800).");
            return null;
        }
    }

    private static PublishRequest? ParseObject(JsonElement body, out IResult? problem)
    {
        problem = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            problem = BadRequest("The body must be a JSON object: {\"type\":\"...\",\"data\":...}.");
            return null;
        }

        var type = "message";
        if (body.TryGetProperty("type", out var typeElement))
        {
            type = typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString()! : "";
            if (!TypePattern().IsMatch(type) || type is SseFrame.PresenceType or SseFrame.GapType or SseFrame.ConnectionType)
            {
                problem = BadRequest(
                    "'type' must be 1 to 64 letters, digits, '-', '_' or '.', and not 'presence', 'gap' or 'connection' (reserved).");
                return null;
            }
        }

        if (!body.TryGetProperty("data", out var data))
        {
            problem = BadRequest("'data' is required (any JSON value).");
            return null;
        }

        // Compact JSON is rarely longer than the text it was read from.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(Math.Max(1, JsonMarshal.GetRawUtf8Value(data).Length));
        using (var writer = new Utf8JsonWriter(buffer, CompactJson))
        {
            data.WriteTo(writer);
        }
        if (buffer.WrittenCount > MaxDataBytes)
        {
            problem = TypedResults.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "The event data is too large",
                detail: $"'data' is {buffer.WrittenCount} bytes as compact JSON; at most {MaxDataBytes} are allowed.");
            return null;
        }
        // An array of its own size: the event is kept as it is (in the history, in frames).
        return new PublishRequest(type, buffer.WrittenSpan.ToArray());
    }

    private static IResult BadRequest(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid event", detail: detail);

    [GeneratedRegex(@"^[A-Za-z0-9\-_.]{1,64}\z")]
    private static partial Regex TypePattern();
}
