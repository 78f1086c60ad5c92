using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Subscribe;

namespace Presence.WebFrontend.Feed;

/// <summary>
/// Lets only holders of a publish key (<c>Authorization: Bearer &lt;key&gt;</c>) publish feed events,
/// or of a JWT signed like subscribe tokens whose <c>publish</c> claim lists the room (names, or
/// prefixes ending in <c>*</c>). Keys are compared as SHA-256 digests in constant time, so neither
/// content nor length leaks.
/// </summary>
internal sealed partial class PublishKeys : IEndpointFilter
{
    public const string PublishClaim = "publish";

    private readonly byte[][] _digests;

    public PublishKeys(IOptions<FeedOptions> options, ILogger<PublishKeys> logger)
    {
        var keys = options.Value.PublishKeys.Where(key => !string.IsNullOrWhiteSpace(key)).ToArray();
        if (keys.Length == 0)
        {
            var generated = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            LogGeneratedKey(logger, generated);
            keys = [generated];
        }
        _digests = [.. keys.Select(Digest)];
    }

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (Bearer.CredentialsOf(context.HttpContext.Request) is not { } key)
        {
            return ValueTask.FromResult<object?>(Bearer.Challenge(
                context.HttpContext.Response, "A publish key is required", "Send it as 'Authorization: Bearer <key>'."));
        }

        return IsPublishKey(key) ? next(context) : PublishTokenAsync(context, next);
    }

    /// <summary>Whether <paramref name="presented"/> is one of the keys: every key's digest is compared, each in constant time.</summary>
    internal bool IsPublishKey(string presented)
    {
        var digest = Digest(presented);
        var allowed = false;
        foreach (var key in _digests)
        {
            allowed |= CryptographicOperations.FixedTimeEquals(key, digest);
        }
        return allowed;
    }

    private static async ValueTask<object?> PublishTokenAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var token = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        return token.Succeeded && http.GetRouteValue("room") is string room && PrivateRooms.Grants(token.Principal, PublishClaim, room)
            ? await next(context)
            : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "This key may not publish");
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No Feed:PublishKeys configured; publish with this key generated for this run: {Key}")]
    private static partial void LogGeneratedKey(ILogger logger, string key);
}
