using System.Globalization;
using System.Security.Cryptography;
using Gatehouse.Chat;
using Gatehouse.Cli;
using Gatehouse.Hosting;
using Gatehouse.Servers.Northwind;
using Gatehouse.Servers.Notes;

namespace Gatehouse.Demo;

/// <summary>
/// `gatehouse demo`: everything a newcomer needs on one machine, with no setup. Every listener is on loopback.
/// The demo writes its configuration to the data directory and serves from that file, so editing it shows a
/// live reload.
/// </summary>
internal static class DemoRunner
{
    public const string NorthwindPath = "/northwind";
    public const string NotesPath = "/notes";
    public const string ChatPath = "/chat/";

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

        var firstRun = await EnsureDemoUsersAsync(dataDirectory, cancellationToken);

        // Notes has OAuth of its own (its own users: alice and bob again, with the same passwords), so it shows
        // Gatehouse discovering an upstream's authorization server and connecting each user to it.
        var passwords = await ReadDemoPasswordsAsync(dataDirectory, cancellationToken);
        await using var notes = NotesServer.Build(new NotesServerOptions
        {
            DataDirectory = Path.Combine(dataDirectory, "notes"),
            Urls = "http://127.0.0.1:0",
            McpPath = NotesPath,
            Users = NotesServerOptions.DemoUsers(passwords[0], passwords[1]),
        });
        await notes.StartAsync(cancellationToken);
        var notesUrl = NotesServer.GetMcpUrl(notes);

        // The chat app must know its public URL before it starts, so the gateway's port is chosen first.
        if (port == 0)
        {
            port = FreeLoopbackPort();
        }

        await using var chat = ChatApp.Build(DemoChatOptions(port, dataDirectory));
        await chat.StartAsync(cancellationToken);
        var chatUrl = new Uri(chat.Urls.First());

        var configPath = Path.Combine(dataDirectory, "gatehouse.yaml");
        await File.WriteAllTextAsync(configPath, ConfigYaml(port, northwindUrl, notesUrl, chatUrl, Path.GetFullPath(dataDirectory)), cancellationToken);

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
        var northwindMcp = baseUrl + NorthwindPath;
        var notesMcp = baseUrl + NotesPath;
        var chatLlm = Environment.GetEnvironmentVariable("GATEHOUSE_CHAT_LLM__ENDPOINT") is { Length: > 0 };
        var createToken = $"service-account create --config {ShellQuote(configPath)} --user alice@example.com --groups sales";
        const string Inspector = "npx -y @modelcontextprotocol/inspector@2.12.0 --cli";
        await output.WriteLineAsync($"""
            Gatehouse is ready at {baseUrl}

              Northwind MCP server:  {northwindMcp} (protected: sign in as alice or bob, or send a service-account token)
              Notes MCP server:      {notesMcp} (has its own OAuth: connect it once, as the same alice or bob)
              Your servers:          {baseUrl}/.gatehouse/routes (connect and disconnect; your connected apps)
              Gatehouse Chat:        {baseUrl}{ChatPath} ({(chatLlm ? "LLM configured" : "no LLM configured: the tool runner works; set GATEHOUSE_CHAT_LLM__ENDPOINT, _APIKEY and _MODEL for chat")})
              Sign in:               {baseUrl}/.gatehouse/sign_in
              Health:                {baseUrl}/healthz
              Configuration:         {configPath} (edit it: changes apply live)
              Data:                  {dataDirectory}

            MCP clients that support OAuth (the MCP Inspector's web UI, for one) connect to {northwindMcp} and send you
            to Gatehouse's sign-in page. Without a browser, get a service-account token that acts as alice (group sales),
            in another terminal:
              TOKEN=$(gatehouse {createToken})
              TOKEN=$(dotnet run --project src/Gatehouse -- {createToken})    # from the source tree
            then ask Northwind through the MCP Inspector CLI with it:
              List its tools:        {Inspector} {northwindMcp} --transport http --header "Authorization: Bearer $TOKEN" --method tools/list
              Ask for sales by year: {Inspector} {northwindMcp} --transport http --header "Authorization: Bearer $TOKEN" --method tools/call --tool-name query --tool-arg "sql=SELECT strftime('%Y', o.order_date) AS year, ROUND(SUM(d.unit_price * d.quantity * (1 - d.discount)), 2) AS sales FROM orders o JOIN order_details d ON d.order_id = o.order_id GROUP BY year ORDER BY year"

            """);
        await output.WriteLineAsync(firstRun is null
            ? $"Demo users alice@example.com (sales) and bob@example.com (engineering): passwords in {Path.Combine(dataDirectory, PasswordsFileName)}"
            : $"""
                Demo users (passwords shown only now; also saved in {Path.Combine(dataDirectory, PasswordsFileName)}, mode 0600):
                  alice@example.com (group sales):       {firstRun[0]}
                  bob@example.com   (group engineering): {firstRun[1]}
                """);
        await output.WriteLineAsync(Environment.NewLine + "Press Ctrl+C to stop.");

        await gateway.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    public const string PasswordsFileName = "demo-users.txt";
    public const string UsersFileName = "users.yaml";

    private static readonly (string Email, string Name, string Group)[] s_demoUsers =
    [
        ("alice@example.com", "Alice", "sales"),
        ("bob@example.com", "Bob", "engineering"),
    ];

    /// <summary>
    /// On the first run, gives alice and bob random passwords: the hashes go into the users file the configuration
    /// names, the passwords into a file only the owner can read. Returns the new passwords, or null when both files
    /// already exist (later runs keep the same users).
    /// </summary>
    internal static async Task<string[]?> EnsureDemoUsersAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var passwordsPath = Path.Combine(dataDirectory, PasswordsFileName);
        var usersPath = Path.Combine(dataDirectory, UsersFileName);
        if (File.Exists(passwordsPath) && File.Exists(usersPath))
        {
            return null;
        }

