namespace Gatehouse.Mcp;

/// <summary>
/// Cuts an event stream into whole events as bytes arrive (HTML Living Standard, "Server-sent events", §9.2.5: an
/// event ends at an empty line; lines end with CRLF, LF or CR). Events are returned as the exact bytes received, so
/// an event the gateway does not change is passed on byte for byte.
/// </summary>
internal sealed class ServerSentEventSplitter
{
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_end + bytes.Length > _buffer.Length)
        {
            var pending = _end - _start;
            var grown = pending + bytes.Length > _buffer.Length ? new byte[Math.Max(_buffer.Length * 2, pending + bytes.Length)] : _buffer;
            Array.Copy(_buffer, _start, grown, 0, pending);
            _buffer = grown;
            _start = 0;
            _end = pending;
        }

        bytes.CopyTo(_buffer.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>The next complete event, terminator included, or false when none is complete yet.</summary>
    public bool TryTakeEvent(out ReadOnlyMemory<byte> rawEvent)
    {
        var span = _buffer.AsSpan(_start, _end - _start);
        var lineStart = 0;
        var i = 0;
        while (i < span.Length)
        {
            var b = span[i];
            if (b is not ((byte)'\n' or (byte)'\r'))
            {
                i++;
                continue;
            }

            // A CR at the very end may be the first half of a CRLF: wait for the next byte.
            if (b == '\r' && i + 1 == span.Length)
            {
                break;
            }

            var terminatorLength = b == '\r' && span[i + 1] == '\n' ? 2 : 1;
            var empty = i == lineStart;
            i += terminatorLength;
            if (empty)
            {
                rawEvent = _buffer.AsMemory(_start, i).ToArray();
                _start += i;
                if (_start == _end)
                {
                    _start = _end = 0;
                }

                return true;
            }

            lineStart = i;
        }

        rawEvent = default;
        return false;
    }

    /// <summary>Whatever is buffered (an event the stream never finished).</summary>
    public ReadOnlyMemory<byte> TakeRemainder()
    {
        var rest = _buffer.AsMemory(_start, _end - _start).ToArray();
        _start = _end = 0;
        return rest;
    }

    /// <summary>
    /// The event's data (its <c>data:</c> lines joined with LF, §9.2.6), or null when it has none, and its other
    /// lines (<c>event:</c>, <c>id:</c>, <c>retry:</c>, comments) as received.
    /// </summary>
    /// <remarks>
    /// The returned memory points into <paramref name="rawEvent"/> when the event has one <c>data:</c> line (what MCP
    /// servers send), so the caller must not reuse that buffer while it uses them; several lines are joined in a copy.
    /// </remarks>
    public static (ReadOnlyMemory<byte>? Data, List<ReadOnlyMemory<byte>> OtherLines) Parse(ReadOnlyMemory<byte> rawEvent)
    {
        var others = new List<ReadOnlyMemory<byte>>(2);
        ReadOnlyMemory<byte>? first = null;
        List<byte>? joined = null;
        var span = rawEvent.Span;
        var lineStart = 0;
        for (var i = 0; i <= rawEvent.Length; i++)
        {
            if (i < rawEvent.Length && span[i] is not ((byte)'\n' or (byte)'\r'))
            {
                continue;
            }

            var line = rawEvent.Slice(lineStart, i - lineStart);
            if (i < rawEvent.Length && span[i] == '\r' && i + 1 < rawEvent.Length && span[i + 1] == '\n')
            {
                i++;
            }

            lineStart = i + 1;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.Span.StartsWith("data:"u8))
            {
                var value = line[5..];
                if (value.Length > 0 && value.Span[0] == ' ')
                {
                    value = value[1..];
                }

                if (first is null)
                {
                    first = value;
                }
                else
                {
                    joined ??= [.. first.Value.Span];
                    joined.Add((byte)'\n');
                    joined.AddRange(value.Span);
                }
            }
            else
            {
                others.Add(line);
            }
        }

        return (joined is not null ? new ReadOnlyMemory<byte>(joined.ToArray()) : first, others);
    }
}
