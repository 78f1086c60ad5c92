using System.Text.RegularExpressions;

namespace Presence.WebFrontend.Rooms;

internal static partial class RoomName
{
    public const string Rule = "1 to 128 characters: letters, digits and - _ . ~ :";

    public static bool IsValid(string? room) => room is not null && Pattern().IsMatch(room);

    [GeneratedRegex(@"^[A-Za-z0-9\-_.~:]{1,128}\z")]
    private static partial Regex Pattern();
}
