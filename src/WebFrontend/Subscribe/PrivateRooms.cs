using System.Collections.Immutable;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Subscribe;

/// <summary>Who may watch private rooms (section <c>Subscribe</c>; the prefixes of private rooms are <see cref="PrivateRoomsOptions"/>).</summary>
public sealed class SubscribeOptions
{
    public const string Section = "Subscribe";

    /// <summary>The HS256 key subscribe tokens are signed with (at least 32 bytes of UTF-8). None: no token is valid.</summary>
    [MinLength(32)]
    public string? SigningKey { get; set; }

    /// <summary>When set, a token's <c>aud</c> must be this.</summary>
    public string? Audience { get; set; }

    /// <summary>When set, a token's <c>iss</c> must be this.</summary>
    public string? Issuer { get; set; }
}

/// <summary>
/// Private rooms and groups: the event stream and the snapshot need a JWT (validated by the JwtBearer handler:
/// signature, <c>exp</c>, <c>nbf</c>, and <c>aud</c>/<c>iss</c> when configured) whose <c>rooms</c>
/// claim lists the room (or group) name, or a prefix of it ending in <c>*</c>. No token, or an
/// invalid one: 401; a valid one for other rooms: 403. Public rooms are never authenticated.
/// </summary>
internal sealed class PrivateRooms(IOptions<PrivateRoomsOptions> options) : IEndpointFilter
{
    public const string RoomsClaim = "rooms";
    private static readonly object ExpiresKey = new();

    /// <summary>The prefixes of private rooms, read once (every stream open and top-rooms call asks).</summary>
    public ImmutableArray<string> Prefixes { get; } = [.. options.Value.Prefixes.Distinct()];

    public bool IsPrivate(string room) => options.Value.IsPrivate(room);

    /// <summary>When the token a private stream was opened with expires; null for a public room.</summary>
    public static DateTimeOffset? ExpiresAt(HttpContext context) => context.Items[ExpiresKey] as DateTimeOffset?;

    /// <summary>Not async for public rooms: an event stream's request lasts for hours, and a state machine awaiting it would be held as long.</summary>
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        (context.HttpContext.GetRouteValue("room") ?? context.HttpContext.GetRouteValue("group")) is string room && IsPrivate(room)
            ? AuthorizeAsync(context, room, next)
            : next(context);

    /// <summary>
    /// Null if one token (from the request) allows every one of <paramref name="privateRooms"/>;
    /// otherwise the 401 or 403 to answer. Remembers when the token expires (<see cref="ExpiresAt"/>).
    /// </summary>
    public static async Task<IResult?> AuthorizeAsync(HttpContext http, IEnumerable<string> privateRooms)
    {
        var result = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (!result.Succeeded)
        {
            await http.ChallengeAsync(JwtBearerDefaults.AuthenticationScheme); // WWW-Authenticate: Bearer (RFC 6750)
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "A subscribe token is required",
                detail: "Private rooms need a valid, unexpired token: 'Authorization: Bearer <token>' or '?access_token=<token>'.");
        }
        if (privateRooms.FirstOrDefault(room => !Grants(result.Principal, RoomsClaim, room)) is { } refused)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "This token is not for this room", detail: $"Room '{refused}'.");
        }
        http.Items[ExpiresKey] = result.Properties.ExpiresUtc;
        return null;
    }

    private static async ValueTask<object?> AuthorizeAsync(EndpointFilterInvocationContext context, string room, EndpointFilterDelegate next) =>
        await AuthorizeAsync(context.HttpContext, [room]) ?? await next(context);

    /// <summary>Whether the token's <paramref name="claim"/> lists the room, or a prefix of it ending in <c>*</c>.</summary>
    public static bool Grants(ClaimsPrincipal principal, string claim, string room) =>
        principal.FindAll(claim).Any(claim => claim.Value.EndsWith('*')
            ? room.StartsWith(claim.Value[..^1], StringComparison.Ordinal)
            : room == claim.Value);
}

internal static class PrivateRoomsHosting
{
    /// <summary>
    /// The JwtBearer handler, set up from <see cref="SubscribeOptions"/>; run only for private rooms
    /// and publish tokens. It is no default scheme (ASP.NET Core's switch for that is process-wide): the
    /// authentication middleware that WebApplication adds would otherwise validate every request's
    /// bearer as a JWT, a publish key included (a malformed-token exception per publish).
    /// </summary>
    public static IServiceCollection AddPrivateRooms(this IServiceCollection services)
    {
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddSingleton<PrivateRooms>();
        services.AddAuthentication().AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<SubscribeOptions>>((jwt, subscribe) =>
        {
            var settings = subscribe.Value;
            jwt.MapInboundClaims = false;
            jwt.IncludeErrorDetails = false;
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                // Without a configured key, a random one: no token validates.
                IssuerSigningKey = new SymmetricSecurityKey(settings.SigningKey is { } key
                    ? Encoding.UTF8.GetBytes(key)
                    : System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                ValidateIssuer = settings.Issuer is not null,
                ValidIssuer = settings.Issuer,
                ValidateAudience = settings.Audience is not null,
                ValidAudience = settings.Audience,
                RequireExpirationTime = true,
                ClockSkew = TimeSpan.Zero,
            };
            // EventSource cannot set headers.
            jwt.Events = new JwtBearerEvents
            {
                OnMessageReceived = received =>
                {
                    received.Token ??= received.Request.Query["access_token"].FirstOrDefault();
                    return Task.CompletedTask;
                },
            };
        });
        return services;
    }
}
