namespace Gatehouse.Servers.Notes.Tests;

public sealed class OptionsTests
{
    private static readonly NotesServerOptions s_valid = new()
    {
        DataDirectory = "notes-data",
        Urls = "http://127.0.0.1:0",
        Users = NotesServerOptions.DemoUsers("a-password", "b-password"),
    };

    public static TheoryData<string, NotesServerOptions> InvalidOptions => new()
    {
        { "DataDirectory", s_valid with { DataDirectory = " " } },
        { "Urls", s_valid with { Urls = "" } },
        { "Urls", s_valid with { Urls = "https://127.0.0.1:5082" } },
        { "Urls", s_valid with { Urls = "127.0.0.1:5082" } },
        { "Urls", s_valid with { Urls = "http://0.0.0.0:5082" } },
        { "PublicUrl", s_valid with { Urls = "http://0.0.0.0:5082", AllowRemoteConnections = true } },
        { "PublicUrl", s_valid with { PublicUrl = new Uri("http://notes.example.com") } },
        { "PublicUrl", s_valid with { PublicUrl = new Uri("https://notes.example.com/notes") } },
        { "McpPath", s_valid with { McpPath = "mcp" } },
        { "McpPath", s_valid with { McpPath = "/mcp/" } },
        { "McpPath", s_valid with { McpPath = "/authorize" } },
        { "McpPath", s_valid with { McpPath = "/notes/mcp" } },
        { "Users", s_valid with { Users = [] } },
        { "Users", s_valid with { Users = [new("not-an-email", "pw")] } },
        { "Users", s_valid with { Users = [new("a@example.com", "pw"), new("A@example.com", "pw")] } },
        { "Users", s_valid with { Users = NotesServerOptions.DemoUsers() } },
        { "AutoApproveUser", s_valid with { AutoApproveUser = "carol@example.com" } },
        { "Clients", s_valid with { Clients = [new NotesClient { ClientId = "gatehouse", RedirectUris = [] }] } },
        { "Clients", s_valid with { Clients = [new NotesClient { ClientId = "gatehouse", RedirectUris = ["http://gatehouse.example.com/cb"] }] } },
        { "Clients", s_valid with { Clients = [new NotesClient { ClientId = "gatehouse", RedirectUris = ["javascript:alert(1)"] }] } },
        { "Clients", s_valid with { Clients = [new NotesClient { ClientId = "dcr_mine", RedirectUris = ["https://a.example.com/cb"] }] } },
        { "Clients", s_valid with { Clients = [new NotesClient { ClientId = "https://a.example.com/client.json", RedirectUris = ["https://a.example.com/cb"] }] } },
        { "SeedNotes", s_valid with { SeedNotes = new Dictionary<string, IReadOnlyList<NotesSeedNote>> { ["carol@example.com"] = [new("t", "x")] } } },
        { "SeedNotes", s_valid with { SeedNotes = new Dictionary<string, IReadOnlyList<NotesSeedNote>> { ["alice@example.com"] = [new(" ", "x")] } } },
        { "SeedNotes", s_valid with { SeedNotes = new Dictionary<string, IReadOnlyList<NotesSeedNote>> { ["alice@example.com"] = [new("t", new string('x', 100_001))] } } },
        { "AccessTokenLifetime", s_valid with { AccessTokenLifetime = TimeSpan.Zero } },
        { "RefreshTokenReuseLeeway", s_valid with { RefreshTokenReuseLeeway = TimeSpan.FromSeconds(-1) } },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Build_InvalidOption_ThrowsNamingTheOption(string expectedName, NotesServerOptions options)
    {
        var ex = Assert.Throws<ArgumentException>(() => NotesServer.Build(options));

        Assert.Equal(expectedName, ex.ParamName);
        Assert.StartsWith(expectedName, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PublicUrlWithRemoteConnections_IsAccepted()
    {
        var options = s_valid with { Urls = "http://0.0.0.0:5082", AllowRemoteConnections = true, PublicUrl = new Uri("https://notes.example.com") };

        options.Validate();
    }

    [Fact]
    public void Validate_UsersWithoutPasswordsButAutoApprove_IsAccepted() =>
        (s_valid with { Users = NotesServerOptions.DemoUsers(), AutoApproveUser = "alice@example.com" }).Validate();

    [Fact]
    public void ToString_UsersAndClients_DoNotShowSecrets()
    {
        var user = new NotesUser("alice@example.com", "s3cret-password");
        var client = new NotesClient { ClientId = "gatehouse", ClientSecret = "s3cret-client", RedirectUris = ["http://127.0.0.1/cb"] };

        Assert.DoesNotContain("s3cret", user.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", client.ToString(), StringComparison.Ordinal);
        Assert.Contains("alice@example.com", user.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_AllFlags_SetsEveryOption()
    {
        Assert.True(CommandLine.TryParse(
            ["--data-dir", "/tmp/n", "--urls", "http://127.0.0.1:6000", "--public-url", "http://localhost:6000", "--user", "carol@example.com=pw=with=equals",
             "--client", "my-ide=http://127.0.0.1/callback", "--no-dcr", "--auto-approve", "carol@example.com", "--mcp-path", "/notes",
             "--no-client-metadata-documents", "--access-token-lifetime", "30"],
            out var options, out var demoPasswords, out _));

        Assert.Equal("/tmp/n", options.DataDirectory);
        Assert.Equal("http://127.0.0.1:6000", options.Urls);
        Assert.Equal(new Uri("http://localhost:6000"), options.PublicUrl);
        var user = Assert.Single(options.Users);
        Assert.Equal(("carol@example.com", "pw=with=equals"), (user.Email, user.Password));
        var client = Assert.Single(options.Clients);
        Assert.Equal(("my-ide", "http://127.0.0.1/callback"), (client.ClientId, Assert.Single(client.RedirectUris)));
        Assert.Null(client.ClientSecret);
        Assert.False(options.DynamicClientRegistration);
        Assert.Equal("carol@example.com", options.AutoApproveUser);
        Assert.Equal("/notes", options.McpPath);
        Assert.False(options.ClientIdMetadataDocuments);
        Assert.Equal(TimeSpan.FromSeconds(30), options.AccessTokenLifetime);
        Assert.Empty(demoPasswords);
    }

    [Fact]
    public void TryParse_NoArguments_DemoUsersWithPasswordsForThisRun()
    {
        Assert.True(CommandLine.TryParse([], out var options, out var demoPasswords, out _));

        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "notes-data"), options.DataDirectory);
        Assert.Equal("http://127.0.0.1:5082", options.Urls);
        Assert.True(options.DynamicClientRegistration);
        Assert.Equal(["alice@example.com", "bob@example.com"], demoPasswords.Select(p => p.Email));
        Assert.All(options.Users, u => Assert.Equal(16, u.Password?.Length));
        Assert.Equal(options.Users.Select(u => u.Password), demoPasswords.Select(p => p.Password));
        options.Validate();
    }

    [Theory]
    [InlineData("--port", "80")]
    [InlineData("--data-dir")]
    [InlineData("--user", "no-equals-sign")]
    [InlineData("--public-url", "not a url")]
    [InlineData("--access-token-lifetime", "soon")]
    public void TryParse_UnknownOrIncompleteArgument_FailsWithUsage(params string[] args)
    {
        Assert.False(CommandLine.TryParse(args, out var options, out _, out var error));

        Assert.Null(options);
        Assert.Contains("usage:", error, StringComparison.Ordinal);
    }
}
