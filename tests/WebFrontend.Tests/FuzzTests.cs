using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// Thousands of seeded random requests over every route, on the real Kestrel server, while
/// counted streams stay open in two rooms. The seed is printed; <c>PRESENCE_FUZZ_SEED</c> replays another.
/// </summary>
public sealed class FuzzTests(KestrelPresenceFactory factory, ITestOutputHelper output) : IClassFixture<KestrelPresenceFactory>
{
    private const string SeedVariable = "PRESENCE_FUZZ_SEED";
    private const int DefaultSeed = 20261203;
    private const int Requests = 3000;
    private const int Concurrency = 4;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task SeededRandomRequests_GetNo5xx_AndLeaveTheProcessAndOpenStreamsUnharmed()
    {
        var seed = Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : DefaultSeed;
        output.WriteLine($"seed {seed} ({SeedVariable}=<n> replays another)");
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = factory.Address,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var watched = new Dictionary<string, List<SseReader>>();
        try
        {
            foreach (var count in new[] { 3, 2 })
            {
                var room = $"watched-{Guid.NewGuid():N}";
                watched[room] = [];
                for (var i = 0; i < count; i++)
                {
                    watched[room].Add(await SseReader.OpenAsync(client, $"/rooms/{room}/events"));
                }
            }
            await AssertStreamsCountAsync(watched);

            var cases = new FuzzCases(factory.Address, factory.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits, PresenceFactory.PublishKey);
            var answers = new (FuzzCase Case, HttpAnswer? Answer, string? Failure)[Requests];
            var clock = Stopwatch.StartNew();
            await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (index, _) =>
            {
                var fuzz = cases.Create(seed, index);
                var (answer, failure) = await SendAsync(client, fuzz);
                answers[index] = (fuzz, answer, failure ?? Check(fuzz, answer!));
            });
            clock.Stop();

            output.WriteLine($"{Requests} requests ({answers.Count(a => a.Case.Raw is not null)} raw) in {clock.Elapsed.TotalSeconds:F1} s, concurrency {Concurrency}");
            output.WriteLine(string.Join(", ", answers
                .GroupBy(a => a.Answer?.Status?.ToString(CultureInfo.InvariantCulture) ?? (a.Answer is null ? "no answer" : "closed"))
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key}: {g.Count()}")));
            var failures = answers.Select((a, index) => (a.Case, a.Failure, Index: index)).Where(a => a.Failure is not null).ToArray();
            Assert.True(failures.Length == 0, $"seed {seed}: {failures.Length} of {Requests} requests failed:\n"
                + string.Join('\n', failures.Take(30).Select(f => $"#{f.Index} {f.Case.Description}: {f.Failure}")));

            await AssertStreamsCarryOnAsync(client, watched);
            foreach (var room in FuzzCases.BusyRooms)
            {
                // Every stream the fuzzing opened has left its room again.
                await using var watcher = await SseReader.OpenAsync(client, $"/rooms/{room}/events?count=false");
                await watcher.WaitForPresenceAsync(p => p.Connections == 0);
            }
            Assert.Equal("Healthy", await client.GetStringAsync("/health"));
        }
        finally
        {
            foreach (var stream in watched.Values.SelectMany(streams => streams))
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>The answer, or why there is none: it threw, or did not come in time (a hang).</summary>
    private async Task<(HttpAnswer? Answer, string? Failure)> SendAsync(HttpClient client, FuzzCase fuzz)
    {
        using var timeout = new CancellationTokenSource(AnswerTimeout);
        try
        {
            return (fuzz.Raw is { } raw
                ? await RawHttp.SendAsync(factory.Address, raw, fuzz.EndsEarly, timeout.Token)
                : await SendMessageAsync(client, fuzz.Message!, timeout.Token), null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (null, $"no answer within {AnswerTimeout.TotalSeconds} s");
        }
        catch (Exception exception)
        {
            return (null, $"{exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            fuzz.Message?.Dispose();
        }
    }

    /// <summary>An event stream's body is not read (it does not end); HEAD has none.</summary>
    private static async Task<HttpAnswer> SendMessageAsync(HttpClient client, HttpRequestMessage message, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var type = response.Content.Headers.ContentType?.MediaType;
            var body = type == "text/event-stream" || message.Method == HttpMethod.Head
                ? null
                : await response.Content.ReadAsStringAsync(cancellationToken);
            return new HttpAnswer((int)response.StatusCode, type, response.Content.Headers.ContentLength,
                response.Headers.ConnectionClose == true, body);
        }
        catch (HttpRequestException)
        {
            return HttpAnswer.None;
        }
    }

    /// <summary>
    /// Never a 5xx; the status expected where it is known; a 4xx is either Kestrel's bodiless
    /// refusal of malformed HTTP or the app's problem JSON; only a request cut short may go unanswered.
    /// </summary>
    private static string? Check(FuzzCase fuzz, HttpAnswer answer)
    {
        if (answer.Status is not { } status)
        {
            return fuzz.EndsEarly ? null : "the connection was closed without an answer";
        }
        if (status >= 500)
        {
            return $"{status}";
        }
        if (fuzz.Expects is { } expected && !expected(status))
        {
            return $"{status}, not the status expected";
        }
        if (status is < 400 or >= 500 || answer.IsKestrelRefusal)
        {
            return null;
        }
        if (answer.ContentType != "application/problem+json")
        {
            return $"{status} with {answer.ContentType ?? "no content type"}, not problem JSON";
        }
        try
        {
            return answer.Body is null || JsonDocument.Parse(answer.Body).RootElement.GetProperty("status").GetInt32() == status
                ? null
                : $"{status} with a problem body of another status: {answer.Body}";
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"{status} with a problem body that is not one: {answer.Body}";
        }
    }

    private static async Task AssertStreamsCountAsync(Dictionary<string, List<SseReader>> watched)
    {
        foreach (var streams in watched.Values)
        {
            foreach (var stream in streams)
            {
                var counts = await stream.WaitForPresenceAsync(p => p.Connections == streams.Count);
                Assert.Equal(streams.Count, counts.Watching);
            }
        }
    }

    /// <summary>Every stream opened before the fuzzing gets a real event, then sees a newcomer counted exactly.</summary>
    private static async Task AssertStreamsCarryOnAsync(HttpClient client, Dictionary<string, List<SseReader>> watched)
    {
        foreach (var (room, streams) in watched)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
            {
                Content = JsonContent.Create(new { type = "after-fuzz", data = room }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PresenceFactory.PublishKey);
            using var published = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
            var id = (await published.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

            foreach (var stream in streams)
            {
                var received = await stream.WaitForAsync(m => m.Id == id);
                Assert.Equal(("after-fuzz", $"\"{room}\""), (received.Event, received.Data));
            }

            await using var newcomer = await SseReader.OpenAsync(client, $"/rooms/{room}/events");
            foreach (var stream in streams)
            {
                var counts = await stream.WaitForPresenceAsync(p => p.Connections == streams.Count + 1);
                Assert.Equal(streams.Count + 1, counts.Watching);
            }
        }
    }
}
