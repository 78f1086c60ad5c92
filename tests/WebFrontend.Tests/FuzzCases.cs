using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Presence.WebFrontend.Connections;
using Presence.WebFrontend.Feed;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// One generated request: a message for HttpClient, or raw bytes (Latin-1, one char a byte) for
/// what HttpClient will not send. <see cref="Description"/> says what it is.
/// </summary>
public sealed record FuzzCase(string Description)
{
    public HttpRequestMessage? Message { get; init; }

    public byte[]? Raw { get; init; }

    /// <summary>Raw bytes cut short: the client shuts its side down, and Kestrel may drop the request unanswered.</summary>
    public bool EndsEarly { get; init; }

    /// <summary>The status where it is known in advance: at and one byte past Kestrel's limits.</summary>
    public Func<int, bool>? Expects { get; init; }
}

/// <summary>
/// Seeded random requests over every route, a quarter of them as raw bytes: request <c>i</c> of a
/// seed is always the same, whatever ran before it.
/// </summary>
public sealed class FuzzCases(Uri server, KestrelServerLimits limits, string publishKey)
{
    private const string RoomChars = "ABCXYZabcxyz0189-_.~:";
    private const string HostLine = "Host: localhost\r\n";

    /// <summary>Half the room names drawn are these: streams come and go in them all the time.</summary>
    public static string[] BusyRooms { get; } = [.. Enumerable.Range(0, 8).Select(i => $"fuzz-{i}")];

    private static readonly string[] OtherMethods = ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW", "get", "PROPFIND"];

    private static readonly string[] OddRooms =
    [
        "", ".", "..", "%2e%2e", "a%2Fb", "a%20b", "%00", "%FF", "%C3%A9", "%ED%A0%80", "a%25b", "private:x", "a;b",
        "%F0%9F%98%80", "a%0D%0Ab", "..%2F..%2F", "a+b", "%", "%zz", "%2", "a%2Fevents",
    ];

    private static readonly string[] Tops =
        ["-1", "0", "1", "10", "1000", "1001", "2147483648", "99999999999999999999", "abc", "", "1e3", "%201", "0x10", "%D9%A3", "+5", "5.0"];

    private static readonly string[] Counts = ["true", "false", "True", "FALSE", "", "1", "yes", "null", "%00"];

    private static readonly string[] ConnectionIds =
    [
        "", "x", "%00", "..", "00000000000000000000000000000000", "0123456789abcdef0123456789abcdeg", "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0", "{01234567-89ab-cdef-0123-456789abcdef}", "01234567-89ab-cdef-0123-456789abcdef", "%2e%2e",
    ];

    private static readonly string[] ActivityBodies =
    [
        """{"idle":true}""", """{"idle":false}""", """{"idle":"true"}""", """{"idle":1}""", """{"idle":null}""", """{"Idle":true}""",
        """{"idle":true,"idle":false}""", """[{"idle":true}]""", """{"idle":true}{"idle":false}""",
    ];

    private static readonly string[] EventIds =
        ["0", "1", "-1", "3", "9223372036854775807", "9223372036854775808", "abc", "", "1.5", " 2", "00000000000000000000001",
         "fuzz-0=1,fuzz-1=2", "fuzz-0=9223372036854775808", "fuzz-2=-1", "=", ",,", "fuzz-3==1", "fuzz-0=1,fuzz-0=2"];

    private static readonly string[] Unicode = ["é", "日本", "😀", "\u202E", "\u0000", "\u200B", "ｆｕｌｌ"];

    private static readonly string[] Accepts =
        ["*/*", "application/json", "text/html", "text/event-stream", "application/xml", "garbage", "application/problem+json;q=0"];

    private static readonly string[] ContentTypes =
        ["application/json", "application/json", "text/plain", "application/json; charset=utf-16", "multipart/form-data; boundary=x", "garbage", ""];

