namespace Gatehouse.Servers.Notes.Notes;

/// <summary>
/// The notes each user finds on the first start when <see cref="NotesServerOptions.SeedNotes"/> is not set, so that
/// search and fetch have something to show.
/// </summary>
internal static class SampleNotes
{
    public static IReadOnlyList<NotesSeedNote> For(string email) => email.ToLowerInvariant() switch
    {
        "alice@example.com" =>
        [
            new("Q3 sales plan", """
                Focus on the three largest accounts in the north-east region. Goal: grow repeat orders by 15%.
                - Review discount levels with finance before the 10th.
                - Prepare a beverage bundle for the autumn campaign.
                """),
            new("Customer call: Ernst Handel", """
                Roland asked for faster shipping on dairy products and a quote for 40 cases of Gorgonzola.
                Follow up with a quote by Friday; check stock with the warehouse first.
                """),
            new("Offsite ideas", "A cooking class with products from our own catalogue; a morning hike; no slides after lunch."),
        ],
        "bob@example.com" =>
        [
            new("Deployment checklist", """
                1. Tag the release and write the changelog.
                2. Run the database migration on staging, then production.
                3. Watch error rates for 30 minutes; roll back if they double.
                """),
            new("Gateway on-call notes", """
                If MCP clients get 401 loops, check the authorization server's issuer and the clock of the host.
                Rotating refresh tokens: a replayed token revokes the whole grant, so the user must sign in again.
                """),
        ],
        _ =>
        [
            new("Welcome to Notes", "This is your first note. Ask your assistant to search your notes, read one, or create a new one."),
        ],
    };
}
