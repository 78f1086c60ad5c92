namespace Presence.WebFrontend;

/// <summary>The demo page and its files (wwwroot).</summary>
internal static class DemoPage
{
    /// <summary>Only the page's own script and style run: no inline script, style or event handler, nothing from elsewhere.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public const string ReferrerPolicy = "no-referrer";

    public static IApplicationBuilder UseDemoPage(this IApplicationBuilder app) =>
        app.UseDefaultFiles().UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = static file =>
            {
                var headers = file.Context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers["Referrer-Policy"] = ReferrerPolicy;
            },
        });
}
