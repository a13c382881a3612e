using Gatehouse.Upstream;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gatehouse.Proxy;

internal static class ProxyExtensions
{
    public static IServiceCollection AddGatehouseProxy(this IServiceCollection services)
    {
        services.AddSingleton<GatewayState>();
        services.AddSingleton<RateLimitRegistry>();
        services.AddGatehouseUpstreamOAuth();
        services.AddReverseProxy()
            .LoadFromMemory([], [])
            .AddTransforms(context =>
            {
                context.AddResponseTransform(KeepGatewayCorsHeaders);
                context.AddResponseTransform(StartEventStreamAsync);
                context.AddResponseTransform(Mcp.McpResponseInspector.TransformAsync);
            });
        services.AddSingleton<IForwarderHttpClientFactory, GatewayForwarderHttpClientFactory>();
        services.AddSingleton<ISessionAffinityPolicy, McpSessionAffinityPolicy>();
        services.AddRequestTimeouts();
        services.AddProblemDetails();
        return services;
    }

    /// <summary>
    /// On MCP server routes the gateway owns CORS (it validated the Origin): an upstream's own Access-Control-*
    /// headers would be appended to the gateway's, and browsers refuse a response with two allowed origins.
    /// </summary>
    private static ValueTask KeepGatewayCorsHeaders(ResponseTransformContext context)
    {
        var http = context.HttpContext;
        var origin = http.Request.Headers.Origin;
        if (origin.Count == 0 || http.Features.Get<CompiledRoute>() is not { IsMcpServer: true })
        {
            return ValueTask.CompletedTask;
        }

        var headers = http.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.AccessControlExposeHeaders = McpRequestGuard.ExposedHeaders;
        headers.Remove(HeaderNames.AccessControlAllowCredentials);
        headers.Remove(HeaderNames.AccessControlAllowMethods);
        headers.Remove(HeaderNames.AccessControlAllowHeaders);
        headers.Remove(HeaderNames.AccessControlMaxAge);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// An event stream's headers go to the client as soon as the upstream sends them. YARP would otherwise hold them
    /// until the first event, and an MCP GET stream may sit without events for hours while its client waits.
    /// </summary>
    private static async ValueTask StartEventStreamAsync(ResponseTransformContext context)
    {
        if (context.ProxyResponse?.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            // StartAsync alone only buffers the headers in Kestrel; a flush puts them on the wire.
            try
            {
                await context.HttpContext.Response.Body.FlushAsync(context.CancellationToken);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // The client is gone (a flush only writes to it). Thrown on, YARP would try to clear a response whose
                // headers may be out already; McpResponseInspector resets the connection the same way.
                context.SuppressResponseBody = true;
                context.HttpContext.Abort();
            }
        }
    }

    /// <summary>Maps every configured route through YARP, with the MCP checks in front of the forwarder.</summary>
    public static IEndpointRouteBuilder MapGatehouseProxy(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapReverseProxy(proxy =>
        {
            proxy.UseMiddleware<ForwarderErrorResponder>();
            proxy.UseMiddleware<McpRequestGuard>();
            proxy.UseMiddleware<ResourceServer.RouteAuthenticator>();
            proxy.UseMiddleware<RateLimitEnforcer>();
            proxy.UseMiddleware<McpBodyReader>();
            proxy.UseMiddleware<McpPolicyEnforcer>();
            proxy.UseMiddleware<Upstream.UpstreamTokenInjector>();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });

        // No route serves this host and path.
        endpoints.MapFallback((HttpContext context) => TypedResults.Problem(
            $"No route serves {context.Request.Host}{context.Request.Path}.", statusCode: StatusCodes.Status404NotFound, title: "Not Found"));
        return endpoints;
    }
}
