using System.CommandLine;
using Gatehouse.Demo;

namespace Gatehouse.Cli;

internal static class DemoCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port", "-p")
        {
            Description = "Port for the gateway on 127.0.0.1 (0 picks a free one).",
            DefaultValueFactory = _ => 8080,
        };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                result.AddError("--port must be between 0 and 65535.");
            }
        });
        var dataDir = new Option<DirectoryInfo>("--data-dir")
        {
            Description = "Where the demo keeps its data (databases, generated configuration).",
            DefaultValueFactory = _ => new DirectoryInfo(DemoRunner.DefaultDataDirectory),
        };

        var command = new Command("demo", "Run Gatehouse with its embedded defaults: the Northwind MCP server behind a route, on loopback only.")
        {
            port,
            dataDir,
        };
        command.SetAction((parse, cancellationToken) =>
            DemoRunner.RunAsync(parse.GetValue(port), parse.GetRequiredValue(dataDir).FullName, Console.Out, cancellationToken));
        return command;
    }
}
