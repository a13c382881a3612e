using Gatehouse.Servers.Notes.Authorization;
using Gatehouse.Servers.Notes.Notes;
using Gatehouse.Servers.Notes.SignIn;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Servers.Notes.Storage;

/// <summary>
/// Start-up work that needs the services, done before Kestrel opens (hosted services start first): the configured
/// OAuth clients are made to match the options, and users without notes get their first ones.
/// </summary>
internal sealed class NotesStartup(IServiceScopeFactory scopes, NotesServerOptions options, UserDirectory users, ILogger<NotesStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ClientStore>().SyncConfiguredAsync(options.Clients, cancellationToken);

        var notes = scope.ServiceProvider.GetRequiredService<NoteStore>();
        foreach (var user in users.All)
        {
            // Emails compare without case, whatever comparer the caller's dictionary has.
            var seeds = options.SeedNotes is null
                ? SampleNotes.For(user.Email)
                : options.SeedNotes.FirstOrDefault(s => string.Equals(s.Key, user.Email, StringComparison.OrdinalIgnoreCase)).Value ?? [];
            if (await notes.SeedAsync(user.Subject, seeds, cancellationToken) is > 0 and var count)
            {
                Log.SeededNotes(logger, count, user.Email);
            }
        }

        if (users.AutoApprove is { } auto)
        {
            Log.AutoApproveOn(logger, auto.Email);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
