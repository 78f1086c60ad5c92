using Microsoft.AspNetCore.Http.HttpResults;

namespace Presence.WebFrontend;

/// <summary>The <c>Authorization: Bearer</c> credentials of a request, and the 401 that asks for them.</summary>
internal static class Bearer
{
    private const string Scheme = "Bearer ";

    /// <summary>What follows <c>Bearer </c> (in any case), trimmed; null without an <c>Authorization</c> header of that scheme.</summary>
    public static string? CredentialsOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? authorization[Scheme.Length..].Trim() : null;
    }

    /// <summary>A 401 with <c>WWW-Authenticate: Bearer</c>.</summary>
    public static ProblemHttpResult Challenge(HttpResponse response, string title, string detail)
    {
        response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: title, detail: detail);
    }
}
