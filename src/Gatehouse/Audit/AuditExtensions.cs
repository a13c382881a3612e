using Gatehouse.Configuration;

namespace Gatehouse.Audit;

internal static class AuditExtensions
{
    /// <summary>
    /// Registers <see cref="IAuditSink"/> for the proxy, with the writer that stores records in batches and the
    /// retention job; with <c>audit.enabled: false</c>, a sink that keeps nothing. Settings are read once: changing
    /// them needs a restart. Register after storage, so that the writer starts once the schema is migrated.
    /// </summary>
    public static IServiceCollection AddGatehouseAudit(this IServiceCollection services, GatewayConfig config)
    {
        var audit = config.Audit;
        if (!audit.Enabled)
        {
            services.AddSingleton<IAuditSink>(NullAuditSink.Instance);
            return services;
        }

        services.AddSingleton(audit);
        services.AddSingleton(new AuditArguments(audit.Arguments));
        services.AddSingleton<AuditLogLine>();
        services.AddSingleton<AuditQueue>();
        services.AddSingleton<IAuditSink>(provider => provider.GetRequiredService<AuditQueue>());
        services.AddHostedService<AuditWriter>();
        services.AddHostedService<AuditRetention>();
        return services;
    }
}
