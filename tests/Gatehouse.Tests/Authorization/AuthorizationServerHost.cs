using System.Collections.Concurrent;
using Gatehouse.Cli;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Server;

namespace Gatehouse.Tests.Authorization;

/// <summary>
/// A gateway with the built-in users alice (sales) and bob (engineering), three OAuth clients and two protected MCP
/// server routes (<c>/sales</c>, <c>/tickets</c>) in front of a real MCP server that records the headers it receives.
/// </summary>
internal sealed class AuthorizationServerHost : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";
    public const string PublicClient = "test-cli";
    public const string PublicRedirect = "http://127.0.0.1/cb";
    public const string ConfidentialClient = "confidential-app";
    public const string ConfidentialSecret = "s3cret-s3cret-s3cret-s3cret";
    public const string ConfidentialRedirect = "https://app.example.com/callback";
    public const string ResourceClient = "sales-rs";
    public const string ResourceSecret = "rs-s3cret-rs-s3cret-rs";

    private static readonly string s_hash = UsersCommand.HashPassword(Password);

    private AuthorizationServerHost(TestGateway gateway, TestUpstream upstream, ConcurrentQueue<IHeaderDictionary> received)
    {
        Gateway = gateway;
        Upstream = upstream;
        Received = received;
    }

    public TestGateway Gateway { get; }

    public TestUpstream Upstream { get; }

    /// <summary>The request headers every MCP request reaching the upstream carried.</summary>
    public ConcurrentQueue<IHeaderDictionary> Received { get; }

    public string SalesResource => Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/sales";

    public string TicketsResource => Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/tickets";

    public OAuthFlow NewFlow() => new(Gateway.BaseUri);

    public static async Task<AuthorizationServerHost> StartAsync(string? authorizationServerYaml = null, string? extraTopLevelYaml = null, string? storageYaml = null)
    {
        var received = new ConcurrentQueue<IHeaderDictionary>();
        var upstream = await TestUpstream.StartAsync(
            app =>
            {
                app.Use((context, next) =>
                {
                    // The authorization endpoint asks each upstream for RFC 9728 metadata (does it have OAuth of its
                    // own?): those GETs are not MCP requests.
                    if (!context.Request.Path.StartsWithSegments("/.well-known"))
                    {
                        received.Enqueue(new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)));
                    }

                    return next(context);
                });
                app.MapMcp("/sales");
                app.MapMcp("/tickets");
            },
            services => services.AddSingleton(new TestMcpServer.InstanceName("upstream")).AddMcpServer()
                .WithHttpTransport(options => options.Stateless = true)
                .WithTools<TestMcpServer.EchoTools>());

        var topLevel = $$"""
            {{storageYaml}}
            idp:
              provider: builtin
              users:
                - {email: alice@example.com, name: Alice, groups: [sales], password_hash: {{s_hash}}}
                - {email: bob@example.com, name: Bob, groups: [engineering], password_hash: {{s_hash}}}
            authorization_server:
              refresh_token_reuse_leeway: 0s
            {{Indent(authorizationServerYaml)}}
            clients:
              - client_id: {{PublicClient}}
                name: Test CLI
                redirect_uris: [{{PublicRedirect}}]
              - client_id: {{ConfidentialClient}}
                name: Confidential App
                client_secret: {{ConfidentialSecret}}
                redirect_uris: [{{ConfidentialRedirect}}]
              - client_id: {{ResourceClient}}
                client_secret: {{ResourceSecret}}
                introspect_routes: [sales]
            {{extraTopLevelYaml}}
            """;
        var routes = $"""
              - name: sales
                description: Sales figures
                from: http://127.0.0.1
                prefix: /sales
                to: {upstream.Origin}
                mcp: {"{server: {}}"}
              - name: tickets
                from: http://127.0.0.1
                prefix: /tickets
                to: {upstream.Origin}
                mcp: {"{server: {}}"}
            """;
        try
        {
            var gateway = await TestGateway.StartAsync(routes, topLevel);
            return new AuthorizationServerHost(gateway, upstream, received);
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>An MCP client (C# SDK) on a route with a bearer token.</summary>
    public Task<McpClient> ConnectAsync(string path, string bearer) =>
        TestMcpServer.ConnectAsync(new Uri(Gateway.BaseUri, path), headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + bearer });

    /// <summary>A bare JSON-RPC initialize POST, for asserting statuses and headers.</summary>
    public async Task<HttpResponseMessage> PostInitializeAsync(string path, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }

        return await Gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>Polls until <paramref name="condition"/> holds (revocation reaches replicas within a poll), bounded (10 s unless told).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 10)
    {
        for (var attempt = 0; attempt < seconds * 10; attempt++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        throw new Xunit.Sdk.XunitException($"Not within {seconds} s: {what}");
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    private static string Indent(string? yaml) =>
        yaml is null ? "" : string.Join('\n', yaml.Split('\n').Select(line => "  " + line));
}
