using System.Collections.Immutable;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Feed;
using Presence.WebFrontend.Limits;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Sse;
using Presence.WebFrontend.Subscribe;
using Presence.WebFrontend.Widget;

namespace Presence.WebFrontend.Rooms;

/// <summary>The JSON snapshot of a room.</summary>
internal sealed record RoomSnapshot(string Room, int Watching, int Connections, long Version, string LastEventId, int Idle);

/// <summary>The answer to a publish: the event's id in its room.</summary>
internal sealed record PublishedEvent(string Id);

/// <summary>The body of a publish, as the OpenAPI document shows it (the handler reads and checks the JSON itself).</summary>
internal sealed class PublishBody
{
    [Description("1 to 64 letters, digits, '-', '_' or '.'; 'presence', 'gap' and 'connection' are reserved")]
    [DefaultValue("message")]
    public string? Type { get; init; }

    [Required]
    [Description("Any JSON value, at most 64 KiB as compact JSON")]
    public JsonElement Data { get; init; }
}

/// <summary>What an event stream request brings beside its rooms: <c>viewer</c>, <c>count</c>, <c>activity</c>, <c>Last-Event-ID</c> (header or query), and the services that run it.</summary>
internal readonly record struct StreamParameters(
    [property: FromQuery(Name = "viewer")] string? Viewer,
    [property: FromQuery(Name = "count")] string? Count,
    [property: FromQuery(Name = "activity")] string? Activity,
    [property: FromQuery(Name = "lastEventId")] string? LastEventId,
    [property: FromHeader(Name = "Last-Event-ID")] string? LastEventIdHeader,
    HttpContext Context,
    RoomEventStream Stream,
    StreamAdmission Admission);

internal static class RoomsApi
{
    private const int MaxViewerIdLength = 128;
    private const int MaxTop = 1000;

