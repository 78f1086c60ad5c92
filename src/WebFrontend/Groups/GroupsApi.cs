using Microsoft.AspNetCore.Http.HttpResults;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Limits;
using Presence.WebFrontend.Rooms;
using Presence.WebFrontend.Sse;
using Presence.WebFrontend.Subscribe;
using Presence.WebFrontend.Widget;

namespace Presence.WebFrontend.Groups;

/// <summary>The JSON snapshot of a group: sums over its occupied rooms.</summary>
internal sealed record GroupSnapshot(string Group, int Watching, int Connections, int Rooms);

/// <summary>
/// Groups of rooms: a room name split at <c>:</c> is in the group of each proper prefix
/// (<c>sports:football:match42</c> in <c>sports:football</c> and <c>sports</c>). Group names follow
/// the room name rules; private ones (by <c>Subscribe:PrivatePrefixes</c>) need a subscribe token
/// like a private room.
/// </summary>
internal static class GroupsApi
{
    public static IEndpointRouteBuilder MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/groups/{group}").WithTags("Groups")
            .AddEndpointFilter(RoomName.Validate("group"))
            .AddEndpointFilter(app.ServiceProvider.GetRequiredService<PrivateRooms>())
            .RequireCors(WidgetApi.CorsPolicy)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        group.MapGet("/", GetGroupAsync)
            .WithName("GetGroup")
            .WithSummary("A group's counts summed over its occupied rooms (a viewer in two rooms counts twice), and how many those are");
        group.MapGet("/events", StreamAsync).LimitStreamOpens(app.ServiceProvider)
            .WithName("StreamGroupEvents")
            .WithSummary("The group's counts, live (Server-Sent Events)")
            .WithDescription("retry, then the current sums at once as a 'group' event, then a 'group' event on each change "
                + "(at most one per publish interval, no id; data: group, watching, connections, rooms, version), and ': keep-alive' comments.")
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Ok<GroupSnapshot>> GetGroupAsync(string group, IGrainFactory grains)
    {
        var sums = await ClusterCalls.Retry.ExecuteAsync(async _ => await grains.GetGrain<IGroupGrain>(group).GetAsync());
        return TypedResults.Ok(new GroupSnapshot(sums.Group, sums.Watching, sums.Connections, sums.Rooms));
    }

    private static Task<IResult> StreamAsync(string group, HttpContext context, GroupEventStream stream, StreamAdmission admission) =>
        RoomsApi.HoldAsync(context, admission, (stream, group),
            static (context, state) => state.stream.RunAsync(context, state.group, PrivateRooms.ExpiresAt(context)));
}
