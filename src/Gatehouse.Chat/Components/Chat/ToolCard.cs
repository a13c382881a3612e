using Gatehouse.Chat.Conversations;
using Gatehouse.Chat.Gateway;

namespace Gatehouse.Chat.Components.Chat;

/// <summary>One tool call of a conversation turn: what the model asked, where it went and how it ended.</summary>
public sealed class ToolCard(string callId, string server, string tool, string arguments, long startedAt)
{
    public string CallId { get; } = callId;

    public string Server { get; } = server;

    public string Tool { get; } = tool;

    /// <summary>Known when the call starts, or (a call the provider runs, Responses API) only when it is done.</summary>
    public string Arguments { get; set; } = arguments;

    public long StartedAt { get; } = startedAt;

    public TimeSpan? Duration { get; private set; }

    public ToolOutcome? Outcome { get; private set; }

    public void Complete(ToolOutcome outcome, TimeSpan duration)
    {
        Outcome = outcome;
        Duration = duration;
    }

    public SavedCard ToSaved() =>
        new(CallId, Server, Tool, Arguments, Duration?.TotalMilliseconds, Outcome?.Text, Outcome?.IsError ?? false, Outcome?.Denied ?? false);

    public static ToolCard From(SavedCard saved)
    {
        var card = new ToolCard(saved.CallId, saved.Server, saved.Tool, saved.Arguments, 0);
        if (saved.Result is not null)
        {
            card.Complete(new ToolOutcome(saved.Result, saved.IsError, saved.Denied), TimeSpan.FromMilliseconds(saved.DurationMs ?? 0));
        }

        return card;
    }
}
