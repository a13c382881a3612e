using Gatehouse.Proxy;

namespace Gatehouse.Hosting;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>/healthz</c> answers while the process runs (liveness); <c>/readyz</c> only once a configuration is in
    /// force (readiness). Both come before every route so that no route can shadow them.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok")).WithOrder(-1).ExcludeFromDescription();
        endpoints.MapGet("/readyz", (GatewayState state) => state.IsLoaded
                ? Results.Json(new ReadyStatus("ready", state.Current.Config.Routes.Count, state.LoadedAt), GatehouseJsonContext.Default.ReadyStatus)
                : Results.Problem("No configuration is loaded yet.", statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithOrder(-1)
            .ExcludeFromDescription();
        return endpoints;
    }
}

internal sealed record ReadyStatus(string Status, int Routes, DateTimeOffset ConfigLoadedAt);
