using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.WebUtilities;

namespace Gatehouse.Cli;

/// <summary>
/// <c>gatehouse probe URL</c>: what an MCP server's OAuth advertises (RFC 9728, RFC 8414, registration options) and
/// whether Gatehouse could connect to it, using the same discovery and token code as the gateway. With
/// <c>--non-interactive</c> it completes an authorization that needs no login page (the authorization endpoint
/// redirects straight to the loopback redirect URI), exchanges the code and calls <c>initialize</c> and
/// <c>tools/list</c> with the token. Tokens are never printed.
/// </summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "The MCP server's URL (its Streamable HTTP endpoint)." };
        var nonInteractive = new Option<bool>("--non-interactive") { Description = "Authorize without a browser (only when the provider shows no login page), then call initialize and tools/list." };
        var clientId = new Option<string?>("--client-id") { Description = "A client id registered at the provider (else dynamic registration)." };
        var clientSecret = new Option<string?>("--client-secret") { Description = "Its secret, if it has one." };
        var command = new Command("probe", "Report what an MCP server's OAuth advertises and whether Gatehouse could connect to it.") { url, nonInteractive, clientId, clientSecret };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (!Uri.TryCreate(parse.GetRequiredValue(url), UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("Give the MCP server's http(s) URL, such as https://mcp.example.com/mcp.");
                return 2;
            }

            try
            {
                return await ProbeAsync(target, parse.GetValue(nonInteractive), parse.GetValue(clientId), parse.GetValue(clientSecret), output, cancellationToken);
            }
            catch (UpstreamOAuthException ex)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"Gatehouse could not connect: {ex.Message}.");
                return 1;
            }
        });
        return command;
    }

    private static async Task<int> ProbeAsync(Uri url, bool nonInteractive, string? clientId, string? clientSecret, TextWriter output, CancellationToken cancellationToken)
    {
        using var http = new UpstreamHttp();
        var time = TimeProvider.System;
        var discovery = new UpstreamDiscovery(http, time);

        // The administrator named this host: it may be on a private address, like a route's own `to` host.
        var policy = new OutboundPolicy([url.Host], []);
        var challenge = await discovery.ChallengeAsync(url, policy, cancellationToken);
        await output.WriteLineAsync($"MCP server: {url}");
        if (challenge is null)
        {
            await output.WriteLineAsync("  answers without asking for a token: Gatehouse needs no upstream OAuth for it.");
            return 0;
        }

        await output.WriteLineAsync($"  401 challenge: resource_metadata={challenge.ResourceMetadata ?? "(none)"}, scope={Join(challenge.Scopes)}");
        var server = await discovery.DiscoverFromUpstreamAsync(url, null, policy with { TrustedHosts = TrustedHosts(url, challenge) }, challenge, cancellationToken)
            ?? throw new UpstreamOAuthException(UpstreamFailure.Discovery, "the MCP server stopped asking for OAuth");
        await output.WriteLineAsync($"Protected resource metadata: {server.ResourceMetadataUrl?.ToString() ?? "(none)"}");
        await output.WriteLineAsync($"  resource: {server.Resource}");
        await output.WriteLineAsync($"  scopes_supported: {Join(server.ResourceScopes)}");
        await output.WriteLineAsync($"Authorization server: {server.Issuer}");
        await output.WriteLineAsync($"  metadata: {server.MetadataUrl}");
        await output.WriteLineAsync($"  authorization_endpoint: {server.AuthorizationEndpoint}");
        await output.WriteLineAsync($"  token_endpoint: {server.TokenEndpoint}");
        await output.WriteLineAsync($"  registration_endpoint: {server.RegistrationEndpoint?.ToString() ?? "(none)"}");
        await output.WriteLineAsync($"  revocation_endpoint: {server.RevocationEndpoint?.ToString() ?? "(none)"}");
        await output.WriteLineAsync($"  client_id_metadata_document_supported: {(server.ClientIdMetadataDocumentSupported ? "yes" : "no")}");
        await output.WriteLineAsync($"  authorization_response_iss_parameter_supported: {(server.IssParameterSupported ? "yes" : "no")}");
        await output.WriteLineAsync($"  token_endpoint_auth_methods_supported: {Join(server.TokenEndpointAuthMethods)}");
        var identity = clientId is not null ? "pre-registered client (upstream_oauth2.client_id)"
            : server.ClientIdMetadataDocumentSupported ? "Gatehouse's Client ID Metadata Document"
            : server.RegistrationEndpoint is not null ? "dynamic client registration (RFC 7591)"
            : null;
        if (identity is null)
        {
            await output.WriteLineAsync("Gatehouse can connect: no (no client identity: register Gatehouse there and set upstream_oauth2.client_id)");
            return 1;
        }

        await output.WriteLineAsync($"Gatehouse can connect: yes, as a {identity}");
        return nonInteractive ? await AuthorizeAsync(url, server, policy with { TrustedHosts = TrustedHosts(url, challenge) }, clientId, clientSecret, http, time, output, cancellationToken) : 0;
    }

    /// <summary>The MCP server's host and, when they are on loopback too (a local test setup), its authorization server's.</summary>
    private static List<string> TrustedHosts(Uri url, BearerChallenge challenge)
    {
        var hosts = new List<string> { url.Host };
        if (Authorization.RedirectUriRules.IsLoopbackHost(url.Host))
        {
            hosts.AddRange(["localhost", "127.0.0.1", "[::1]", "::1"]);
        }

        if (challenge.ResourceMetadata is not null && Uri.TryCreate(challenge.ResourceMetadata, UriKind.Absolute, out var metadata) && metadata.Host == url.Host)
        {
            hosts.Add(metadata.Host);
        }

        return hosts;
    }

    private static async Task<int> AuthorizeAsync(
        Uri url, UpstreamAuthServer server, OutboundPolicy policy, string? clientId, string? clientSecret, UpstreamHttp http, TimeProvider time,
        TextWriter output, CancellationToken cancellationToken)
    {
        // A loopback redirect URI (RFC 8252 §7.3), its port held open for the length of the probe.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var redirectUri = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/callback";
        var tokenClient = new UpstreamTokenClient(http, time);
        string? authMethod = null;
        if (clientId is null)
        {
            if (server.RegistrationEndpoint is null)
            {
                await output.WriteLineAsync("Non-interactive authorization needs --client-id here (the server offers no dynamic registration).");
                return 1;
            }

            var registered = await tokenClient.RegisterAsync(server.RegistrationEndpoint, policy, redirectUri, server.TokenEndpointAuthMethods, cancellationToken);
            (clientId, clientSecret, authMethod) = (registered.ClientId!, registered.ClientSecret, registered.TokenEndpointAuthMethod);
            await output.WriteLineAsync($"Registered as client {clientId}");
        }

        var verifier = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var state = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri,
            ["state"] = state,
            ["code_challenge"] = WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
            ["resource"] = server.Resource,
        };
        if ((server.ChallengeScopes ?? server.ResourceScopes) is { Count: > 0 } scopes)
        {
            query["scope"] = string.Join(' ', scopes);
        }

        using var authorize = new HttpRequestMessage(HttpMethod.Get, QueryHelpers.AddQueryString(server.AuthorizationEndpoint.AbsoluteUri, query));
        using var answer = await http.SendHeadersAsync(authorize, policy, "The authorization endpoint", cancellationToken);
        var location = answer.Headers.Location;
        if (location is null || !location.IsAbsoluteUri || !location.AbsoluteUri.StartsWith(redirectUri, StringComparison.Ordinal))
        {
            await output.WriteLineAsync($"The authorization endpoint answered {(int)answer.StatusCode} without redirecting to the callback: it needs a browser (a login or consent page).");
            return 2;
        }

        var response = QueryHelpers.ParseQuery(location.Query);
        if (response.TryGetValue("error", out var error))
        {
            await output.WriteLineAsync($"The authorization server refused: {error}");
            return 1;
        }

        // RFC 6749 §10.12 and RFC 9207 §2.4, as the gateway's callback checks them.
        if (response["state"] != state || (response.TryGetValue("iss", out var iss) ? iss != server.Issuer : server.IssParameterSupported))
        {
            await output.WriteLineAsync("The authorization response's state or iss does not match: refused.");
            return 1;
        }

        var tokens = await tokenClient.ExchangeCodeAsync(new TokenEndpointClient(server.TokenEndpoint, clientId, clientSecret, authMethod, server.Resource),
            policy, response["code"]!, redirectUri, verifier, cancellationToken);
        await output.WriteLineAsync($"Token: received ({(tokens.RefreshToken is null ? "no refresh token" : "with a refresh token")}, expires {tokens.ExpiresAt?.ToString("O") ?? "unknown"})");
        return await CallMcpAsync(url, policy, tokens.AccessToken, http, output, cancellationToken);
    }

    /// <summary>MCP <c>initialize</c>, <c>notifications/initialized</c> and <c>tools/list</c> over Streamable HTTP with the token.</summary>
    private static async Task<int> CallMcpAsync(Uri url, OutboundPolicy policy, string accessToken, UpstreamHttp http, TextWriter output, CancellationToken cancellationToken)
    {
        string? session = null;
        string? protocol = null;
        async Task<JsonElement?> SendAsync(string body, bool expectAnswer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            if (session is not null)
            {
                request.Headers.Add("Mcp-Session-Id", session);
            }

            if (protocol is not null)
            {
                request.Headers.Add("MCP-Protocol-Version", protocol);
            }

            var response = await http.SendAsync(request, policy, "The MCP server", cancellationToken);
            if (!((int)response.Status is >= 200 and < 300))
            {
                throw new UpstreamOAuthException(UpstreamFailure.Rejected, $"The MCP server answered {(int)response.Status} to the token");
            }

            session ??= response.Headers.TryGetValues("Mcp-Session-Id", out var ids) ? ids.FirstOrDefault() : null;
            if (!expectAnswer)
            {
                return null;
            }

            var text = Encoding.UTF8.GetString(response.Body);
            if (response.ContentHeaders.ContentType?.MediaType == "text/event-stream")
            {
                // The answer is the data of an event; MCP servers send it as one `data:` line.
                text = text.Split('\n').Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith("data:", StringComparison.Ordinal))?[5..].Trim() ?? "";
            }

            return JsonDocument.Parse(text).RootElement.Clone();
        }

        var initialized = await SendAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"gatehouse-probe","version":"0.1"}}}""", true);
        var result = initialized!.Value.GetProperty("result");
        protocol = result.TryGetProperty("protocolVersion", out var version) ? version.GetString() : null;
        var serverName = result.TryGetProperty("serverInfo", out var info) && info.TryGetProperty("name", out var name) ? name.GetString() : "?";
        await output.WriteLineAsync($"initialize: {serverName}, protocol {protocol}");
        await SendAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", false);
        var listed = await SendAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", true);
        var tools = listed!.Value.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        await output.WriteLineAsync($"tools/list: {string.Join(", ", tools)}");
        return 0;
    }

    private static string Join(IReadOnlyList<string>? values) => values is { Count: > 0 } ? string.Join(' ', values) : "(none)";
}