    private static readonly string[] Types =
    [
        "\"goal\"", "\"a.b-c_d\"", "\"\"", "\"presence\"", "\"gap\"", $"\"{new string('t', 64)}\"", $"\"{new string('t', 65)}\"",
        "\"x y\"", "\"\\u00e9\"", "\"<script>\"", "\"\\n\"", "42", "null", "[]", "\"connection\"",
    ];

    private static readonly string[] Scalars =
    [
        "true", "false", "null", "0", "-0", "1.5e308", "1e999999", "-1E-400", "123456789012345678901234567890", "\"\"",
        "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"<img src=x onerror=alert(1)>\"", "\"\\u2028\\u2029\"", "\"line\\r\\n\\ndata: x\"",
    ];

    /// <summary>Bodies that are not UTF-8 (Latin-1: one char a byte).</summary>
    private static readonly string[] NotUtf8 =
    [
        "{\"type\":\"\u00FF\",\"data\":1}", "{\"data\":\"\u00C3\"}", "{\"data\":{\"\u00FF\":1}}", "{\"\u00FE\":1,\"data\":1}",
        "{\"data\":\"\u00ED\u00A0\u0080\"}", "{\"data\":\"\u00C0\u00AF\"}", "\u00FF\u00FE{\"data\":1}", "{\"data\":1}\u00FF",
        "{\"data\":\"\u00E2\u0082\"}", "\u00FF",
    ];

    private static readonly string[] LoneSurrogates =
    [
        """{"type":"\ud800","data":1}""", """{"data":"\udfff"}""", """{"data":{"\ud800":1}}""", """{"\udc00":1,"data":1}""",
        """{"data":["\ud83d"]}""", """{"data":"\ud83dx"}""", """{"data":"\ud83d\ude00"}""",
    ];

    private static readonly string[] OddJson =
    [
        "", " ", "null", "{}", "[]", "\"x\"", "{\"data\":", "{\"data\":1,}", "{\"data\":1}{\"data\":2}", "\uFEFF{\"data\":1}",
        "{\"data\":1e999999}", "{'data':1}", "{\"data\":NaN}", "{\"data\":1 /* c */}", "{\"data\":1,\"data\":2}", "{\"type\":\"goal\"}",
    ];

    /// <summary>Bytes that are not UTF-8, control characters, and one that is (é).</summary>
    private static readonly string[] BadBytes =
    [
        "\u00FF", "\u00FE\u00FF", "\u00C3\u0028", "\u00C0\u00AF", "\u00ED\u00A0\u0080", "\u00E2\u0082", "\u0080", "\u0000", "\u007F",
        "\r", "\u001B[31m", "\u00F4\u0090\u0080\u0080", "\u00C3\u00A9",
    ];

    private readonly string _origin = server.GetLeftPart(UriPartial.Authority);

    public FuzzCase Create(int seed, int index)
    {
        var random = new Random(unchecked((seed * 1_000_003) + index));
        return random.Next(4) == 0 ? Raw(random) : Client(random);
    }

