using System.Collections.Frozen;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Serialization;
using Gatehouse.Servers.Notes.Authorization;
using Gatehouse.Servers.Notes.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Notes;

/// <summary>
/// The tools, in the search-and-fetch shape of OpenAI's deep research connectors: <c>search</c> returns ids, titles
/// and URLs; <c>fetch</c> returns one whole document; plus <c>create_note</c>. Each acts for the user the access
/// token names, on that user's notes only. Results are structured content, with the same JSON as text content for
/// clients that read only text.
/// </summary>
[McpServerToolType]
internal sealed class NoteTools(NoteStore store, NotesUrls urls, IHttpContextAccessor http, ILogger<NoteTools> logger)
{
    /// <summary>The scope each tool needs; ToolScopeCheck refuses a call without it (403 insufficient_scope).</summary>
    private static readonly FrozenDictionary<string, string> s_requiredScopes = new Dictionary<string, string>
    {
        ["search"] = NotesScopes.Read,
        ["fetch"] = NotesScopes.Read,
        ["create_note"] = NotesScopes.Write,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static string? RequiredScope(string tool) => s_requiredScopes.GetValueOrDefault(tool);

    [McpServerTool(Name = "search", Title = "Search notes", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Searches your notes. Returns {"results": [{"id", "title", "url"}]}: the notes whose title or text contains
        every word of the query, newest first, at most 20. An empty query lists your latest notes. Read a whole note
        with fetch and its id.
        """)]
    public async Task<SearchResults> Search(
        [Description("Words to look for, e.g. \"launch checklist\". Case does not matter.")] string query,
        CancellationToken cancellationToken)
    {
        var (request, owner) = Caller();
        var notes = await store.SearchAsync(owner, query ?? "", cancellationToken);
        return new SearchResults([.. notes.Select(n => new SearchResult(n.Id, n.Title, urls.Note(request, n.Id)))]);
    }

    [McpServerTool(Name = "fetch", Title = "Fetch a note", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Returns one of your notes in full: {"id", "title", "text", "url", "metadata": {"owner", "created_at"}}.
        Take the id from search (or create_note).
        """)]
    public async Task<NoteDocument> Fetch(
        [Description("The note's id, as search returned it, e.g. \"3f9c0a2b7d41e688\".")] string id,
        CancellationToken cancellationToken)
    {
        var (request, owner) = Caller();
        // Someone else's note is "not found" too: its existence is not the caller's business.
        var note = await store.FindAsync(owner, id ?? "", cancellationToken)
            ?? throw new McpException($"You have no note with id '{id}'. Use search to find the ids of your notes.");
        return Document(request, note);
    }

    [McpServerTool(Name = "create_note", Title = "Create a note", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Creates a note in your notes and returns it as fetch would: {"id", "title", "text", "url", "metadata"}.
        The title is 1 to 200 characters, the text at most 100,000.
        """)]
    public async Task<NoteDocument> CreateNote(
        [Description("A short title, e.g. \"Ideas for the offsite\".")] string title,
        [Description("The note's text; plain text or Markdown.")] string text,
        CancellationToken cancellationToken)
    {
        var (request, owner) = Caller();
        title = title?.Trim() ?? "";
        if (title.Length is 0 or > Note.MaxTitleLength)
        {
            throw new McpException($"The title must be 1 to {Note.MaxTitleLength} characters; it is {title.Length}.");
        }

        if ((text ?? "").Length > Note.MaxTextLength)
        {
            throw new McpException($"The text must be at most {Note.MaxTextLength} characters; it is {text!.Length}. Split it into several notes.");
        }

        var note = await store.CreateAsync(owner, title, text ?? "", cancellationToken);
        Log.NoteCreated(logger, owner, note.Id);
        return Document(request, note);
    }

    /// <summary>The request and its user. The MCP endpoint requires an access token, so there always is one.</summary>
    private (HttpRequest Request, string Owner) Caller()
    {
        var context = http.HttpContext ?? throw new InvalidOperationException("Tools run within an HTTP request (stateless Streamable HTTP).");
        var owner = context.User.FindFirst(Claims.Subject)?.Value ?? throw new InvalidOperationException("The request has no authenticated user.");
        return (context.Request, owner);
    }

    private NoteDocument Document(HttpRequest request, Note note) =>
        new(note.Id, note.Title, note.Text, urls.Note(request, note.Id),
            new NoteMetadata(note.Owner, note.CreatedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)));
}

internal sealed record SearchResults([property: JsonPropertyName("results")] IReadOnlyList<SearchResult> Results);

internal sealed record SearchResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("url")] string Url);

internal sealed record NoteDocument(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("metadata")] NoteMetadata Metadata);

internal sealed record NoteMetadata(
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("created_at")] string CreatedAt);
