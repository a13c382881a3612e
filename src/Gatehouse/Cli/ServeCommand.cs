using System.CommandLine;
using Gatehouse.Configuration;
using Gatehouse.Hosting;

namespace Gatehouse.Cli;

internal static class ServeCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var command = new Command("serve", "Run the gateway with a configuration file (watched for changes).") { config };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(config).FullName;
            WebApplication app;
            try
            {
                app = GatewayHost.Build(new GatewayHostOptions { ConfigPath = path });
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 1;
            }

            await app.StartAsync(cancellationToken);
            foreach (var url in app.Urls)
            {
                Console.WriteLine($"Gatehouse is listening on {url}");
            }

            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
