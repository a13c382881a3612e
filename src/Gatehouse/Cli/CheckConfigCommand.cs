using System.CommandLine;
using Gatehouse.Configuration;

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
            try
            {
                var loaded = YamlConfigReader.Load(file.FullName);
                Console.WriteLine($"{file.Name} is valid: {loaded.Routes.Count} route(s), listening on {loaded.Address}.");
                return 0;
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 1;
            }
        });
        return command;
    }
}