    private FuzzCase Client(Random r)
    {
        var method = r.Next(20) switch { < 8 => "GET", < 15 => "POST", _ => Pick(r, OtherMethods) };
        var post = method == "POST" ? r.Next(8) : -1;
        var target = post switch
        {
            > 2 => $"/rooms/{Room(r)}/events{Query(r)}",
            > 0 => ActivityTarget(r),
            _ => Target(r),
        };
        var message = new HttpRequestMessage(new HttpMethod(method), new Uri(_origin + target));
        var authorization = post > 0 || r.Next(8) == 0 ? Authorization(r) : null;
        if (authorization is not null)
        {
            message.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        for (var i = r.Next(4); i > 0; i--)
        {
            var (name, value) = Header(r);
            message.Headers.TryAddWithoutValidation(name, value);
        }

        var body = "no body";
        if (method is "POST" or "PUT" or "PATCH" || r.Next(8) == 0)
        {
            var (bytes, kind) = post is 1 or 2 ? ActivityBody(r) : Body(r);
            message.Content = new ByteArrayContent(bytes);
            message.Content.Headers.TryAddWithoutValidation("Content-Type", Pick(r, ContentTypes));
            var chunked = r.Next(2) == 0;
            message.Headers.TransferEncodingChunked = chunked;
            // The body goes out once the server wants it: when Kestrel refuses the request itself (a
            // NUL in the path, a line past its limit) and closes while a large body is still going
            // out, HttpClient reports the reset instead of the answer. Raw requests send at once.
            message.Headers.ExpectContinue = true;
            body = $"{kind}, {bytes.Length} bytes{(chunked ? " chunked" : "")}";
        }
        return new FuzzCase($"{method} {Shorten(target)} ({body}, Authorization: {Shorten(authorization ?? "none")})") { Message = message };
    }

    private FuzzCase Raw(Random r) => r.Next(6) switch
    {
        0 => BytesInRequestLine(r),
        1 => BytesInHeader(r),
        2 => BogusChunked(r),
        3 => LyingContentLength(r),
        4 => AtTheLimits(r),
        _ => OddFraming(r),
    };

    private static FuzzCase BytesInRequestLine(Random r)
    {
        var target = Target(r);
        return RawCase("raw: bytes in the request target", Request(Pick(r, ["GET", "POST"]), target.Insert(r.Next(target.Length + 1), Pick(r, BadBytes)), []));
    }

    private FuzzCase BytesInHeader(Random r)
    {
        var bad = Pick(r, BadBytes);
        var header = Pick(r,
        [
            $"X-Fuzz: a{bad}b", $"X-F{bad}: 1", $"Authorization: Bearer {publishKey}{bad}", $"Last-Event-ID: {bad}",
            $"Content-Type: application/json; charset={bad}", $"Cookie: {bad}", $"{bad}: x",
        ]);
        var (method, target) = r.Next(2) == 0 ? ("POST", PublishTarget(r)) : ("GET", Target(r));
        var json = PublishJson(r);
        return RawCase($"raw: bytes in a header, {method} {Shorten(target)}",
            Request(method, target, [header, $"Content-Length: {json.Length}"], json));
    }

    private FuzzCase BogusChunked(Random r)
    {
        var json = PublishJson(r);
        var (chunks, endsEarly, kind) = r.Next(9) switch
        {
            0 => ($"zz\r\n{json}\r\n0\r\n\r\n", false, "a chunk size that is not hex"),
            1 => ($"FFFFFFFFFFFFFFFFFFFF\r\n{json}", false, "a chunk size that overflows"),
            2 => ($"{json.Length:x}\r\n{json}XX0\r\n\r\n", false, "no CRLF after a chunk"),
            3 => ($"{json.Length:x};{new string('e', 5000)}\r\n{json}\r\n0\r\n\r\n", false, "a long chunk extension"),
            4 => ($"-{json.Length:x}\r\n{json}\r\n0\r\n\r\n", false, "a negative chunk size"),
            5 => ($"{json.Length + 100:x}\r\n{json}", true, "a chunk cut short"),
            6 => (OverTheLimitInChunks(r), false, "chunks over the body limit"),
            7 => ($"{json.Length:x}\r\n{json}\r\n0\r\nX-Trailer: 1\r\n\r\n", false, "a trailer"),
            _ => ($"{json.Length:x}\r\n{json}\r\n", true, "no last chunk"),
        };
        var encoding = Pick(r, ["chunked", "chunked", "CHUNKED", "gzip, chunked"]);
        return RawCase($"raw: chunked POST with {kind}",
            Request("POST", PublishTarget(r), [.. AuthorizationHeader(r), $"Transfer-Encoding: {encoding}"], chunks), endsEarly);
    }

    private static string OverTheLimitInChunks(Random r)
    {
        var chunk = new string('x', 8 * 1024 + r.Next(100));
        var count = (PublishRequest.MaxBodyBytes / chunk.Length) + 2;
        return "9\r\n{\"data\":\"\r\n" + string.Concat(Enumerable.Repeat($"{chunk.Length:x}\r\n{chunk}\r\n", count)) + "2\r\n\"}\r\n0\r\n\r\n";
    }

    private FuzzCase LyingContentLength(Random r)
    {
        var json = PublishJson(r);
        var (length, endsEarly, kind) = r.Next(8) switch
        {
            0 => ((json.Length - 1 - r.Next(json.Length - 1)).ToString(CultureInfo.InvariantCulture), false, "short of the body"),
            1 => ((json.Length + 1 + r.Next(1000)).ToString(CultureInfo.InvariantCulture), true, "past the body"),
            2 => ("abc", false, "not a number"),
            3 => ("-1", false, "negative"),
            4 => ("99999999999999999999", false, "overflowing"),
            5 => ($"{json.Length}\r\nContent-Length: {json.Length + 1}", false, "given twice, differently"),
            6 => ($"{json.Length}\r\nTransfer-Encoding: chunked", false, "with chunked encoding"),
            _ => ($"{json.Length}, {json.Length}", false, "as a list"),
        };
        return RawCase($"raw: POST with a Content-Length {kind}",
            Request("POST", PublishTarget(r), [.. AuthorizationHeader(r), $"Content-Length: {length}"], json), endsEarly);
    }

    /// <summary>Kestrel's limits are inclusive: at the limit the app answers (200), one byte past it Kestrel refuses.</summary>
    private FuzzCase AtTheLimits(Random r)
    {
        var room = ValidRoom(r, r.Next(1, 129));
        var target = Pick(r, [$"/rooms/{room}", $"/rooms/{room}/events", "/health", "/"]);
        var over = r.Next(2);
        var (what, refusal) = r.Next(3) switch { 0 => ("header bytes", 431), 1 => ("request line", 414), _ => ("header count", 431) };
        var request = what switch
        {
            "header bytes" => Request("GET", target,
                [$"X-Fuzz: {new string('h', limits.MaxRequestHeadersTotalSize + over - HostLine.Length - "X-Fuzz: \r\n".Length)}"]),
            "request line" => Request("GET",
                $"{target}?pad={new string('p', limits.MaxRequestLineSize + over - $"GET {target}?pad= HTTP/1.1\r\n".Length)}", []),
            _ => Request("GET", target, Enumerable.Range(1, limits.MaxRequestHeaderCount - 1 + over).Select(i => $"X-Fuzz-{i}: {i}")),
        };
        return RawCase($"raw: {what} {(over == 0 ? "at" : "one past")} Kestrel's limit, GET {Shorten(target)}", request) with
        {
            Expects = over == 0 ? status => status == StatusCodes.Status200OK : status => status == refusal,
        };
    }

    private FuzzCase OddFraming(Random r)
    {
        var target = Target(r);
        var json = PublishJson(r);
        var publish = PublishTarget(r);
        var key = AuthorizationHeader(r);
        var (kind, request, endsEarly) = Pick(r,
        [
            ("bare LF line ends", $"GET {target} HTTP/1.1\nHost: localhost\n\n", false),
            ("no Host", $"GET {target} HTTP/1.1\r\n\r\n", false),
            ("two Hosts", Request("GET", target, ["Host: other"]), false),
            ("an empty Host", $"GET {target} HTTP/1.1\r\nHost:\r\n\r\n", false),
            ("a folded header", Request("GET", target, ["X-A: a", " folded"]), false),
            ("a space before the colon", Request("GET", target, ["X-A : b"]), false),
            ("a header without a colon", Request("GET", target, ["X-A b"]), false),
            ("an empty header name", Request("GET", target, [": b"]), false),
            ("HTTP/1.0 without Host", $"GET {target} HTTP/1.0\r\n\r\n", false),
            ("the absolute form", Request("GET", $"http://localhost{target}", []), false),
            ("the absolute form of another host", Request("GET", $"http://elsewhere.example{target}", []), false),
            ("the asterisk form", Request("OPTIONS", "*", []), false),
            ("CONNECT", Request("CONNECT", "localhost:80", []), false),
            ("a method with odd characters", Request("G@T", target, []), false),
            ("two spaces", $"GET  {target} HTTP/1.1\r\n{HostLine}\r\n", false),
            ("tabs", $"GET\t{target}\tHTTP/1.1\r\n{HostLine}\r\n", false),
            ("a target without a slash", Request("GET", target.TrimStart('/'), []), false),
            ("a fragment", Request("GET", $"{target}#x", []), false),
            ("Upgrade: websocket", Request("GET", target,
                ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]), false),
            ("Upgrade: h2c", Request("GET", target, ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA"]), false),
            ("Expect: 100-continue", Request("POST", publish, [.. key, "Expect: 100-continue", $"Content-Length: {json.Length}"], json), false),
            ("an unknown Expect", Request("POST", publish, [.. key, "Expect: miracles", $"Content-Length: {json.Length}"], json), false),
            ("HTTP/1.0 POST without Content-Length", Request("POST", publish, key, json, "HTTP/1.0"), false),
            ("two requests in one write", Request("GET", target, []) + Request("POST", publish, [.. key, $"Content-Length: {json.Length}"], json), false),
            ("headers cut short", $"GET {target} HTTP/1.1\r\n{HostLine}X-A: b", true),
            ("a request line cut short", $"GET {target}", true),
            ("nothing at all", "", true),
        ]);
        return RawCase($"raw: {kind}, {Shorten(target)}", request, endsEarly);
    }

    /// <summary>The publish key mostly; else an odd spelling of it, another key or scheme, or none (null).</summary>
    private string? Authorization(Random r) => r.Next(9) switch
    {
        < 4 => $"Bearer {publishKey}",
        4 => $"bearer   {publishKey}  ",
        5 => "Bearer",
        6 => "Basic dXNlcjpwYXNz",
        7 => $"Bearer {Ascii(r, 2000)}",
        _ => null,
    };

    private string[] AuthorizationHeader(Random r) => Authorization(r) is { } value ? [$"Authorization: {value}"] : [];

    private static (string Name, string Value) Header(Random r) => r.Next(8) switch
    {
        0 => ("Accept", Pick(r, Accepts)),
        1 => ("Last-Event-ID", Pick(r, EventIds)),
        2 => ("X-Fuzz", Ascii(r, 8000)),
        3 => ("Range", Pick(r, ["bytes=0-10", "bytes=-5", "bytes=99999-", "bytes=abc", "bytes=0-1,2-3"])),
        4 => ("If-None-Match", Pick(r, ["*", "\"x\"", "garbage"])),
        5 => ("If-Modified-Since", Pick(r, ["Thu, 01 Jan 1970 00:00:00 GMT", "yesterday", "Fri, 31 Dec 9999 23:59:59 GMT"])),
        6 => ("Accept-Encoding", Pick(r, ["gzip, br", "*", "identity;q=0"])),
        _ => ("Cookie", Ascii(r, 200)),
    };

    private static (byte[] Bytes, string Kind) Body(Random r) => r.Next(12) switch
    {
        < 3 => (Utf8(PublishJson(r)), "publish JSON"),
        3 => (Utf8(Json(r, 0)), "random JSON"),
        4 => Nested(r),
        5 => (Encoding.Latin1.GetBytes(Pick(r, NotUtf8)), "not UTF-8"),
        6 => (Utf8(Pick(r, LoneSurrogates)), "lone surrogate"),
        7 => (Utf8($"{{\"data\":\"{new string('x', PublishRequest.MaxBodyBytes + r.Next(1, 4096))}\"}}"), "over the body limit"),
        8 => (Utf8($"{{\"data\":\"{new string('x', PublishRequest.MaxDataBytes + r.Next(1, 1024))}\"}}"), "data over its limit"),
        9 => (RandomBytes(r), "random bytes"),
        _ => (Utf8(Pick(r, OddJson)), "odd JSON"),
    };

    /// <summary>
    /// Bodies for activity reports, at most a few KB past their limit (like the publish bodies past
    /// theirs): a chunked body sent on after the 413 far past a route's limit is reset by Kestrel,
    /// and HttpClient then reports the reset instead of the answer.
    /// </summary>
    private static (byte[] Bytes, string Kind) ActivityBody(Random r) => r.Next(6) switch
    {
        < 2 => (Utf8(Pick(r, ActivityBodies)), "activity JSON"),
        2 => (Utf8(Pick(r, OddJson)), "odd JSON"),
        3 => (Encoding.Latin1.GetBytes(Pick(r, NotUtf8)), "not UTF-8"),
        4 => (Utf8($"{{\"idle\":true,\"pad\":\"{new string('x', ConnectionsApi.MaxBodyBytes + r.Next(1, 4096))}\"}}"), "over the body limit"),
        _ => (RandomBytes(r), "random bytes"),
    };

    /// <summary>Around the parser's depth limit (64) and far past it, closed or not.</summary>
    private static (byte[] Bytes, string Kind) Nested(Random r)
    {
        var depth = Pick(r, [62, 63, 64, 65, 1000, 100_000]);
        var (open, close) = r.Next(2) == 0 ? ("[", "]") : ("{\"a\":", "}");
        var closed = r.Next(4) > 0;
        var json = $"{{\"data\":{string.Concat(Enumerable.Repeat(open, depth))}1{(closed ? string.Concat(Enumerable.Repeat(close, depth)) : "")}}}";
        return (Utf8(json), $"nested {depth} deep{(closed ? "" : ", unclosed")}");
    }

    private static string PublishJson(Random r) =>
        $"{{{(r.Next(3) == 0 ? "" : $"\"type\":{Pick(r, Types)},")}\"data\":{Json(r, 1)}}}";

