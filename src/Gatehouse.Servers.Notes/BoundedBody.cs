using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Servers.Notes;

internal static class BoundedBody
{
    /// <summary>
    /// The request body, or null when it is longer than <paramref name="maxBytes"/>: reading stops there, so an
    /// oversized body is never held in memory.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var content = new MemoryStream(request.ContentLength is { } length ? (int)length : 0);
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (content.Length + read > maxBytes)
                {
                    return null;
                }

                content.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return content.ToArray();
    }
}
