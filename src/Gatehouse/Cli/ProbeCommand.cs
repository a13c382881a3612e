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
        var callFirstTool = new Option<bool>("--call-first-tool") { Description = "With --non-interactive, also call the first listed tool with no arguments (for test servers: a tool may change data)." };
        var command = new Command("probe", "Report what an MCP server's OAuth advertises and whether Gatehouse could connect to it.") { url, nonInteractive, clientId, clientSecret, callFirstTool };
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
                var options = new ProbeOptions(parse.GetValue(nonInteractive), parse.GetValue(clientId), parse.GetValue(clientSecret), parse.GetValue(callFirstTool));
                return await ProbeAsync(target, options, output, cancellationToken);
            }
            catch (UpstreamOAuthException ex)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"Gatehouse could not connect: {ex.Message}.");
                return 1;
            }
        });
        return command;
    }

    private sealed record ProbeOptions(bool NonInteractive, string? ClientId, string? ClientSecret, bool CallFirstTool);

    /// <summary>Authorizations one probe may make: the first, and step-ups (MCP authorization, "Step-Up Authorization Flow").</summary>
    private const int MaxAuthorizations = 3;

    private static async Task<int> ProbeAsync(Uri url, ProbeOptions options, TextWriter output, CancellationToken cancellationToken)
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
            await output.WriteLineAsync("  answers initialize without asking for a token.");
            if (!options.NonInteractive)
            {
                await output.WriteLineAsync("  Gatehouse needs no upstream OAuth for it unless later requests ask for a token (try --non-interactive).");
                return 0;
            }
        }
        else
        {
            var server = await ReportAsync(url, challenge, discovery, policy, options, output, cancellationToken);
            if (server is null)
            {
                return 1;
            }

            if (!options.NonInteractive)
            {
                return 0;
            }
        }

        var authorizations = 0;
        string? registeredId = null, registeredSecret = null, registeredMethod = null;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var redirectUri = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/callback";

        // Called on every 401, and on 403 insufficient_scope: authorize (again) with what the challenge asks for.
        async Task<string?> AuthorizeForAsync(BearerChallenge refusal)
        {
            if (++authorizations > MaxAuthorizations)
            {
                await output.WriteLineAsync($"Giving up after {MaxAuthorizations} authorizations: the server keeps refusing the token.");
                return null;
            }

            var trusted = policy with { TrustedHosts = TrustedHosts(url, refusal) };
            var server = await discovery.DiscoverFromUpstreamAsync(url, null, trusted, refusal, cancellationToken)
                ?? throw new UpstreamOAuthException(UpstreamFailure.Discovery, "the MCP server's challenge leads to no authorization server");
            if (challenge is null && authorizations == 1)
            {
                await output.WriteLineAsync($"  a later request was refused: {refusal.Error ?? "401"}, scope={Join(refusal.Scopes)}");
            }

            var clientId = options.ClientId ?? registeredId;
            var clientSecret = options.ClientSecret ?? registeredSecret;
            var tokenClient = new UpstreamTokenClient(http, time);
            if (clientId is null)
            {
                if (server.RegistrationEndpoint is null)
                {
                    await output.WriteLineAsync("Non-interactive authorization needs --client-id here (the server offers no dynamic registration).");
                    return null;
                }

                var registered = await tokenClient.RegisterAsync(server.RegistrationEndpoint, trusted, redirectUri, server.TokenEndpointAuthMethods, cancellationToken);
                (registeredId, registeredSecret, registeredMethod) = (registered.ClientId!, registered.ClientSecret, registered.TokenEndpointAuthMethod);
                (clientId, clientSecret) = (registeredId, registeredSecret);
                await output.WriteLineAsync($"Registered as client {clientId}");
            }

            return await AuthorizeAsync(server, trusted, new TokenEndpointClient(server.TokenEndpoint, clientId, clientSecret, registeredMethod, server.Resource),
                redirectUri, refusal.Scopes ?? server.ResourceScopes, tokenClient, http, output, cancellationToken);
        }

        return await CallMcpAsync(url, policy with { TrustedHosts = challenge is null ? [url.Host] : TrustedHosts(url, challenge) }, AuthorizeForAsync, options.CallFirstTool, http, output, cancellationToken);
    }

    /// <summary>Prints what the server's OAuth advertises; null when Gatehouse could not connect.</summary>
    private static async Task<UpstreamAuthServer?> ReportAsync(
        Uri url, BearerChallenge challenge, UpstreamDiscovery discovery, OutboundPolicy policy, ProbeOptions options, TextWriter output, CancellationToken cancellationToken)
    {
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
        var identity = options.ClientId is not null ? "pre-registered client (upstream_oauth2.client_id)"
            : server.ClientIdMetadataDocumentSupported ? "Gatehouse's Client ID Metadata Document"
            : server.RegistrationEndpoint is not null ? "dynamic client registration (RFC 7591)"
            : null;
        if (identity is null)
        {
            await output.WriteLineAsync("Gatehouse can connect: no (no client identity: register Gatehouse there and set upstream_oauth2.client_id)");
            return null;
        }

        await output.WriteLineAsync($"Gatehouse can connect: yes, as a {identity}");
        return server;
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

    /// <summary>One authorization code flow without a browser: the access token, or null (reported) when it cannot finish.</summary>
    private static async Task<string?> AuthorizeAsync(
        UpstreamAuthServer server, OutboundPolicy policy, TokenEndpointClient client, string redirectUri, IReadOnlyList<string>? scopes,
        UpstreamTokenClient tokenClient, UpstreamHttp http, TextWriter output, CancellationToken cancellationToken)
    {
        var verifier = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var state = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = client.ClientId,
            ["redirect_uri"] = redirectUri,
            ["state"] = state,
            ["code_challenge"] = WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
            ["resource"] = server.Resource,
        };
        if (scopes is { Count: > 0 })
        {
            query["scope"] = string.Join(' ', scopes);
        }

        using var authorize = new HttpRequestMessage(HttpMethod.Get, QueryHelpers.AddQueryString(server.AuthorizationEndpoint.AbsoluteUri, query));
        using var answer = await http.SendHeadersAsync(authorize, policy, "The authorization endpoint", cancellationToken);
        var location = answer.Headers.Location;
        if (location is null || !location.IsAbsoluteUri || !location.AbsoluteUri.StartsWith(redirectUri, StringComparison.Ordinal))
        {
            await output.WriteLineAsync($"The authorization endpoint answered {(int)answer.StatusCode} without redirecting to the callback: it needs a browser (a login or consent page).");
            return null;
        }

        var response = QueryHelpers.ParseQuery(location.Query);
        if (response.TryGetValue("error", out var error))
        {
            await output.WriteLineAsync($"The authorization server refused: {error}");
            return null;
        }

        // RFC 6749 §10.12 and RFC 9207 §2.4, as the gateway's callback checks them.
        if (response["state"] != state || (response.TryGetValue("iss", out var iss) ? iss != server.Issuer : server.IssParameterSupported))
        {
            await output.WriteLineAsync("The authorization response's state or iss does not match: refused.");
            return null;
        }

        var tokens = await tokenClient.ExchangeCodeAsync(client, policy, response["code"]!, redirectUri, verifier, cancellationToken);
        await output.WriteLineAsync($"Token: received for scope {tokens.Scope ?? Join(scopes)} ({(tokens.RefreshToken is null ? "no refresh token" : "with a refresh token")}, expires {tokens.ExpiresAt?.ToString("O") ?? "unknown"})");
        return tokens.AccessToken;
    }

    /// <summary>
    /// MCP <c>initialize</c>, <c>notifications/initialized</c>, <c>tools/list</c> (and optionally <c>tools/call</c>) over
    /// Streamable HTTP. A 401, or a 403 with <c>insufficient_scope</c> (RFC 6750 §3.1), runs an authorization with what
    /// the challenge asks for and retries the request once.
    /// </summary>
    private static async Task<int> CallMcpAsync(
        Uri url, OutboundPolicy policy, Func<BearerChallenge, Task<string?>> authorize, bool callFirstTool, UpstreamHttp http, TextWriter output, CancellationToken cancellationToken)
    {
        string? session = null, protocol = null, accessToken = null;
        async Task<JsonElement?> SendAsync(string body, bool expectAnswer)
        {
            for (var attempt = 0; ; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Accept.ParseAdd("application/json, text/event-stream");
                if (accessToken is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
                }

                if (session is not null)
                {
                    request.Headers.Add("Mcp-Session-Id", session);
                }

                if (protocol is not null)
                {
                    request.Headers.Add("MCP-Protocol-Version", protocol);
                }

                var response = await http.SendAsync(request, policy, "The MCP server", cancellationToken);
                var refusal = BearerChallenge.From(response.Headers);
                if (attempt == 0 && (response.Status == HttpStatusCode.Unauthorized ||
                    (response.Status == HttpStatusCode.Forbidden && refusal?.Error == "insufficient_scope")))
                {
                    accessToken = await authorize(refusal ?? new BearerChallenge(null, null, null))
                        ?? throw new UpstreamOAuthException(UpstreamFailure.Rejected, "no token could be obtained");
                    continue;
                }

                if (!((int)response.Status is >= 200 and < 300))
                {
                    throw new UpstreamOAuthException(UpstreamFailure.Rejected, $"The MCP server answered {(int)response.Status}{(refusal?.Error is { } e ? " (" + e + ")" : "")}");
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
        }

        var initialized = await SendAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"gatehouse-probe","version":"0.1"}}}""", true);
        var result = initialized!.Value.GetProperty("result");
        protocol = result.TryGetProperty("protocolVersion", out var version) ? version.GetString() : null;
        var serverName = result.TryGetProperty("serverInfo", out var info) && info.TryGetProperty("name", out var name) ? name.GetString() : "?";
        await output.WriteLineAsync($"initialize: {serverName}, protocol {protocol}");
        await SendAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", false);
        var listed = await SendAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", true);
        var tools = listed!.Value.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToList();
        await output.WriteLineAsync($"tools/list: {string.Join(", ", tools)}");
        if (callFirstTool && tools.Count > 0)
        {
            var call = JsonEncodedText.Encode(tools[0]).ToString();
            var called = await SendAsync("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"" + call + "\",\"arguments\":{}}}", true);
            await output.WriteLineAsync($"tools/call {tools[0]}: {(called!.Value.TryGetProperty("error", out _) ? "JSON-RPC error" : "answered")}");
        }

        return 0;
    }

    private static string Join(IReadOnlyList<string>? values) => values is { Count: > 0 } ? string.Join(' ', values) : "(none)";
}
