using System.Text;
using Gatehouse.Servers.Notes.Authorization;

namespace Gatehouse.Servers.Notes;

/// <summary>A user of the Notes server: signs in with an email and a password, and owns notes.</summary>
/// <param name="Email">The sign-in name and the owner of the user's notes (compared without case).</param>
/// <param name="Password">
/// The password for the sign-in form. A user without one cannot sign in with the form; it can still be the
/// <see cref="NotesServerOptions.AutoApproveUser"/>.
/// </param>
public sealed record NotesUser(string Email, string? Password = null)
{
    /// <summary>Shown on the consent page; the email when not set.</summary>
    public string? Name { get; init; }

    // The generated ToString would print the password.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Email = ").Append(Email).Append(", Name = ").Append(Name);
        return true;
    }
}

/// <summary>
/// An OAuth client registered ahead of time (the "no dynamic registration" mode of the MCP authorization spec):
/// an MCP client, or a gateway such as Gatehouse, that was given a client id (and a secret) by the operator.
/// </summary>
public sealed record NotesClient
{
    /// <summary>1 to 200 visible ASCII characters.</summary>
    public required string ClientId { get; init; }

    /// <summary>
    /// A confidential client's secret (it authenticates with <c>client_secret_basic</c> or <c>client_secret_post</c>);
    /// null for a public client, which uses PKCE alone.
    /// </summary>
    public string? ClientSecret { get; init; }

    /// <summary>
    /// Where authorization responses may be sent: https, http on a loopback host (any port matches, RFC 8252 §7.3),
    /// or a native app's private-use scheme. Compared exactly otherwise.
    /// </summary>
    public required IReadOnlyList<string> RedirectUris { get; init; }

    /// <summary>Shown on the consent page; the client id when not set.</summary>
    public string? Name { get; init; }

    // The generated ToString would print the secret.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ClientId = ").Append(ClientId).Append(", Name = ").Append(Name)
            .Append(", RedirectUris = [").AppendJoin(", ", RedirectUris).Append(']');
        return true;
    }
}

/// <summary>A note a user finds on the first start (<see cref="NotesServerOptions.SeedNotes"/>).</summary>
/// <param name="Title">1 to 200 characters.</param>
/// <param name="Text">At most 100,000 characters; plain text or Markdown.</param>
public sealed record NotesSeedNote(string Title, string Text);

/// <summary>
/// Where the Notes MCP server keeps its data, where it listens, who can sign in and how clients register.
/// </summary>
public sealed record NotesServerOptions
{
    internal const string DefaultUrls = "http://127.0.0.1:5082";

    /// <summary>
    /// The folder for <c>notes.db</c>: the users' notes, the OAuth clients, grants and tokens, and the keys that sign
    /// access tokens (generated on first start and kept there). Created if missing.
    /// </summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// Addresses to listen on, separated by ';'. http only, on a loopback address unless
    /// <see cref="AllowRemoteConnections"/>; use port 0 to let the OS pick and read it from <c>WebApplication.Urls</c>.
    /// </summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>
    /// The origin clients use, such as <c>https://notes.example.com</c>, when it is not the address the server
    /// listens on (behind a reverse proxy that ends TLS). It is the OAuth issuer and the origin of the MCP resource.
    /// Null: both follow the origin of each request, which must then name a loopback host.
    /// </summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>Lets <see cref="Urls"/> name non-loopback addresses; <see cref="PublicUrl"/> is then required.</summary>
    public bool AllowRemoteConnections { get; init; }

    /// <summary>The path of the Streamable HTTP MCP endpoint; with the origin it is the OAuth resource (RFC 8707).</summary>
    public string McpPath { get; init; } = "/mcp";

    /// <summary>Who can sign in. Default: <see cref="DemoUsers"/> without passwords.</summary>
    public IReadOnlyList<NotesUser> Users { get; init; } = DemoUsers();

    /// <summary>Clients registered ahead of time; synced to the database at start-up.</summary>
    public IReadOnlyList<NotesClient> Clients { get; init; } = [];

