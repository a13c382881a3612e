using System.CommandLine;

namespace Gatehouse.Cli;

internal static class CheckConfigCommand
{
    public static Command Create()
    {
        var config = CliOptions.Config();
        var command = new Command("check-config", "Validate a configuration file and print every error with its line and column.") { config };
        command.SetAction(async parse =>
        {
            var file = parse.GetRequiredValue(config);
            if (await CliOptions.LoadConfigAsync(file, parse.InvocationConfiguration.Error) is not { } loaded)
            {
                return 1;
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync($"{file.Name} is valid: {loaded.Routes.Count} route(s), listening on {loaded.Address}.");
            return 0;
        });
        return command;
    }
}
