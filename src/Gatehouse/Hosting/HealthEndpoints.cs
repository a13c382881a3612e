using Gatehouse.Proxy;
using Gatehouse.Storage;

namespace Gatehouse.Hosting;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>/healthz</c> answers while the process runs (liveness); <c>/readyz</c> only once a configuration is in
    /// force and the storage answers (readiness; the storage probe is cached for a second, so polling is cheap).
    /// Both come before every route so that no route can shadow them.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok")).WithOrder(-1).ExcludeFromDescription();
        endpoints.MapGet("/readyz", async (GatewayState state, StorageHealth storage, StorageLocation location) =>
            {
                if (!state.IsLoaded)
                {
                    return Results.Problem("No configuration is loaded yet.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready");
                }

                if (await storage.CheckAsync() is { } problem)
                {
                    return Results.Problem(problem, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready");
                }

                return Results.Json(
                    new ReadyStatus("ready", state.Current.Config.Routes.Count, state.LoadedAt, location.Type.ToString().ToLowerInvariant()),
                    GatehouseJsonContext.Default.ReadyStatus);
            })
            .WithOrder(-1)
            .ExcludeFromDescription();
        return endpoints;
    }
}

internal sealed record ReadyStatus(string Status, int Routes, DateTimeOffset ConfigLoadedAt, string Storage);