    /// <summary>
    /// Whether <c>/register</c> accepts RFC 7591 dynamic client registration (on by default). Off: the metadata has
    /// no <c>registration_endpoint</c>, <c>/register</c> refuses, and only <see cref="Clients"/> can authorize.
    /// </summary>
    public bool DynamicClientRegistration { get; init; } = true;

    /// <summary>
    /// Whether a client may use the URL of its Client ID Metadata Document as its client id (MCP authorization
    /// 2025-11-25; on by default): the server then fetches that https URL during authorization. Without
    /// <see cref="PublicUrl"/>, http URLs on a loopback host are taken too, for clients and gateways on this machine.
    /// </summary>
    public bool ClientIdMetadataDocuments { get; init; } = true;

    /// <summary>
    /// For tests and headless probes only: the email of a user whom <c>/authorize</c> signs in and who consents at
    /// once, so an authorization request is answered by an immediate redirect with <c>code</c>, <c>state</c> and
    /// <c>iss</c>. Null (the default): users sign in and consent through the pages.
    /// </summary>
    public string? AutoApproveUser { get; init; }

    /// <summary>
    /// The notes each user gets at start-up while they have none, by email (compared without case). Null (the
    /// default): built-in samples, a few for alice and bob and a welcome note for anyone else. An empty map: none.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<NotesSeedNote>>? SeedNotes { get; init; }

    /// <summary>How long an access token is valid; tests of refresh set a few seconds.</summary>
    public TimeSpan AccessTokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long a grant can be refreshed after the user approved it; rotation does not extend it.</summary>
    public TimeSpan RefreshTokenLifetime { get; init; } = TimeSpan.FromDays(14);

    /// <summary>
    /// How long a refresh token that was just used may be used again (a client refreshing twice at once). After
    /// that, presenting it again revokes the whole grant (OAuth 2.1 §4.3.1). Zero: never.
    /// </summary>
    public TimeSpan RefreshTokenReuseLeeway { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The demo users, <c>alice@example.com</c> and <c>bob@example.com</c>, each seeded with a few notes on first
    /// start. Without a password a user can only be signed in by <see cref="AutoApproveUser"/>.
    /// </summary>
    public static IReadOnlyList<NotesUser> DemoUsers(string? alicePassword = null, string? bobPassword = null) =>
    [
        new("alice@example.com", alicePassword) { Name = "Alice" },
        new("bob@example.com", bobPassword) { Name = "Bob" },
    ];

    /// <summary>Paths the server serves itself, which the MCP endpoint must not take.</summary>
    private static readonly string[] s_reservedPaths =
        ["/authorize", "/token", "/register", "/revoke", "/signin", "/.well-known"];

    /// <summary>Fails fast with a message that names the setting and the fix.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw Invalid(nameof(DataDirectory), "is empty. Set it to the folder for notes.db, e.g. \"./notes-data\".");
        }

        ValidateUrls();

        if (!McpPath.StartsWith('/') || McpPath.Length < 2 || McpPath.EndsWith('/') || McpPath.Contains("//", StringComparison.Ordinal) ||
            McpPath.Any(c => char.IsWhiteSpace(c) || c is '?' or '#' or '%'))
        {
            throw Invalid(nameof(McpPath), $"'{McpPath}' must be a path such as \"/mcp\": starting with '/', not ending with one.");
        }

        if (s_reservedPaths.Any(p => McpPath.Equals(p, StringComparison.OrdinalIgnoreCase) || McpPath.StartsWith(p + "/", StringComparison.OrdinalIgnoreCase)))
        {
            throw Invalid(nameof(McpPath), $"'{McpPath}' is a path the server uses itself ({string.Join(", ", s_reservedPaths)}). Use e.g. \"/mcp\".");
        }

