using System.CommandLine;
using Gatehouse.Configuration;

namespace Gatehouse.Cli;

internal static class CliOptions
{
    public static Option<FileInfo> Config() => new("--config", "-c")
    {
        Description = "The YAML configuration file.",
        Required = true,
    };

    /// <summary>The validated configuration, or null after every error in it was written to <paramref name="error"/>.</summary>
    public static async Task<GatewayConfig?> LoadConfigAsync(FileInfo file, TextWriter error)
    {
        try
        {
            return YamlConfigReader.Load(file.FullName);
        }
        catch (ConfigException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return null;
        }
    }
}
