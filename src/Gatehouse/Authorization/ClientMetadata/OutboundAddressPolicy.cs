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
}

/// <summary>The fetch was refused because of where it would have gone.</summary>
internal sealed class OutboundAddressRefusedException(string message) : Exception(message);
