using System.Globalization;
using Gatehouse.Servers.Notes.SignIn;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Servers.Notes.Notes;

/// <summary>
/// The notes in a browser, for the signed-in user: the home page lists them and <c>/notes/{id}</c>, the URL that
/// search and fetch return, shows one.
/// </summary>
internal static class NotePages
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", HomeAsync);
        endpoints.MapGet("/notes/{id}", NoteAsync);
    }

    private static async Task<IResult> HomeAsync(HttpContext context, UserDirectory users, NoteStore store, NotesUrls urls)
    {
        var about = $"<p>This is an MCP server. Point your MCP client at <code>{Pages.Encode(urls.Resource(context.Request))}</code>.</p>";
        if (await SignInEndpoints.CurrentUserAsync(context, users) is not { } user)
        {
            return Pages.Render(context, "Notes", about + $"""<p><a href="{SignInEndpoints.Path}">Sign in</a> to read your notes here.</p>""");
        }

        var notes = await store.ListAsync(user.Subject, context.RequestAborted);
        var items = string.Concat(notes.Select(n => $"""<li><a href="/notes/{Pages.Encode(n.Id)}">{Pages.Encode(n.Title)}</a></li>"""));
        return Pages.Render(context, $"{user.Name}'s notes", $"{about}<ul>{items}</ul>");
    }

    private static async Task<IResult> NoteAsync(HttpContext context, string id, UserDirectory users, NoteStore store)
    {
        if (await SignInEndpoints.CurrentUserAsync(context, users) is not { } user)
        {
            return TypedResults.Redirect(SignInEndpoints.SignInUrl("/notes/" + Uri.EscapeDataString(id)));
        }

        if (await store.FindAsync(user.Subject, id, context.RequestAborted) is not { } note)
        {
            return Pages.Error(context, "You have no note with this id.", status: StatusCodes.Status404NotFound);
        }

        var created = note.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return Pages.Render(context, note.Title, $"""<p>{Pages.Encode(created)}</p><pre>{Pages.Encode(note.Text)}</pre><p><a href="/">All notes</a></p>""");
    }
}
