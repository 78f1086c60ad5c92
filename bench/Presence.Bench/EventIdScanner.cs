namespace Presence.Bench;

/// <summary>
/// Finds the <c>id:</c> lines of an event stream in the raw bytes of a chunked HTTP/1.1 response
/// body, fed in whatever pieces the socket hands over: the fan-out clients need only the id of each
/// event and the moment it arrived, and decoding no more than that keeps them cheap.
/// </summary>
internal sealed class EventIdScanner(Action<long, long> onId)
{
    private enum State { ChunkSize, ChunkExtension, ChunkData, ChunkDataEnd }

    private static readonly byte[] IdField = "id:"u8.ToArray();

    private State _state = State.ChunkSize;
    private long _chunkLeft;
    private int _dataEndLeft;

    // Within the body: how much of "id:" the current line has matched (-1: the line is something
    // else), and the id read so far once it has.
    private int _matched;
    private long _id;
    private bool _inId;

    /// <summary>Scans the next body bytes; calls back with each complete event id and <paramref name="timestamp"/>.</summary>
    public void Scan(ReadOnlySpan<byte> bytes, long timestamp)
    {
        while (!bytes.IsEmpty)
        {
            switch (_state)
            {
                case State.ChunkSize:
                    var b = bytes[0];
                    bytes = bytes[1..];
                    if (b == '\n')
                    {
                        _state = _chunkLeft == 0 ? State.ChunkSize : State.ChunkData;
                    }
                    else if (b == ';' || b == '\r')
                    {
                        _state = State.ChunkExtension;
                    }
                    else
                    {
                        _chunkLeft = _chunkLeft * 16 + (b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10);
                    }
                    break;
                case State.ChunkExtension:
                    if (bytes[0] == '\n')
                    {
                        _state = _chunkLeft == 0 ? State.ChunkSize : State.ChunkData;
                    }
                    bytes = bytes[1..];
                    break;
                case State.ChunkData:
                    var data = bytes[..(int)Math.Min(bytes.Length, _chunkLeft)];
                    ScanBody(data, timestamp);
                    bytes = bytes[data.Length..];
                    _chunkLeft -= data.Length;
                    if (_chunkLeft == 0)
                    {
                        (_state, _dataEndLeft) = (State.ChunkDataEnd, 2);
                    }
                    break;
                case State.ChunkDataEnd:
                    bytes = bytes[1..];
                    if (--_dataEndLeft == 0)
                    {
                        _state = State.ChunkSize;
                    }
                    break;
            }
        }
    }

    private void ScanBody(ReadOnlySpan<byte> body, long timestamp)
    {
        foreach (var b in body)
        {
            if (b == '\n')
            {
                if (_inId)
                {
                    onId(_id, timestamp);
                }
                (_matched, _id, _inId) = (0, 0, false);
            }
            else if (_inId)
            {
                if (b is >= (byte)'0' and <= (byte)'9')
                {
                    _id = _id * 10 + (b - '0');
                }
            }
            else if (_matched >= 0)
            {
                _matched = b == IdField[_matched] ? _matched + 1 : -1;
                _inId = _matched == IdField.Length;
            }
        }
    }
}
