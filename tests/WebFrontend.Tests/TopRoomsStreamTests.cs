using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

/// <summary>A service of its own: the busiest rooms are the whole service's.</summary>
public sealed class TopRoomsFactory : PresenceFactory;

public sealed class TopRoomsStreamTests(TopRoomsFactory factory) : IClassFixture<TopRoomsFactory>
{
    private sealed record TopEntry(string Room, int Watching);

    [Fact]
    public async Task TopStream_SendsTheListAtOnce_ThenEachChangeInOrder_AtMostOnceASecond()
    {
        var (quiet, busy) = ($"top-quiet-{Guid.NewGuid():N}", $"top-busy-{Guid.NewGuid():N}");
        var viewers = factory.CreateStreamingClient();
        var dashboard = factory.CreateStreamingClient();
        dashboard.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        await using var top = await SseReader.OpenAsync(dashboard, "/rooms?top=2");
        var frames = new List<(TopEntry[] List, TimeSpan At)>();
        var clock = Stopwatch.StartNew();
        async Task<TopEntry[]> NextAsync(Func<TopEntry[], bool> expected)
        {
            while (true)
            {
                var frame = await top.NextAsync(TimeSpan.FromSeconds(10));
                Assert.Equal("top", frame.Event);
                var list = JsonSerializer.Deserialize<TopEntry[]>(frame.Data!, JsonSerializerOptions.Web)!;
                frames.Add((list, clock.Elapsed));
                if (expected(list))
                {
                    return list;
                }
            }
        }

        Assert.Equal("text/event-stream", top.ContentHeaders.ContentType?.MediaType);
        Assert.Empty(await NextAsync(_ => true)); // at once, before anything changed
        await using var first = await SseReader.OpenAsync(viewers, $"/rooms/{quiet}/events");
        Assert.Equal([new TopEntry(quiet, 1)], await NextAsync(list => list.Length == 1));
        // Three joins as fast as they come: the list changes faster than once a second.
        await using var second = await SseReader.OpenAsync(viewers, $"/rooms/{busy}/events");
        await using var third = await SseReader.OpenAsync(viewers, $"/rooms/{busy}/events?viewer=b");
        await using var fourth = await SseReader.OpenAsync(viewers, $"/rooms/{busy}/events?viewer=c");

        Assert.Equal([new TopEntry(busy, 3), new TopEntry(quiet, 1)], await NextAsync(list => list is [{ Watching: 3 }, ..]));
        var gaps = frames.Zip(frames.Skip(1), (earlier, later) => later.At - earlier.At).ToList();
        Assert.All(gaps, gap => Assert.True(gap > TimeSpan.FromSeconds(0.8), $"two lists {gap.TotalMilliseconds:F0} ms apart"));
    }

    [Fact]
    public async Task TopStream_BadTop_Is400()
    {
        var dashboard = factory.CreateStreamingClient();
        dashboard.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));

        using var response = await dashboard.GetAsync("/rooms?top=0", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
