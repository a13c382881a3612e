using System.Net;
using System.Text.Encodings.Web;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Tests.Proxy;

/// <summary>
/// The authentication middleware (OpenIddict's server and client run inside it) is kept off the proxy hot path: it
/// runs once on the authorization server's and sign-in paths, never on a proxied request. WebApplication adds its
/// own UseAuthentication() at the head of the pipeline unless told it is set, which once made it run everywhere.
/// </summary>
public sealed class AuthenticationPipelineTests
{
    [Fact]
    public async Task AuthenticationMiddleware_ProxiedRequestNeverAuthorizationServerPathOnce()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/app/hello", () => "hello"));
        var counter = new RequestHandlerCounter();
        await using var gateway = await TestGateway.StartAsync(ErrorShapeTests.Route("app", upstream.Origin, mcp: false), configureServices: services =>
        {
            services.AddSingleton(counter);
            services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, CountingHandler>("counting", _ => { });
        });

        Assert.Equal("hello", await gateway.Client.GetStringAsync("/app/hello", TestContext.Current.CancellationToken));
        Assert.Equal(0, counter.Count);

        // A path of the authorization server that OpenIddict does not answer, so every scheme is offered the request.
        using var response = await gateway.Client.GetAsync("/.gatehouse/oauth/no-such-endpoint", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(1, counter.Count);
    }

    private sealed class RequestHandlerCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Increment() => Interlocked.Increment(ref _count);
    }

    /// <summary>A scheme that only counts how often the authentication middleware offers it the request.</summary>
    private sealed class CountingHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, RequestHandlerCounter counter)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder), IAuthenticationRequestHandler
    {
        public Task<bool> HandleRequestAsync()
        {
            counter.Increment();
            return Task.FromResult(false);
        }

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}
