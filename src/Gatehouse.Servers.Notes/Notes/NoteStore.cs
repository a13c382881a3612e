using System.Security.Cryptography;
using System.Text;
using Gatehouse.Servers.Notes.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Servers.Notes.Notes;

/// <summary>
/// The notes of one owner at a time: every query is filtered by owner, so no id, guessed or leaked, reaches a
/// note of someone else.
/// </summary>
internal sealed class NoteStore(NotesDbContext db, TimeProvider time)
{
    public const int MaxSearchResults = 20;

    /// <summary>
    /// The owner's notes whose title or text contains every word of <paramref name="query"/> (ASCII letters compare
    /// without case), newest first; all of them, up to the limit, for a blank query.
    /// </summary>
    public async Task<List<Note>> SearchAsync(string owner, string query, CancellationToken cancellationToken)
    {
        var notes = db.Notes.AsNoTracking().Where(n => n.Owner == owner);
        foreach (var word in query.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.OrdinalIgnoreCase).Take(10))
        {
            var pattern = "%" + EscapeLike(word) + "%";
            notes = notes.Where(n => EF.Functions.Like(n.Title, pattern, "\\") || EF.Functions.Like(n.Text, pattern, "\\"));
        }

        return await notes.OrderByDescending(n => n.CreatedAt).ThenBy(n => n.Id).Take(MaxSearchResults).ToListAsync(cancellationToken);
    }

    public Task<Note?> FindAsync(string owner, string id, CancellationToken cancellationToken) =>
        db.Notes.AsNoTracking().FirstOrDefaultAsync(n => n.Id == id && n.Owner == owner, cancellationToken);

    public Task<List<Note>> ListAsync(string owner, CancellationToken cancellationToken) =>
        db.Notes.AsNoTracking().Where(n => n.Owner == owner).OrderByDescending(n => n.CreatedAt).ThenBy(n => n.Id).ToListAsync(cancellationToken);

    public async Task<Note> CreateAsync(string owner, string title, string text, CancellationToken cancellationToken)
    {
        var note = new Note { Id = NewId(), Owner = owner, Title = title, Text = text, CreatedAt = time.GetUtcNow() };
        db.Notes.Add(note);
        await db.SaveChangesAsync(cancellationToken);
        return note;
    }

    /// <summary>Gives an owner who has no notes yet the given ones (the demo users' first start).</summary>
    public async Task<int> SeedAsync(string owner, IReadOnlyList<NotesSeedNote> notes, CancellationToken cancellationToken)
    {
        if (notes.Count == 0 || await db.Notes.AnyAsync(n => n.Owner == owner, cancellationToken))
        {
            return 0;
        }

        // Older first, so that the first note listed is the last one here.
        var now = time.GetUtcNow();
        for (var i = 0; i < notes.Count; i++)
        {
            db.Notes.Add(new Note { Id = NewId(), Owner = owner, Title = notes[i].Title.Trim(), Text = notes[i].Text ?? "", CreatedAt = now.AddMinutes(i - notes.Count) });
        }

        await db.SaveChangesAsync(cancellationToken);
        return notes.Count;
    }

    /// <summary>16 lower-case hex digits: unguessable (64 random bits), stable, and safe in a URL.</summary>
    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static string EscapeLike(string word)
    {
        var escaped = new StringBuilder(word.Length);
        foreach (var c in word)
        {
            if (c is '%' or '_' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
