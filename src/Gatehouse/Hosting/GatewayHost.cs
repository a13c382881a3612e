using System.Security.Cryptography.X509Certificates;
using Gatehouse.Audit;
using Gatehouse.Authorization;
using Gatehouse.Configuration;
using Gatehouse.Observability;
using Gatehouse.Portal;
using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Gatehouse.SignIn;
using Gatehouse.Signing;
using Gatehouse.Storage;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.Connections.Features;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Hosting;

/// <summary>How to start a gateway: from a file (watched for changes) or from a configuration built in code.</summary>
internal sealed class GatewayHostOptions
{
    public string? ConfigPath { get; init; }

    public GatewayConfig? Config { get; init; }

    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>Runs after every service is registered, so tests can replace one (such as a schedule).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

internal static class GatewayHost
{
    private const string MetricsListenerItem = "gatehouse.metrics-listener";

    /// <summary>Builds the gateway, not yet started. Throws <see cref="ConfigException"/> when the configuration is invalid.</summary>
    public static WebApplication Build(GatewayHostOptions options)
    {
        var config = options.Config
            ?? (options.ConfigPath is { } path ? YamlConfigReader.Load(path) : throw new ArgumentException("Give a ConfigPath or a Config.", nameof(options)));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Gatehouse", Args = [] });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Bodies of ordinary apps stream through unbounded; MCP routes are bounded by max_request_bytes.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(config.Address.ToEndPoint(), listen =>
            {
                if (config.CertificateFile is { } certificateFile)
                {
                    listen.UseHttps(LoadServerCertificate(certificateFile, config.CertificateKeyFile!));
                }
            });

            if (config.MetricsAddress is { } metrics)
            {
                kestrel.Listen(metrics.ToEndPoint(), listen => listen.Use(next => connection =>
                {
                    connection.Items[MetricsListenerItem] = true;
                    return next(connection);
                }));
            }
        });

        // One line per entry (the access log above all); `Logging__Console__FormatterName=json` switches to JSON.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions>(ConfigureConsoleLine);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // ASP.NET Core creates an Activity for every request whenever its hosting logger is enabled at any level, and
        // the upstream call then carries a new traceparent: about 9% of the CPU per proxied request (docs/performance.md).
        // Its only lines are request start/finish, which the access log replaces. With OpenTelemetry tracing on,
        // activities are created for the ActivitySource listener regardless.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        options.ConfigureLogging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<GatewayTelemetry>();
        services.AddGatehouseStorage(config);
        services.AddGatehouseAudit(config);
        services.AddGatehouseSignIn(config);
        services.AddGatehouseAuthorizationServer(config);
        services.AddGatehouseResourceServer();
        services.AddGatehouseProxy();
        services.AddHostedService<ConfigWatcher>();
        services.AddGatehouseOpenTelemetry(config);
        options.ConfigureServices?.Invoke(services);

        var app = builder.Build();
        app.Services.GetRequiredService<GatewayState>().Apply(config);

        app.UseMiddleware<AccessLogMiddleware>();
        if (config.MetricsAddress is not null)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context => IsMetricsListener(context) && context.Request.Path == "/metrics");
            app.Use((context, next) => IsMetricsListener(context)
                ? TypedResults.NotFound().ExecuteAsync(context)
                : next(context));
        }

        app.UseGatehouseAuthorizationServer();
        app.UseRouting();
        app.UseRequestTimeouts();
        app.MapHealthEndpoints();
        app.MapJwksEndpoints();
        app.MapProtectedResourceMetadata();
        app.MapGatehouseSignIn(config);
        app.MapGatehouseAuthorizationServer();
        app.MapGatehousePortal();
        app.MapGatehouseUpstreamOAuth();
        app.MapGatehouseProxy();
        return app;
    }

    /// <summary>
    /// The leaf with its key, and every further certificate of the PEM file as the chain Kestrel sends, so that
    /// clients which lack the intermediates can still build a path to their root.
    /// </summary>
    private static Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions LoadServerCertificate(string certificateFile, string keyFile)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificateFile);
        var leaf = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        chain.RemoveAt(0);
        return new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
        {
            ServerCertificate = leaf,
            ServerCertificateChain = chain,
        };
    }

    private static bool IsMetricsListener(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(MetricsListenerItem) == true;

    private static void AddGatehouseOpenTelemetry(this IServiceCollection services, GatewayConfig config)
    {
        // Exporters are only wired when something reads them: an idle MeterProvider still costs on every request.
        var otlp = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if (config.MetricsAddress is null && !otlp)
        {
            return;
        }

        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("gatehouse"));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(GatewayTelemetry.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http")
                .AddRuntimeInstrumentation();
            if (config.MetricsAddress is not null)
            {
                metrics.AddPrometheusExporter();
            }

            if (otlp)
            {
                metrics.AddOtlpExporter();
            }
        });

        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(GatewayTelemetry.Name, "Yarp.ReverseProxy")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }
    }

    /// <summary>The console's line format: one line per entry, UTC timestamps to the millisecond.</summary>
    internal static void ConfigureConsoleLine(Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions console)
    {
        console.SingleLine = true;
        console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        console.UseUtcTimestamp = true;
    }
}
