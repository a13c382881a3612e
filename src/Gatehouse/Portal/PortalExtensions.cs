namespace Gatehouse.Portal;

internal static class PortalExtensions
{
    /// <summary>The routes API (<c>/.gatehouse/mcp/...</c>, Pomerium's aliases) and the portal page.</summary>
    public static IEndpointRouteBuilder MapGatehousePortal(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMcpRoutesApi();
        PortalPage.Map(endpoints);
        return endpoints;
    }
}