    public static IEndpointRouteBuilder MapRoomsApi(this IEndpointRouteBuilder app)
    {
        var rooms = app.MapGroup("/rooms").WithTags("Rooms");
        rooms.MapGet("/", GetTopAsync).RequireCors(WidgetApi.CorsPolicy)
            .WithName("GetTopRooms")
            .WithSummary("The busiest rooms, most watched first (top: 1 to 1000, default 10); private rooms are left out")
            .WithDescription("With Accept: text/event-stream, a stream of 'top' events: the list at once, then whenever it changes, at most once a second.")
            .Produces<RoomWatching[]>()
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        var room = rooms.MapGroup("/{room}").AddEndpointFilter(RoomName.Validate("room")).ProducesProblem(StatusCodes.Status400BadRequest);
        var privateRooms = app.ServiceProvider.GetRequiredService<PrivateRooms>();
        // Pages of Cors:AllowedOrigins may read these from the browser; publishing stays server to server.
        room.MapGet("/", GetRoomAsync).AddEndpointFilter(privateRooms).RequireCors(WidgetApi.CorsPolicy)
            .WithName("GetRoom")
            .WithSummary("A room's counts and its last feed event id")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        room.MapGet("/events", StreamEventsAsync).AddEndpointFilter(privateRooms).LimitStreamOpens(app.ServiceProvider)
            .RequireCors(WidgetApi.CorsPolicy)
            .WithName("StreamRoomEvents")
            .WithSummary("The room's event stream (Server-Sent Events): presence counts and feed events")
            .WithDescription("retry, then the current counts at once; with activity=true, 'connection' with the connection's id and activity token; "
                + "with Last-Event-ID (header, or lastEventId) the feed events after it; "
                + "then live 'presence' events (no id) and feed events (id: <n>, event: <type>, data: <json>), and ': keep-alive' comments.")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // Resolved here so that a generated key is logged at start, not at the first publish.
        room.MapPost("/events", PublishAsync).AddEndpointFilter(app.ServiceProvider.GetRequiredService<PublishKeys>())
            .RequireRateLimiting(RateLimits.Publish)
            .CountPublishOutcomes()
            .WithName("PublishEvent")
            .WithSummary("Publishes a feed event to the room's watchers (Authorization: Bearer <publish key or token>)")
            .WithJsonBody<PublishBody>()
            .Produces<PublishedEvent>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/events", StreamRoomsAsync).LimitStreamOpens(app.ServiceProvider).RequireCors(WidgetApi.CorsPolicy)
            .WithTags("Rooms")
            .WithName("StreamSeveralRooms")
            .WithSummary($"Several rooms on one event stream (rooms: 1 to {StreamRooms.MaxRooms} distinct room names, comma-separated)")
            .WithDescription("retry, then every room's current counts at once (each with id: the stream's position in every room, a=12,b=7); "
                + "with activity=true, 'connection' with the connection's id and activity token right after the first room's counts, the second frame "
                + "as on a room's stream (reports apply to every room of the stream); "
                + "with Last-Event-ID (header, or lastEventId) each room's feed events after its position; then live 'presence' events (no id), "
                + "feed events (id: <positions>, event: <type>, data: {\"room\",\"id\",\"data\"}), 'gap' events ({\"room\",\"from\",\"to\"}) and ': keep-alive' comments.")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> GetTopAsync(IGrainFactory grains, PrivateRooms privateRooms, TopRoomsFeed feed, StreamAdmission admission,
        IHostApplicationLifetime lifetime, HttpContext context, string? top)
    {
        var count = 10;
        if (top is not null && (!int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxTop))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid 'top'", $"'top' must be a whole number from 1 to {MaxTop}.");
        }
        if (context.Request.GetTypedHeaders().Accept.Any(accept => accept.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
        {
            return StreamTop(context, count, feed, admission, lifetime.ApplicationStopping);
        }
        var directory = grains.GetGrain<IRoomDirectoryGrain>(0);
        var busiest = await ClusterCalls.Retry.ExecuteAsync(async _ => await directory.GetTopAsync(count, privateRooms.Prefixes));
        return TypedResults.Ok(busiest.ToArray());
    }

    /// <summary>The busiest rooms as <c>event: top</c> frames; held like a room's stream (it counts against <c>Limits:MaxStreams</c>).</summary>
    private static IResult StreamTop(HttpContext context, int count, TopRoomsFeed feed, StreamAdmission admission, CancellationToken stopping)
    {
        if (Refused(context, admission) is { } refused)
        {
            return refused;
        }
        return TypedResults.ServerSentEvents(TopFrames(feed, count, admission, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping)));
    }

    private static async IAsyncEnumerable<SseItem<string>> TopFrames(TopRoomsFeed feed, int count, StreamAdmission admission, CancellationTokenSource ends)
    {
        using (ends)
        {
            try
            {
                await foreach (var json in feed.WatchAsync(count, ends.Token).WithCancellation(ends.Token))
                {
                    yield return new SseItem<string>(json, "top");
                }
            }
            finally
            {
                admission.Close();
            }
        }
    }

    private static async Task<Ok<RoomSnapshot>> GetRoomAsync(string room, IGrainFactory grains)
    {
        var (counts, last) = await ClusterCalls.Retry.ExecuteAsync(async _ =>
        {
            var presence = grains.GetGrain<IPresenceGrain>(room).GetAsync();
            var lastEventId = grains.GetGrain<IFeedGrain>(room).GetLastIdAsync();
            return (await presence, await lastEventId);
        });
        return TypedResults.Ok(new RoomSnapshot(
            room, counts.Watching, counts.Connections, counts.Version, last.ToString(CultureInfo.InvariantCulture), counts.Idle));
    }

    /// <summary>Not async: the one state machine held for the stream's life is <see cref="StreamAsync"/>'s.</summary>
    private static Task<IResult> StreamEventsAsync(string room, [AsParameters] StreamParameters parameters) =>
        ParseStreamRequest([room], multiplexed: false, parameters, out var problem) is { } request
            ? StreamAsync(request, parameters)
            : Task.FromResult<IResult>(problem!);

    private static Task<IResult> StreamRoomsAsync(string? rooms, [AsParameters] StreamParameters parameters, PrivateRooms privateRooms)
    {
        if (ParseRoomList(rooms, out var names) is { } invalidList)
        {
            return Task.FromResult<IResult>(invalidList);
        }
        if (ParseStreamRequest(names, multiplexed: true, parameters, out var problem) is not { } request)
        {
            return Task.FromResult<IResult>(problem!);
        }
        return names.Any(privateRooms.IsPrivate)
            ? AuthorizeAndStreamAsync(request, names.Where(privateRooms.IsPrivate), parameters)
            : StreamAsync(request, parameters);
    }

    private static async Task<IResult> AuthorizeAndStreamAsync(StreamRequest request, IEnumerable<string> privateRooms, StreamParameters parameters) =>
        await PrivateRooms.AuthorizeAsync(parameters.Context, privateRooms) ?? await StreamAsync(request, parameters);

    /// <summary><c>rooms</c>: 1 to <see cref="StreamRooms.MaxRooms"/> distinct valid room names, comma-separated; null if so, else the 400.</summary>
    private static ProblemHttpResult? ParseRoomList(string? rooms, out ImmutableArray<string> names)
    {
        names = rooms is null ? [] : [.. rooms.Split(',')];
        var detail = names.Length switch
        {
            0 => $"'rooms' is required: 1 to {StreamRooms.MaxRooms} room names, comma-separated.",
            > StreamRooms.MaxRooms => $"At most {StreamRooms.MaxRooms} rooms on one stream; {names.Length} were given.",
            _ => names.FirstOrDefault(name => !RoomName.IsValid(name)) is { } invalid
                ? $"'{Shorten(invalid)}' is not a room name: a room name is {RoomName.Rule}."
                : names.Distinct(StringComparer.Ordinal).Count() < names.Length ? "A room is listed more than once." : null,
        };
        return detail is null ? null : Problem(StatusCodes.Status400BadRequest, "Invalid 'rooms'", detail);
    }

    private static string Shorten(string text) => text.Length <= 130 ? text : $"{text[..130]}...";

    /// <summary>The stream a client asked for, or (null) the 400 for a bad <c>viewer</c>, <c>count</c> or <c>activity</c>.</summary>
    private static StreamRequest? ParseStreamRequest(
        ImmutableArray<string> rooms, bool multiplexed, StreamParameters parameters, out ProblemHttpResult? problem)
    {
        var (viewer, count) = (parameters.Viewer, parameters.Count);
        problem = null;
        if (viewer is not null && (viewer.Length is 0 or > MaxViewerIdLength || viewer.Any(char.IsControl)))
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid 'viewer'",
                $"'viewer' must be 1 to {MaxViewerIdLength} characters without control characters.");
            return null;
        }
        var counted = true;
        if (count is not null && !bool.TryParse(count, out counted))
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid 'count'", "'count' must be 'true' or 'false'.");
            return null;
        }
        var reportsActivity = false;
        if (parameters.Activity is { } activity && !bool.TryParse(activity, out reportsActivity))
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid 'activity'", "'activity' must be 'true' or 'false'.");
            return null;
        }
        if (reportsActivity && !counted)
        {
            problem = Problem(StatusCodes.Status400BadRequest, "Invalid 'activity'", "'activity=true' needs a counted stream: an uncounted one cannot be idle.");
            return null;
        }
        return new StreamRequest(rooms, multiplexed, viewer, counted, parameters.LastEventIdHeader ?? parameters.LastEventId, reportsActivity);
    }

    /// <summary>Runs the stream if this front end lets it in; it counts once against <c>Limits:MaxStreams</c>, however many rooms it serves.</summary>
    private static Task<IResult> StreamAsync(StreamRequest request, StreamParameters parameters) =>
        HoldAsync(parameters.Context, parameters.Admission, (parameters.Stream, request),
            static (context, state) => state.Stream.RunAsync(context, state.request));

    /// <summary>
    /// Runs a held event stream (a room's, several rooms', a group's) if <paramref name="admission"/>
    /// lets it open, else answers why not (a 503); it leaves the admission when it ends. The stream's
    /// arguments come as <paramref name="state"/>, so that no closure is held for its life.
    /// </summary>
    public static async Task<IResult> HoldAsync<TState>(HttpContext context, StreamAdmission admission, TState state, Func<HttpContext, TState, Task> run)
    {
        if (Refused(context, admission) is { } refused)
        {
            return refused;
        }
        try
        {
            await run(context, state);
        }
        finally
        {
            admission.Close();
        }
        return TypedResults.Empty;
    }

    /// <summary>Opens a held stream in <paramref name="admission"/>, or says why it cannot (a 503).</summary>
    private static ProblemHttpResult? Refused(HttpContext context, StreamAdmission admission) => admission.TryOpen() switch
    {
        StreamRefusal.Full => Unavailable(context, "Too many streams", "This server holds as many event streams as it may; try again shortly."),
        StreamRefusal.Stopping => Unavailable(context, "Stopping", "This server is stopping; try again shortly."),
        _ => null,
    };

    /// <summary>A 503 that closes its connection: a crowd turned away must not hold on to sockets.</summary>
    private static ProblemHttpResult Unavailable(HttpContext context, string title, string detail)
    {
        context.Response.Headers.Connection = "close";
        return RetryLater.Problem(context.Response, StatusCodes.Status503ServiceUnavailable, title, ClusterUnavailableHandler.RetryAfterSeconds, detail);
    }

    private static async Task<IResult> PublishAsync(string room, HttpContext context, IGrainFactory grains)
    {
        var (body, unreadable) = await JsonBody.ReadAsync(context, PublishRequest.MaxBodyBytes);
        if (unreadable is not null)
        {
            return unreadable;
        }
        using (body)
        {
            if (PublishRequest.Parse(body!.RootElement, out var problem) is not { } valid)
            {
                return problem!;
            }
            var published = await grains.GetGrain<IFeedGrain>(room).PublishAsync(valid.Type, valid.Data);
            return TypedResults.Created((string?)null, new PublishedEvent(published.Id.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
