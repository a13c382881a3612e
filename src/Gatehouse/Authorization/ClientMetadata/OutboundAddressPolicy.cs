using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Authorization.ClientMetadata;

/// <summary>
/// Which addresses the gateway may fetch metadata from on a client's say-so. A client chooses the URL, so without
/// this it could make the gateway reach its own loopback services, the cloud metadata endpoint (169.254.169.254)
/// or the private network (server-side request forgery).
/// </summary>
internal static class OutboundAddressPolicy
{
    /// <summary>True for an address on the public internet; false for loopback, private, link-local and reserved ranges.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127 ||
                (b[0] == 100 && b[1] >= 64 && b[1] <= 127) ||   // 100.64.0.0/10 carrier-grade NAT (RFC 6598)
                (b[0] == 169 && b[1] == 254) ||                  // link-local, cloud metadata (RFC 3927)
                (b[0] == 172 && b[1] >= 16 && b[1] <= 31) ||     // RFC 1918
                (b[0] == 192 && b[1] == 168) ||                  // RFC 1918
                (b[0] == 192 && b[1] == 0 && b[2] == 0) ||       // IETF protocol assignments (RFC 6890)
                (b[0] == 198 && (b[1] == 18 || b[1] == 19)) ||   // benchmarking (RFC 2544)
                b[0] >= 224);                                    // multicast and reserved
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast ||
                (b[0] & 0xfe) == 0xfc ||                         // unique local fc00::/7 (RFC 4193)
                (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) || // documentation 2001:db8::/32
                address.IsIPv6Teredo || address.IsIPv6UniqueLocal);
        }

        return false;
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that resolves the host itself and connects only to public
    /// addresses unless <paramref name="allowPrivate"/>: the check applies to the address actually connected to, so
    /// DNS rebinding cannot slip through.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var usable = addresses.Where(a => allowPrivate || IsPublic(a)).ToArray();
        if (usable.Length == 0)
        {
            throw new OutboundAddressRefusedException(
                $"is on a private, loopback or link-local address ({string.Join(", ", addresses.Select(a => a.ToString()))}), which this server does not fetch from");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(usable, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A handler for URLs someone else chose (a client's metadata document, an upstream's OAuth endpoints): no
    /// redirects, cookies, proxy or decompression, and only the addresses <paramref name="allowPrivate"/> permits.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, Func<SocketsHttpConnectionContext, bool> allowPrivate) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = connectTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context, allowPrivate(context), cancellationToken),
    };

    /// <summary>The refusal behind a failed request, when that is why it failed.</summary>
    public static OutboundAddressRefusedException? FindRefusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is OutboundAddressRefusedException refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    /// <summary>The response body, or null when it is larger than <paramref name="maxBytes"/> (never read past that).</summary>
    public static async Task<byte[]?> ReadCappedAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > maxBytes)
        {
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return total > maxBytes ? null : buffer[..total];
    }
}

/// <summary>The fetch was refused because of where it would have gone.</summary>
internal sealed class OutboundAddressRefusedException(string message) : Exception(message);
