using System.Text.RegularExpressions;

namespace Presence.WebFrontend.Rooms;

internal static partial class RoomName
{
    public const string Rule = "1 to 128 characters: letters, digits and - _ . ~ :";

    public static bool IsValid(string? room) => room is not null && Pattern().IsMatch(room);

    /// <summary>
    /// A filter answering 400 unless the route value <paramref name="kind"/> (<c>room</c>, <c>group</c>)
    /// follows the rule. Not async: an event stream's request lasts for hours, and a state machine
    /// awaiting it would be held as long.
    /// </summary>
    public static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Validate(string kind) =>
        (context, next) => IsValid(context.HttpContext.GetRouteValue(kind) as string)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest, title: $"Invalid {kind} name", detail: $"A {kind} name is {Rule}."));

    [GeneratedRegex(@"^[A-Za-z0-9\-_.~:]{1,128}\z")]
    private static partial Regex Pattern();
}