    private static string Json(Random r, int depth) => r.Next(depth > 3 ? 3 : 5) switch
    {
        0 => Pick(r, Scalars),
        1 => r.Next(int.MinValue, int.MaxValue).ToString(CultureInfo.InvariantCulture),
        2 => JsonSerializer.Serialize(r.Next(2) == 0 ? Ascii(r, 40) : Pick(r, Unicode)),
        3 => $"[{string.Join(',', Enumerable.Range(0, r.Next(4)).Select(_ => Json(r, depth + 1)))}]",
        _ => $"{{{string.Join(',', Enumerable.Range(0, r.Next(4)).Select(_ => $"{JsonSerializer.Serialize(Ascii(r, 10))}:{Json(r, depth + 1)}"))}}}",
    };

    private static string Target(Random r) => Path(r) + Query(r);

    private static string PublishTarget(Random r) => $"/rooms/{Room(r)}/events";

    /// <summary>An activity report's route: a connection id that is well formed (and unknown) or odd.</summary>
    private static string ActivityTarget(Random r)
    {
        var id = r.Next(3) == 0 ? Pick(r, ConnectionIds) : new Guid([.. Enumerable.Range(0, 16).Select(_ => (byte)r.Next(256))]).ToString(r.Next(2) == 0 ? "N" : "D");
        return $"/connections/{id}/activity{Query(r)}";
    }

