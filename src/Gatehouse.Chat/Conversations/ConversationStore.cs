using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.AI;

namespace Gatehouse.Chat.Conversations;

/// <summary>One saved conversation: what the page shows (<see cref="Turns"/>) and what the model is sent (<see cref="History"/>).</summary>
internal sealed class Conversation
{
    public required string Id { get; set; }

    /// <summary>The user's <c>sub</c> from the identity assertion: every query filters on it.</summary>
    public required string Owner { get; set; }

    public required string Title { get; set; }

    /// <summary>Unix milliseconds: SQLite cannot order DateTimeOffset values.</summary>
    public long UpdatedAt { get; set; }

    /// <summary>JSON of <see cref="SavedTurn"/>s.</summary>
    public required string Turns { get; set; }

    /// <summary>JSON of Microsoft.Extensions.AI <see cref="ChatMessage"/>s (their contents are polymorphic with <c>$type</c>).</summary>
    public required string History { get; set; }
}

/// <summary>A turn as the page shows it: the question, the answer's Markdown, the tool cards.</summary>
public sealed record SavedTurn(string Question, string Answer, string? Status, IReadOnlyList<SavedCard> Cards);

public sealed record SavedCard(string CallId, string Server, string Tool, string Arguments, double? DurationMs, string? Result, bool IsError, bool Denied);

public sealed record ConversationSummary(string Id, string Title);

[JsonSerializable(typeof(List<SavedTurn>))]
internal sealed partial class ConversationJsonContext : JsonSerializerContext;

internal sealed class ChatDbContext(DbContextOptions<ChatDbContext> options) : DbContext(options)
{
    public DbSet<Conversation> Conversations => Set<Conversation>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<Conversation>(c =>
        {
            c.HasKey(x => x.Id);
            c.HasIndex(x => new { x.Owner, x.UpdatedAt });
            c.Property(x => x.Title).HasMaxLength(200);
        });
}

/// <summary>Used only by <c>dotnet ef migrations add ... --project src/Gatehouse.Chat</c>; never opens the database.</summary>
internal sealed class ChatDbDesignTimeFactory : IDesignTimeDbContextFactory<ChatDbContext>
{
    public ChatDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<ChatDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary>
/// Each user's conversations. Every method takes the owner and filters on it, so a conversation id from another user
/// finds nothing. A context per operation: Blazor Server components live long and run concurrently on a circuit.
/// </summary>
internal sealed class ConversationStore(IDbContextFactory<ChatDbContext> contexts, TimeProvider time)
{
    public const int TitleLength = 200;

    public async Task<List<ConversationSummary>> ListAsync(string owner, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Conversations.Where(c => c.Owner == owner).OrderByDescending(c => c.UpdatedAt)
            .Select(c => new ConversationSummary(c.Id, c.Title)).ToListAsync(cancellationToken);
    }

    public async Task<(List<SavedTurn> Turns, List<ChatMessage> History)?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversation = await db.Conversations.SingleOrDefaultAsync(c => c.Owner == owner && c.Id == id, cancellationToken);
        if (conversation is null)
        {
            return null;
        }

        return (JsonSerializer.Deserialize(conversation.Turns, ConversationJsonContext.Default.ListSavedTurn) ?? [],
            (List<ChatMessage>?)JsonSerializer.Deserialize(conversation.History, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(List<ChatMessage>))) ?? []);
    }

    /// <summary>Creates or updates a conversation; a new one is titled after its first question.</summary>
    public async Task SaveAsync(string owner, string id, IReadOnlyList<SavedTurn> turns, IReadOnlyList<ChatMessage> history, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var conversation = await db.Conversations.SingleOrDefaultAsync(c => c.Owner == owner && c.Id == id, cancellationToken);
        if (conversation is null)
        {
            conversation = new Conversation { Id = id, Owner = owner, Title = Truncate(turns.Count > 0 ? turns[0].Question : "New chat"), Turns = "", History = "" };
            db.Conversations.Add(conversation);
        }

        conversation.Turns = JsonSerializer.Serialize(turns.ToList(), ConversationJsonContext.Default.ListSavedTurn);
        conversation.History = JsonSerializer.Serialize(history.ToList(), AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(List<ChatMessage>)));
        conversation.UpdatedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.SaveChangesAsync(cancellationToken);
    }

    public async Task RenameAsync(string owner, string id, string title, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Conversations.Where(c => c.Owner == owner && c.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Title, Truncate(title)), cancellationToken);
    }

    public async Task DeleteAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Conversations.Where(c => c.Owner == owner && c.Id == id).ExecuteDeleteAsync(cancellationToken);
    }

    private static string Truncate(string title)
    {
        title = title.Trim();
        return title.Length == 0 ? "New chat" : title.Length <= TitleLength ? title : title[..(TitleLength - 1)] + "…";
    }
}

internal static class ConversationExtensions
{
    /// <summary>
    /// The store, when <see cref="ChatAppOptions.DatabasePath"/> is set, and its schema migrated at start-up
    /// (EF Core migrations in Conversations/Migrations, docs/chat.md), so that the schema can change without losing
    /// users' conversations.
    /// </summary>
    public static IServiceCollection AddConversations(this IServiceCollection services, ChatAppOptions options)
    {
        if (options.DatabasePath is { } path)
        {
            services.AddDbContextFactory<ChatDbContext>(o => o.UseSqlite($"Data Source={path}"));
            services.AddSingleton<ConversationStore>();
            services.AddHostedService<ConversationsMigration>();
        }

        return services;
    }
}

/// <summary>
/// Migrates chat.db in <see cref="IHostedLifecycleService.StartingAsync"/>, which runs before any hosted service
/// starts, Kestrel included: no request meets an old schema, and an app whose database cannot be migrated does not
/// start. The app owns this file alone, so no other process migrates it concurrently.
/// </summary>
internal sealed class ConversationsMigration(IDbContextFactory<ChatDbContext> contexts) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.Database.MigrateAsync(cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
