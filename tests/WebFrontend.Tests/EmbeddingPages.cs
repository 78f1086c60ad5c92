using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// Another site: a second Kestrel on a port of its own (so another origin) serving pages that embed
/// the widget, <c>/?server=&lt;presence origin&gt;&amp;room=a&amp;room=b</c>: one element per <c>room</c>;
/// <c>&amp;idle=&lt;seconds&gt;</c> sets the widget's <c>data-presence-idle-seconds</c>.
/// </summary>
public sealed class EmbeddingPages : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddingPages(WebApplication app) => _app = app;

    public Uri Address => _app.Services.ListeningAddress();

    public string Origin => Address.GetLeftPart(UriPartial.Authority);

    public static async Task<EmbeddingPages> StartAsync()
    {
        var app = LoopbackServer.CreateBuilder().Build();
        app.Run(static context =>
        {
            var query = context.Request.Query;
            var html = HtmlEncoder.Default;
            var elements = string.Concat(query["room"].Select(room =>
                $"""<p>Watching {html.Encode(room!)}: <span data-presence-room="{html.Encode(room!)}">…</span></p>"""));
            var idle = query["idle"] is { Count: 1 } seconds ? $""" data-presence-idle-seconds="{html.Encode(seconds.ToString())}" """ : "";
            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.WriteAsync($"""
                <!doctype html>
                <html lang="en">
                <head><meta charset="utf-8"><title>A page elsewhere</title></head>
                <body>
                {elements}
                <script src="{html.Encode(query["server"].ToString())}/presence.js"{idle}async></script>
                </body>
                </html>
                """);
        });
        await app.StartAsync();
        return new EmbeddingPages(app);
    }

    public string PageUrl(Uri server, params string[] rooms) =>
        new Uri(Address, $"/?server={Uri.EscapeDataString(server.GetLeftPart(UriPartial.Authority))}"
            + string.Concat(rooms.Select(room => $"&room={Uri.EscapeDataString(room)}"))).ToString();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
