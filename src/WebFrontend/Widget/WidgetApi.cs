using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Widget;

/// <summary>Which other sites' pages may use the service from the browser (section <c>Cors</c>).</summary>
public sealed class EmbeddingOptions : IValidatableObject
{
    public const string Section = "Cors";

    /// <summary>Page origins (<c>https://example.com</c>) allowed; <c>*</c> allows any; none: same origin only.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        AllowedOrigins
            .Where(origin => origin != "*" && !IsOrigin(origin))
            .Select(origin => new ValidationResult(
                $"Cors:AllowedOrigins: '{origin}' is not an origin (scheme, host and optional port, e.g. https://example.com), nor '*'."));

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && uri.Scheme is "http" or "https"
        && uri.GetLeftPart(UriPartial.Authority).Equals(value.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// <c>GET /presence.js</c>, the embeddable widget (wwwroot/presence.js, embedded in the assembly), and the CORS policy that
/// lets the pages of <c>Cors:AllowedOrigins</c> read the widget, the room streams and snapshots, and report activity.
/// </summary>
internal static class WidgetApi
{
    public const string CorsPolicy = "embedding";

    private const string FileName = "presence.js";
    private const string ContentType = "text/javascript; charset=utf-8";

    /// <summary>Ten minutes, then a revalidation that its ETag answers with 304.</summary>
    private const string CacheControl = "public, max-age=600";

    public static IServiceCollection AddWidgetCors(this IServiceCollection services)
    {
        services.AddValidatedOptions<EmbeddingOptions>(EmbeddingOptions.Section);
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<EmbeddingOptions>>((cors, embedding) =>
            cors.AddPolicy(CorsPolicy, policy =>
            {
                var origins = embedding.Value.AllowedOrigins;
                if (origins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins([.. origins.Select(origin => origin.TrimEnd('/'))]);
                }
                // Last-Event-ID (an EventSource reconnecting), Authorization (private rooms' tokens,
                // activity tokens). POST: only the activity reports have this policy among the POST routes.
                policy.WithMethods(HttpMethods.Get, HttpMethods.Post).AllowAnyHeader().SetPreflightMaxAge(TimeSpan.FromMinutes(10));
            }));
        return services;
    }

    public static IEndpointRouteBuilder MapWidget(this IEndpointRouteBuilder app)
    {
        using var stream = typeof(WidgetApi).Assembly.GetManifestResourceStream(FileName)
            ?? throw new InvalidOperationException($"The widget {FileName} is not embedded in the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var script = copy.ToArray();
        var entityTag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(script))[..16]}\"");

        app.MapGet("/" + FileName, (HttpContext context) =>
        {
            var headers = context.Response.Headers;
            headers.CacheControl = CacheControl;
            // Cached copies differ with the page's origin (Access-Control-Allow-Origin or not).
            headers.Vary = HeaderNames.Origin;
            // Loadable by pages that require it of cross-origin scripts (Cross-Origin-Embedder-Policy).
            headers["Cross-Origin-Resource-Policy"] = "cross-origin";
            return TypedResults.Bytes(script, ContentType, entityTag: entityTag);
        }).RequireCors(CorsPolicy);
        return app;
    }
}