    private static string Path(Random r) => r.Next(19) switch
    {
        > 16 => Pick(r, ["/events", "/events/", "/EVENTS", "/events/x"]),
        14 => ActivityTarget(r),
        15 => $"/groups/{Room(r)}",
        16 => $"/groups/{Room(r)}/events",
        < 5 => $"/rooms/{Room(r)}/events",
        < 8 => $"/rooms/{Room(r)}",
        8 => Pick(r, ["/rooms", "/rooms/", "/", "/index.html", "/app.js", "/style.css", "/health", "/favicon.ico", "/wwwroot/app.js"]),
        9 => $"/rooms/{Room(r)}/events/{Room(r)}",
        10 => Pick(r, ["//rooms/{0}", "/ROOMS/{0}/EVENTS", "/rooms/{0}/./events", "/rooms/{0}/../../app.js", "/rooms/{0}%2Fevents", "/rooms/{0}/events/"])
            .Replace("{0}", Room(r), StringComparison.Ordinal),
        11 => Pick(r, ["/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd", "/index.html%00.js", "/app.js/", "/%61pp.js"]),
        12 => "/" + PercentBytes(r, r.Next(30)),
        _ => "/" + Uri.EscapeDataString(Ascii(r, 60)),
    };

    private static string Room(Random r) => r.Next(10) switch
    {
        < 5 => Pick(r, BusyRooms),
        5 => ValidRoom(r, r.Next(1, 129)),
        6 => ValidRoom(r, 128 + r.Next(2)),
        7 => ValidRoom(r, r.Next(200, 5000)),
        _ => Pick(r, OddRooms),
    };