        // The note pages are /notes/{id}; "/notes" itself may be the MCP endpoint, as behind a gateway route /notes.
        if (McpPath.StartsWith("/notes/", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid(nameof(McpPath), $"'{McpPath}' is below /notes/, where the server shows notes. Use e.g. \"/mcp\" or \"/notes\".");
        }

        ValidateUsers();
        ValidateSeedNotes();
        ValidateClients();

        if (AccessTokenLifetime <= TimeSpan.Zero)
        {
            throw Invalid(nameof(AccessTokenLifetime), "must be positive, e.g. TimeSpan.FromHours(1).");
        }

        if (RefreshTokenLifetime <= TimeSpan.Zero)
        {
            throw Invalid(nameof(RefreshTokenLifetime), "must be positive, e.g. TimeSpan.FromDays(14).");
        }

        if (RefreshTokenReuseLeeway < TimeSpan.Zero)
        {
            throw Invalid(nameof(RefreshTokenReuseLeeway), "must not be negative; use TimeSpan.Zero to refuse every reuse.");
        }
    }

    private void ValidateUrls()
    {
        if (string.IsNullOrWhiteSpace(Urls))
        {
            throw Invalid(nameof(Urls), $"is empty. Set it to the address to listen on, e.g. \"{DefaultUrls}\".");
        }

        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            {
                throw Invalid(nameof(Urls), $"has '{url}', which is not an absolute http:// URL. Use e.g. \"http://127.0.0.1:0\".");
            }

            if (!AllowRemoteConnections && !RedirectUriPolicy.IsLoopbackHost(uri.Host))
            {
                throw Invalid(nameof(Urls), $"has '{url}', which is not a loopback address. Listen on 127.0.0.1, or set " +
                    $"{nameof(AllowRemoteConnections)} and {nameof(PublicUrl)} to serve other machines (behind a proxy that ends TLS).");
            }
        }

        if (PublicUrl is null)
        {
            if (AllowRemoteConnections)
            {
                throw Invalid(nameof(PublicUrl), $"is required with {nameof(AllowRemoteConnections)}: set it to the https origin clients use, e.g. \"https://notes.example.com\".");
            }

            return;
        }

        if (!PublicUrl.IsAbsoluteUri || (PublicUrl.Scheme != Uri.UriSchemeHttps && PublicUrl.Scheme != Uri.UriSchemeHttp) ||
            PublicUrl.AbsolutePath != "/" || PublicUrl.Query.Length > 0 || PublicUrl.Fragment.Length > 0 || PublicUrl.UserInfo.Length > 0)
        {
            throw Invalid(nameof(PublicUrl), $"'{PublicUrl}' must be an origin with no path, e.g. \"https://notes.example.com\".");
        }

