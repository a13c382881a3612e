using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Serialization;
using Gatehouse.Chat.Identity;

namespace Gatehouse.Chat.Gateway;

/// <summary>One of the user's MCP servers, as the routes API lists it (docs/portal.md, <c>GET /.gatehouse/mcp/routes</c>).</summary>
public sealed record McpServerEntry
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    public required string Url { get; init; }

    public bool Connected { get; init; }

    [JsonPropertyName("needs_oauth")]
    public bool NeedsOAuth { get; init; }
}

internal sealed record McpServerList(IReadOnlyList<McpServerEntry> Servers);

[JsonSerializable(typeof(McpServerList))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;

/// <summary>Thrown when the gateway refuses the TE: it expired (five minutes), or the user signed out.</summary>
internal sealed class TeRejectedException() : Exception("Gatehouse no longer accepts this page's sign-in token. Reload the page to get a fresh one.");

/// <summary>The routes API, called with the user's TE.</summary>
internal sealed class GatewayClient(HttpClient http, ChatAppOptions options)
{
    public const string RoutesPath = ".gatehouse/mcp/routes";
    public const string ConnectPath = ".gatehouse/mcp/connect";

    public async Task<IReadOnlyList<McpServerEntry>> ListServersAsync(ChatUser user, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.GatewayOrigin, RoutesPath));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Te);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            throw new TeRejectedException();
        }

        response.EnsureSuccessStatusCode();
        var list = await response.Content.ReadFromJsonAsync(GatewayJsonContext.Default.McpServerList, cancellationToken);
        return list?.Servers ?? [];
    }

    /// <summary>
    /// Where the browser goes to connect a server that needs the user's own account at a provider: the gateway runs
    /// the provider's authorization and sends the browser back to the chat.
    /// </summary>
    public string ConnectUrl(McpServerEntry server) =>
        new Uri(options.GatewayOrigin, ConnectPath) +
        "?server=" + Uri.EscapeDataString(server.Url) + "&redirect_url=" + Uri.EscapeDataString(options.PublicUrl.ToString());
}

internal static class GatewayClientExtensions
{
    public static IServiceCollection AddGatewayClient(this IServiceCollection services)
    {
        services.AddHttpClient<GatewayClient>();

        services.AddHttpClient(McpSessions.HttpClientName);
        services.AddScoped<McpSessions>();
        return services;
    }
}
