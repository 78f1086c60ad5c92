using System.Text;
using Presence.Bench;

namespace Presence.WebFrontend.Tests;

/// <summary>The bench's fan-out clients read event ids straight out of chunked response bodies.</summary>
public sealed class EventIdScannerTests
{
    // The body "retry, a presence event, events 41 and 42, a comment", cut into chunks (one of them
    // with an extension) in the middle of lines, "id" included.
    private static readonly byte[] Body = Encoding.ASCII.GetBytes(
        "f\r\nretry: 3000\n\nev\r\n" +
        "2d\r\nent: presence\ndata: {\"id\":7,\"watching\":1}\n\nid\r\n" +
        "1D;ext=1\r\n: 41\nevent: tick\ndata: {}\n\nid\r\n" +
        "2b\r\n: 42\nevent: tick\ndata: {\"x\":\"id: 9\"}\n\n: id\n\r\n" +
        "0\r\n\r\n");

    [Fact]
    public void FindsEveryId_WhereverTheBodyIsCut()
    {
        for (var cut = 0; cut <= Body.Length; cut++)
        {
            var ids = new List<long>();
            var scanner = new EventIdScanner((id, _) => ids.Add(id));

            scanner.Scan(Body.AsSpan(0, cut), timestamp: 1);
            scanner.Scan(Body.AsSpan(cut), timestamp: 2);

            Assert.Equal([41, 42], ids);
        }
    }

    [Fact]
    public void FindsEveryId_ReadByteByByte()
    {
        var ids = new List<long>();
        var scanner = new EventIdScanner((id, _) => ids.Add(id));

        foreach (var b in Body)
        {
            scanner.Scan([b], timestamp: 1);
        }

        Assert.Equal([41, 42], ids);
    }
}