        // OAuth 2.1 §1.5: TLS everywhere except on the user's own machine.
        if (PublicUrl.Scheme == Uri.UriSchemeHttp && !RedirectUriPolicy.IsLoopbackHost(PublicUrl.Host))
        {
            throw Invalid(nameof(PublicUrl), $"'{PublicUrl}' uses http on a host that is not loopback: OAuth needs https there.");
        }
    }

    private void ValidateUsers()
    {
        if (Users is null || Users.Count == 0)
        {
            throw Invalid(nameof(Users), $"is empty. Add at least one user, e.g. {nameof(NotesServerOptions)}.{nameof(DemoUsers)}(\"alice-password\", \"bob-password\").");
        }

        var emails = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Users.Count; i++)
        {
            var user = Users[i];
            if (user is null || string.IsNullOrWhiteSpace(user.Email) || user.Email.Length > 254 || user.Email.Any(char.IsWhiteSpace) ||
                user.Email.IndexOf('@', StringComparison.Ordinal) is <= 0 || user.Email.EndsWith('@'))
            {
                throw Invalid(nameof(Users), $"[{i}] has '{user?.Email}', which is not an email address such as \"alice@example.com\".");
            }

            if (!emails.Add(user.Email))
            {
                throw Invalid(nameof(Users), $"[{i}] repeats '{user.Email}'. Each user's email must be unique (compared without case).");
            }

            if (user.Password is { } password && string.IsNullOrEmpty(password))
            {
                throw Invalid(nameof(Users), $"[{i}] ('{user.Email}') has an empty password. Give a password, or null for a user who cannot use the sign-in form.");
            }
        }

        if (AutoApproveUser is not null && !emails.Contains(AutoApproveUser))
        {
            throw Invalid(nameof(AutoApproveUser), $"'{AutoApproveUser}' is not one of {nameof(Users)} ({string.Join(", ", emails)}).");
        }

        if (AutoApproveUser is null && Users.All(u => u.Password is null))
        {
            throw Invalid(nameof(Users), $"has no user with a password, so nobody could sign in. Give users passwords, e.g. " +
                $"{nameof(NotesServerOptions)}.{nameof(DemoUsers)}(\"alice-password\", \"bob-password\"), or set {nameof(AutoApproveUser)} for tests.");
        }
    }

    private void ValidateSeedNotes()
    {
        foreach (var (email, notes) in SeedNotes ?? new Dictionary<string, IReadOnlyList<NotesSeedNote>>())
        {
            if (!Users.Any(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase)))
            {
                throw Invalid(nameof(SeedNotes), $"has notes for '{email}', who is not one of {nameof(Users)}. Add the user, or remove the entry.");
            }

            // The limits of create_note, so a seeded note is one the user could have written.
            if (notes is null || notes.Any(n => n is null || n.Title?.Trim() is not { Length: > 0 and <= Storage.Note.MaxTitleLength } ||
                (n.Text ?? "").Length > Storage.Note.MaxTextLength))
            {
                throw Invalid(nameof(SeedNotes), $"for '{email}' has a note that is null, whose title is not 1 to {Storage.Note.MaxTitleLength} " +
                    $"characters, or whose text is longer than {Storage.Note.MaxTextLength}. Shorten it.");
            }
        }
    }

    private void ValidateClients()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (Clients?.Count ?? 0); i++)
        {
            var client = Clients![i];
            if (client is null || string.IsNullOrEmpty(client.ClientId) || client.ClientId.Length > 200 || client.ClientId.Any(c => c is < '!' or > '~'))
            {
                throw Invalid(nameof(Clients), $"[{i}] has client id '{client?.ClientId}': use 1 to 200 visible ASCII characters, e.g. \"gatehouse\".");
            }

            if (client.ClientId.StartsWith(ClientStore.DynamicPrefix, StringComparison.Ordinal))
            {
                throw Invalid(nameof(Clients), $"[{i}] has client id '{client.ClientId}', which starts with '{ClientStore.DynamicPrefix}', the prefix of dynamically registered clients. Choose another id.");
            }

            if (client.ClientId.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || client.ClientId.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(nameof(Clients), $"[{i}] has client id '{client.ClientId}', a URL: URLs are the client ids of Client ID Metadata Documents. Choose an id such as \"gatehouse\".");
            }

            if (!ids.Add(client.ClientId))
            {
                throw Invalid(nameof(Clients), $"[{i}] repeats client id '{client.ClientId}'.");
            }

            if (client.ClientSecret is { Length: 0 })
            {
                throw Invalid(nameof(Clients), $"[{i}] ('{client.ClientId}') has an empty secret. Give a secret, or null for a public client.");
            }

            if (client.RedirectUris is null || client.RedirectUris.Count == 0)
            {
                throw Invalid(nameof(Clients), $"[{i}] ('{client.ClientId}') has no redirect URIs. List where authorization responses go, e.g. \"http://127.0.0.1:8080/callback\".");
            }

            foreach (var uri in client.RedirectUris)
            {
                if (RedirectUriPolicy.Check(uri ?? "") is { } problem)
                {
                    throw Invalid(nameof(Clients), $"[{i}] ('{client.ClientId}') has redirect URI '{uri}', which {problem}.");
                }
            }
        }
    }

    private static ArgumentException Invalid(string name, string problem) =>
        new(problem.StartsWith('[') ? name + problem : name + " " + problem, name);
}
