using System.Globalization;
using Gatehouse.Hosting;
using Gatehouse.Servers.Northwind;

namespace Gatehouse.Demo;

/// <summary>
/// `gatehouse demo`: everything a newcomer needs on one machine, with no setup. Every listener is on loopback.
/// The demo writes its configuration to the data directory and serves from that file, so editing it shows a
/// live reload.
/// </summary>
internal static class DemoRunner
{
    public const string NorthwindPath = "/northwind";

    public static string DefaultDataDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "gatehouse", "demo");

    public static async Task<int> RunAsync(int port, string dataDirectory, TextWriter output, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDirectory);

        await using var northwind = NorthwindServer.Build(new NorthwindServerOptions
        {
            DatabasePath = Path.Combine(dataDirectory, "northwind.db"),
            Urls = "http://127.0.0.1:0",
            McpPath = NorthwindPath,
        });
        await northwind.StartAsync(cancellationToken);
        var northwindUrl = new Uri(northwind.Urls.First());

        var configPath = Path.Combine(dataDirectory, "gatehouse.yaml");
        await File.WriteAllTextAsync(configPath, ConfigYaml(port, northwindUrl, Path.GetFullPath(dataDirectory)), cancellationToken);

        await using var gateway = GatewayHost.Build(new GatewayHostOptions { ConfigPath = configPath });
        try
        {
            await gateway.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            await output.WriteLineAsync($"Cannot listen on 127.0.0.1:{port}: {ex.Message}. Pass --port with a free port (or 0).");
            return 1;
        }

        var address = new Uri(gateway.Urls.First());
        var baseUrl = $"http://127.0.0.1:{address.Port.ToString(CultureInfo.InvariantCulture)}";
        await output.WriteLineAsync($"""
            Gatehouse is ready at {baseUrl}

              Northwind MCP server:  {baseUrl}{NorthwindPath}
              List its tools:        npx -y @modelcontextprotocol/inspector@2.12.0 --cli {baseUrl}{NorthwindPath} --transport http --method tools/list
              Ask for sales by year: npx -y @modelcontextprotocol/inspector@2.12.0 --cli {baseUrl}{NorthwindPath} --transport http --method tools/call --tool-name query --tool-arg "sql=SELECT strftime('%Y', o.order_date) AS year, ROUND(SUM(d.unit_price * d.quantity * (1 - d.discount)), 2) AS sales FROM orders o JOIN order_details d ON d.order_id = o.order_id GROUP BY year ORDER BY year"
              Health:                {baseUrl}/healthz
              Configuration:         {configPath} (edit it: changes apply live)
              Data:                  {dataDirectory}

            Press Ctrl+C to stop.
            """);

        await gateway.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    private static string ConfigYaml(int port, Uri northwind, string dataDirectory) => $"""
        # Written by `gatehouse demo` at every start; see docs/configuration.md for every key.
        address: 127.0.0.1:{port}
        # The gateway's database (gatehouse.db: keys, and later sessions and clients) lives beside this file.
        data_dir: '{dataDirectory.Replace("'", "''", StringComparison.Ordinal)}'
        # The MCP Inspector's web UI, so it can connect from a browser.
        cors_allowed_origins:
          - http://localhost:6274
          - http://127.0.0.1:6274
        routes:
          - name: northwind
            description: Northwind sales database (read-only SQL over customers, orders, products)
            from: http://127.0.0.1
            prefix: {NorthwindPath}
            to: {northwind.GetLeftPart(UriPartial.Authority)}
            # Sign-in arrives with the authorization server; until then the demo route is public, on loopback only.
            allow_public_unauthenticated_access: true
            mcp:
              server: {"{}"}
        """;
}
