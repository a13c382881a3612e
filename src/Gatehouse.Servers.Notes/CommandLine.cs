using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Gatehouse.Servers.Notes;

/// <summary>The standalone server's flags; anything else is an error shown with the usage text.</summary>
internal static class CommandLine
{
    public const string Usage = """
        usage: Gatehouse.Servers.Notes [--data-dir DIR] [--urls URL] [--public-url URL] [--mcp-path PATH]
                                       [--user EMAIL=PASSWORD]... [--client CLIENT_ID=REDIRECT_URI]...
                                       [--no-dcr] [--no-client-metadata-documents] [--auto-approve EMAIL]
                                       [--access-token-lifetime SECONDS]
        """;

    /// <summary>
    /// Parses <paramref name="args"/>. Without <c>--user</c> (and without <c>--auto-approve</c>), the demo users alice and
    /// bob get random passwords for this run, returned in <paramref name="demoPasswords"/> to be shown.
    /// </summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        [NotNullWhen(true)] out NotesServerOptions? options,
        out IReadOnlyList<(string Email, string Password)> demoPasswords,
        [NotNullWhen(false)] out string? error)
    {
        string? dataDir = null, urls = null, autoApprove = null, mcpPath = null;
        Uri? publicUrl = null;
        TimeSpan? accessTokenLifetime = null;
        bool dcr = true, metadataDocuments = true;
        var users = new List<NotesUser>();
        var clients = new List<NotesClient>();
        for (var i = 0; i < args.Count; i++)
        {
            var hasValue = i + 1 < args.Count;
            switch (args[i])
            {
                case "--data-dir" when hasValue:
                    dataDir = args[++i];
                    break;
                case "--urls" when hasValue:
                    urls = args[++i];
                    break;
                case "--public-url" when hasValue && Uri.TryCreate(args[i + 1], UriKind.Absolute, out var url):
                    publicUrl = url;
                    i++;
                    break;
                case "--user" when hasValue && Split(args[i + 1]) is ({ } email, { } password):
                    users.Add(new NotesUser(email, password));
                    i++;
                    break;
                case "--client" when hasValue && Split(args[i + 1]) is ({ } clientId, { } redirectUri):
                    clients.Add(new NotesClient { ClientId = clientId, RedirectUris = [redirectUri] });
                    i++;
                    break;
                case "--mcp-path" when hasValue:
                    mcpPath = args[++i];
                    break;
                case "--access-token-lifetime" when hasValue && int.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var seconds):
                    accessTokenLifetime = TimeSpan.FromSeconds(seconds);
                    i++;
                    break;
                case "--no-dcr":
                    dcr = false;
                    break;
                case "--no-client-metadata-documents":
                    metadataDocuments = false;
                    break;
                case "--auto-approve" when hasValue:
                    autoApprove = args[++i];
                    break;
                default:
                    options = null;
                    demoPasswords = [];
                    error = $"Unexpected or incomplete argument '{args[i]}'.\n{Usage}";
                    return false;
            }
        }

        demoPasswords = [];
        if (users.Count == 0)
        {
            // The demo users, with passwords for this run only, unless auto-approve makes sign-in unnecessary.
            users.AddRange(NotesServerOptions.DemoUsers().Select(u => autoApprove is null ? u with { Password = NewPassword() } : u));
            demoPasswords = [.. users.Where(u => u.Password is not null).Select(u => (u.Email, u.Password!))];
        }

        options = new NotesServerOptions
        {
            DataDirectory = dataDir ?? Path.Combine(Environment.CurrentDirectory, "notes-data"),
            Urls = urls ?? NotesServerOptions.DefaultUrls,
            PublicUrl = publicUrl,
            Users = users,
            Clients = clients,
            DynamicClientRegistration = dcr,
            ClientIdMetadataDocuments = metadataDocuments,
            AutoApproveUser = autoApprove,
        };
        if (mcpPath is not null)
        {
            options = options with { McpPath = mcpPath };
        }

        if (accessTokenLifetime is { } lifetime)
        {
            options = options with { AccessTokenLifetime = lifetime };
        }

        error = null;
        return true;
    }

    private static string NewPassword() => RandomNumberGenerator.GetString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 16);

    /// <summary><c>left=right</c>, split at the first '=', both sides non-empty.</summary>
    private static (string?, string?) Split(string pair) =>
        pair.IndexOf('=', StringComparison.Ordinal) is > 0 and var at && at < pair.Length - 1 ? (pair[..at], pair[(at + 1)..]) : (null, null);
}
