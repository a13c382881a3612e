using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Servers.Northwind;

/// <summary>The standalone server's two flags; anything else is an error shown with the usage line.</summary>
internal static class CommandLine
{
    public const string Usage = "usage: Gatehouse.Servers.Northwind [--db PATH] [--urls URL]";

    public static bool TryParse(
        IReadOnlyList<string> args, [NotNullWhen(true)] out NorthwindServerOptions? options, [NotNullWhen(false)] out string? error)
    {
        string? db = null;
        string? urls = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--db" when i + 1 < args.Count:
                    db = args[++i];
                    break;
                case "--urls" when i + 1 < args.Count:
                    urls = args[++i];
                    break;
                default:
                    options = null;
                    error = $"Unexpected or incomplete argument '{args[i]}'.\n{Usage}";
                    return false;
            }
        }

        options = new NorthwindServerOptions
        {
            DatabasePath = db ?? Path.Combine(Environment.CurrentDirectory, "northwind.db"),
            Urls = urls ?? NorthwindServerOptions.DefaultUrls,
        };
        error = null;
        return true;
    }
}