        var passwords = s_demoUsers.Select(_ => RandomNumberGenerator.GetString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20)).ToArray();
        var users = new System.Text.StringBuilder("# Written by `gatehouse demo` on its first run: the demo's built-in users.\nusers:\n");
        var lines = new System.Text.StringBuilder("# The demo users' passwords (gatehouse demo). Keep this file private.\n");
        for (var i = 0; i < s_demoUsers.Length; i++)
        {
            var (email, name, group) = s_demoUsers[i];
            users.Append(CultureInfo.InvariantCulture, $"  - email: {email}\n    name: {name}\n    groups: [{group}]\n    password_hash: {UsersCommand.HashPassword(passwords[i])}\n");
            lines.Append(CultureInfo.InvariantCulture, $"{email} {passwords[i]}\n");
        }

        // Created empty with mode 0600 before the passwords are written, so they are never readable by others.
        await File.WriteAllTextAsync(passwordsPath, "", cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passwordsPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        await File.WriteAllTextAsync(passwordsPath, lines.ToString(), cancellationToken);
        await File.WriteAllTextAsync(usersPath, users.ToString(), cancellationToken);
        return passwords;
    }

    /// <summary>
    /// The chat app behind the demo gateway: its LLM, if any, from the same GATEHOUSE_CHAT_ environment variables the
    /// standalone app reads (docs/chat.md); the address and database are the demo's.
    /// </summary>
    private static ChatAppOptions DemoChatOptions(int port, string dataDirectory)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddEnvironmentVariables("GATEHOUSE_CHAT_")
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["PublicUrl"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}{ChatPath}",
                ["Urls"] = "http://127.0.0.1:0",
                ["DatabasePath"] = Path.Combine(dataDirectory, "chat.db"),
            })
            .Build();
        return ChatAppOptions.FromConfiguration(configuration);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>alice's and bob's passwords, from the file <see cref="EnsureDemoUsersAsync"/> wrote.</summary>
    private static async Task<string[]> ReadDemoPasswordsAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var lines = await File.ReadAllLinesAsync(Path.Combine(dataDirectory, PasswordsFileName), cancellationToken);
        var byEmail = lines.Where(l => !l.StartsWith('#') && l.Contains(' ', StringComparison.Ordinal))
            .Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        return [.. s_demoUsers.Select(u => byEmail.TryGetValue(u.Email, out var password)
            ? password
            : throw new InvalidOperationException($"{PasswordsFileName} has no password for {u.Email}; delete it and {UsersFileName} to start afresh."))];
    }

    /// <summary>The path as one POSIX shell word, so the printed commands can be pasted as they are.</summary>
    internal static string ShellQuote(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:,@%".Contains(c, StringComparison.Ordinal))
            ? text
            : "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string ConfigYaml(int port, Uri northwind, Uri notes, Uri chat, string dataDirectory) => $"""
        # Written by `gatehouse demo` at every start; see docs/configuration.md for every key.
        address: 127.0.0.1:{port}
        # The gateway's database (gatehouse.db: keys, and later sessions and clients) lives beside this file.
        data_dir: '{dataDirectory.Replace("'", "''", StringComparison.Ordinal)}'
        # The MCP Inspector's web UI, so it can connect from a browser.
        cors_allowed_origins:
          - http://localhost:6274
          - http://127.0.0.1:6274
        # Built-in sign-in; the users (alice, bob) and their password hashes are in users.yaml.
        idp:
          provider: builtin
          users_file: {UsersFileName}
        # MCP clients that cannot publish a Client ID Metadata Document (the MCP Inspector's web UI among them)
        # register themselves; off by default outside the demo (docs/authorization.md).
        authorization_server:
          dynamic_client_registration: {"{enabled: true}"}
        routes:
          - name: northwind
            description: Northwind sales database (read-only SQL over customers, orders, products)
            from: http://127.0.0.1
            prefix: {NorthwindPath}
            to: {northwind.GetLeftPart(UriPartial.Authority)}
            # Protected: MCP clients sign in through Gatehouse's authorization server (or use a service-account token).
            mcp:
              server: {"{}"}
            # Who may use it (docs/policy.md): sales and engineering; engineering may look at the schema but not run
            # queries, so bob sees no `query` tool and a call to it is denied.
            policy:
              - allow:
                  or:
                    - groups: {"{has: sales}"}
                    - groups: {"{has: engineering}"}
              - deny:
                  and:
                    - groups: {"{has: engineering}"}
                    - mcp_tool: {"{is: query}"}
          - name: notes
            description: Personal notes (an MCP server with its own OAuth; each user connects it once)
            from: http://127.0.0.1
            prefix: {NotesPath}
            to: {notes.GetLeftPart(UriPartial.Authority)}
            # No upstream_oauth2: Gatehouse discovers Notes' authorization server from its 401 (RFC 9728, RFC 8414),
            # identifies itself with its Client ID Metadata Document, and keeps each user's Notes token encrypted.
            mcp:
              server: {"{}"}
          - name: chat
            description: Gatehouse Chat
            from: http://127.0.0.1
            prefix: {ChatPath}
            to: {chat.GetLeftPart(UriPartial.Authority)}
            # A client route: signed-in users reach the app, which gets their identity and a short-lived token (TE)
            # for the MCP servers they may use (docs/portal.md, docs/chat.md).
            mcp:
              client: {"{}"}
        """;
}
