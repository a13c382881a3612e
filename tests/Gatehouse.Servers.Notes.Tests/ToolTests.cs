using System.Net;
using System.Text.Json;
using Gatehouse.Servers.Notes.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>search, fetch and create_note through the C# SDK's MCP client, as alice and bob.</summary>
public sealed class ToolTests : IAsyncLifetime
{
    private NotesTestServer _server = null!;
    private McpClient _alice = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await NotesTestServer.StartAsync();
        _alice = await _server.ConnectAsync((await _server.TokensForAsync("alice@example.com")).AccessToken!);
    }

    public async ValueTask DisposeAsync()
    {
        await _alice.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ListTools_Connected_SearchFetchAndCreateNoteWithOutputSchemas()
    {
        var tools = await _alice.ListToolsAsync(cancellationToken: Ct);

        Assert.Equal(["create_note", "fetch", "search"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(tools, t => Assert.NotNull(t.ProtocolTool.OutputSchema));
        Assert.True(tools.Single(t => t.Name == "search").ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.False(tools.Single(t => t.Name == "create_note").ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.Equal("gatehouse-notes", _alice.ServerInfo?.Name);
    }

    [Fact]
    public async Task Search_SeededNotes_ResultsWithIdTitleAndUrlAsStructuredAndTextContent()
    {
        var result = await CallAsync(_alice, "search", new() { ["query"] = "ernst" });

        var hit = Assert.Single(Json(result).GetProperty("results").EnumerateArray());
        Assert.Equal("Customer call: Ernst Handel", hit.GetProperty("title").GetString());
        var id = hit.GetProperty("id").GetString()!;
        Assert.Equal($"{_server.Origin}/notes/{id}", hit.GetProperty("url").GetString());
        Assert.Equal(Json(result).GetRawText(), JsonDocument.Parse(result.Text()).RootElement.GetRawText());
    }

    [Fact]
    public async Task Search_SeveralWords_OnlyNotesWithEveryWord()
    {
        var both = await CallAsync(_alice, "search", new() { ["query"] = "DISCOUNT finance" });
        var none = await CallAsync(_alice, "search", new() { ["query"] = "discount hike" });
        var all = await CallAsync(_alice, "search", new() { ["query"] = "" });

        Assert.Equal(["Q3 sales plan"], Titles(both));
        Assert.Empty(Titles(none));
        Assert.Equal(3, Titles(all).Count);
    }

    [Fact]
    public async Task Fetch_IdFromSearch_TheWholeDocument()
    {
        var id = await FirstIdAsync(_alice, "offsite");

        var document = Json(await CallAsync(_alice, "fetch", new() { ["id"] = id }));

        Assert.Equal(id, document.GetProperty("id").GetString());
        Assert.Equal("Offsite ideas", document.GetProperty("title").GetString());
        Assert.StartsWith("A cooking class", document.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal($"{_server.Origin}/notes/{id}", document.GetProperty("url").GetString());
        Assert.Equal("alice@example.com", document.GetProperty("metadata").GetProperty("owner").GetString());
    }

    [Fact]
    public async Task CreateNote_ThenSearchAndFetch_FindsIt()
    {
        var created = Json(await CallAsync(_alice, "create_note", new() { ["title"] = "Pricing idea", ["text"] = "Bundle chai with scones." }));
        var id = created.GetProperty("id").GetString()!;

        Assert.Equal(id, await FirstIdAsync(_alice, "scones"));
        Assert.Equal("Bundle chai with scones.", Json(await CallAsync(_alice, "fetch", new() { ["id"] = id })).GetProperty("text").GetString());
    }

    [Fact]
    public async Task CreateNote_EmptyTitle_ToolErrorThatSaysWhy()
    {
        var result = await _alice.CallToolAsync("create_note", new Dictionary<string, object?> { ["title"] = " ", ["text"] = "x" }, cancellationToken: Ct);

        Assert.True(result.IsError);
        Assert.Contains("title must be 1 to 200 characters", result.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_AnotherUsersNoteById_NotFoundAndNotInSearch()
    {
        await using var bob = await _server.ConnectAsync((await _server.TokensForAsync("bob@example.com")).AccessToken!);
        var bobsNote = await FirstIdAsync(bob, "deployment");
        var bobsNew = Json(await CallAsync(bob, "create_note", new() { ["title"] = "Bob private", ["text"] = "secret plan" })).GetProperty("id").GetString()!;

        var fetched = await _alice.CallToolAsync("fetch", new Dictionary<string, object?> { ["id"] = bobsNote }, cancellationToken: Ct);
        var fetchedNew = await _alice.CallToolAsync("fetch", new Dictionary<string, object?> { ["id"] = bobsNew }, cancellationToken: Ct);
        var searched = await CallAsync(_alice, "search", new() { ["query"] = "secret" });
        var deployment = await CallAsync(_alice, "search", new() { ["query"] = "deployment" });

        Assert.True(fetched.IsError);
        Assert.Contains("no note with id", fetched.Text(), StringComparison.Ordinal);
        Assert.True(fetchedNew.IsError);
        Assert.Empty(Titles(searched));
        Assert.Empty(Titles(deployment));
        Assert.Equal("Bob private", Json(await CallAsync(bob, "fetch", new() { ["id"] = bobsNew })).GetProperty("title").GetString());
    }

    [Fact]
    public async Task CreateNote_ReadOnlyToken_403InsufficientScopeNamingNotesWrite()
    {
        var readOnly = (await _server.TokensForAsync("alice@example.com", scope: "notes:read")).AccessToken!;
        const string Call = """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"t","text":"x"}}}""";

        using var response = await _server.PostMcpAsync(Call, readOnly);
        using var search = await _server.PostMcpAsync(Call.Replace("create_note", "search", StringComparison.Ordinal), readOnly);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var challenge = Assert.Single(response.Headers.GetValues("WWW-Authenticate"));
        Assert.StartsWith("Bearer ", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);
        Assert.Contains("scope=\"notes:write\"", challenge, StringComparison.Ordinal);
        Assert.Contains($"resource_metadata=\"{_server.Origin}/.well-known/oauth-protected-resource/mcp\"", challenge, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
    }

    [Fact]
    public async Task CreateNote_InABatchWithAReadOnlyToken_403()
    {
        var readOnly = (await _server.TokensForAsync("alice@example.com", scope: "notes:read")).AccessToken!;
        const string Batch = """
            [{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"query":""}}},
             {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_note","arguments":{"title":"t","text":"x"}}}]
            """;

        using var response = await _server.PostMcpAsync(Batch, readOnly);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task CreateNote_ReadOnlyTokenThroughTheSdk_FailsAndCreatesNothing()
    {
        await using var readOnly = await _server.ConnectAsync((await _server.TokensForAsync("alice@example.com", scope: "notes:read")).AccessToken!);

        await Assert.ThrowsAnyAsync<Exception>(() =>
            readOnly.CallToolAsync("create_note", new Dictionary<string, object?> { ["title"] = "Sneaky", ["text"] = "x" }, cancellationToken: Ct).AsTask());

        Assert.Empty(Titles(await CallAsync(_alice, "search", new() { ["query"] = "sneaky" })));
    }

    [Fact]
    public async Task Search_SeedNotesOption_ThoseNotesInsteadOfTheSamplesAndOnlyOnce()
    {
        using var data = new TempDirectory();
        var seeds = new Dictionary<string, IReadOnlyList<NotesSeedNote>>
        {
            ["ALICE@example.com"] = [new("Launch checklist", "Ship on Tuesday."), new("Retro", "What went well.")],
        };
        for (var start = 0; start < 2; start++)
        {
            // The second start finds alice's notes and adds nothing.
            await using var server = await NotesTestServer.StartAsync(o => o with { SeedNotes = seeds }, data.Path);
            await using var alice = await server.ConnectAsync((await server.TokensForAsync("alice@example.com")).AccessToken!);
            await using var bob = await server.ConnectAsync((await server.TokensForAsync("bob@example.com")).AccessToken!);

            Assert.Equal(["Retro", "Launch checklist"], Titles(await CallAsync(alice, "search", new() { ["query"] = "" })));
            Assert.Empty(Titles(await CallAsync(bob, "search", new() { ["query"] = "" })));
        }
    }

    private static async Task<CallToolResult> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: Ct);
        Assert.False(result.IsError ?? false, result.Content.OfType<TextContentBlock>().FirstOrDefault()?.Text);
        return result;
    }

    private static JsonElement Json(CallToolResult result) =>
        result.StructuredContent is { } structured ? JsonSerializer.SerializeToElement(structured) : throw new Xunit.Sdk.XunitException("no structured content");

    private static List<string> Titles(CallToolResult result) =>
        [.. Json(result).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("title").GetString()!)];

    private static async Task<string> FirstIdAsync(McpClient client, string query) =>
        Json(await CallAsync(client, "search", new() { ["query"] = query })).GetProperty("results")[0].GetProperty("id").GetString()!;
}
