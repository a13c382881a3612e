using Gatehouse.Chat.Conversations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Chat.Tests;

/// <summary>chat.db as the app makes it at start-up: by its EF Core migrations, then used by the store.</summary>
public sealed class ConversationStoreTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gatehouse-chat-db-").FullName;
    private ServiceProvider _services = default!;

    public ValueTask InitializeAsync()
    {
        var options = new ChatAppOptions { PublicUrl = new Uri("http://127.0.0.1/chat/"), DatabasePath = Path.Combine(_directory, "chat.db") };
        _services = new ServiceCollection().AddSingleton(TimeProvider.System).AddConversations(options).BuildServiceProvider();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Migrations_NewDatabase_AllAppliedAndConversationRoundTrips()
    {
        var ct = TestContext.Current.CancellationToken;
        var migration = (IHostedLifecycleService)Assert.Single(_services.GetServices<IHostedService>());
        await migration.StartingAsync(ct);

        var contexts = _services.GetRequiredService<IDbContextFactory<ChatDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync(ct));
            Assert.Empty(await db.Database.GetPendingMigrationsAsync(ct));
        }

        var store = _services.GetRequiredService<ConversationStore>();
        var card = new SavedCard("call_1", "northwind", "query", "{\"sql\":\"SELECT 1\"}", 12, "[1]", IsError: false, Denied: false);
        List<ChatMessage> history = [new(ChatRole.User, "What were our sales by year?"), new(ChatRole.Assistant, "Here they are.")];
        await store.SaveAsync("alice-sub", "c1", [new SavedTurn("What were our sales by year?", "Here they are.", null, [card])], history, ct);

        var (turns, messages) = Assert.NotNull(await store.GetAsync("alice-sub", "c1", ct));
        Assert.Equal(card, Assert.Single(Assert.Single(turns).Cards));
        Assert.Equal(["What were our sales by year?", "Here they are."], messages.Select(m => m.Text));
        Assert.Equal("What were our sales by year?", Assert.Single(await store.ListAsync("alice-sub", ct)).Title);
        Assert.Null(await store.GetAsync("bob-sub", "c1", ct));

        // Start-up again (the next run of the app) finds nothing to do and keeps the data.
        await migration.StartingAsync(ct);
        Assert.NotNull(await store.GetAsync("alice-sub", "c1", ct));
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