    private static string ValidRoom(Random r, int length) =>
        string.Create(length, r, static (chars, random) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = RoomChars[random.Next(RoomChars.Length)];
            }
        });

    private static string Query(Random r) => r.Next(3) == 0
        ? ""
        : "?" + string.Join(Pick(r, ["&", "&", "&&", ";"]), Enumerable.Range(0, r.Next(1, 4)).Select(_ => QueryPair(r)));

    private static string QueryPair(Random r) => r.Next(7) switch
    {
        6 => r.Next(2) == 0 ? $"rooms={RoomList(r)}" : $"activity={Pick(r, Counts)}",
        0 => $"top={Pick(r, Tops)}",
        1 => $"viewer={QueryValue(r)}",
        2 => $"count={Pick(r, Counts)}",
        3 => $"lastEventId={Uri.EscapeDataString(Pick(r, EventIds))}",
        4 => $"{QueryValue(r)}={QueryValue(r)}",
        _ => Pick(r, ["=", "&", "top", "viewer", "count=", "%", "a=%zz", "top=1&top=2", "count=true&count=false", "viewer=a&viewer=b"]),
    };

    /// <summary>Lists for <c>/events?rooms=</c>: 0 to 22 names (valid, odd, repeated), or an odd list.</summary>
    private static string RoomList(Random r) => r.Next(5) switch
    {
        0 => Pick(r, ["", ",", "a,", ",a", "a,,b", "a,a", "a%2Cb", "a=1,b", "a;b", "%2C%2C"]),
        _ => string.Join(Pick(r, [",", ",", ",", "%2C"]), Enumerable.Range(0, r.Next(23)).Select(_ => Room(r))),
    };

    private static string QueryValue(Random r) => r.Next(7) switch
    {
        0 => "",
        1 => Uri.EscapeDataString(Ascii(r, 40)),
        2 => Uri.EscapeDataString(Ascii(r, 3000)),
        3 => PercentBytes(r, r.Next(1, 24)),
        4 => Uri.EscapeDataString(Pick(r, Unicode)),
        5 => new string('v', 128 + r.Next(2)),
        _ => Pick(r, ["a+b", "a=b=c", "%", "%zz", "%%", "%2", ";", ","]),
    };

    /// <summary>Any bytes, percent-encoded: invalid UTF-8 and control characters included.</summary>
    private static string PercentBytes(Random r, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(_ => $"%{r.Next(256):X2}"));

    /// <summary>Printable ASCII, what HttpClient lets through in a header.</summary>
    private static string Ascii(Random r, int maxLength) =>
        string.Create(r.Next(maxLength + 1), r, static (chars, random) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = (char)random.Next(0x20, 0x7F);
            }
        });

    private static byte[] RandomBytes(Random r)
    {
        var bytes = new byte[r.Next(1, 2048)];
        r.NextBytes(bytes);
        return bytes;
    }

    private static string Request(string method, string target, IEnumerable<string> headers, string body = "", string version = "HTTP/1.1") =>
        $"{method} {target} {version}\r\n{HostLine}{string.Concat(headers.Select(header => header + "\r\n"))}\r\n{body}";

    private static FuzzCase RawCase(string description, string request, bool endsEarly = false) =>
        new(description) { Raw = Encoding.Latin1.GetBytes(request), EndsEarly = endsEarly };

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Shorten(string text) => text.Length <= 100 ? text : $"{text[..100]}...({text.Length} chars)";

    private static T Pick<T>(Random r, T[] choices) => choices[r.Next(choices.Length)];
}
