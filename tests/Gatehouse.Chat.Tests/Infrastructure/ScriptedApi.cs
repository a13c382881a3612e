using System.Text.Json.Nodes;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Chat.Tests.Infrastructure;

/// <summary>
/// A scripted OpenAI-compatible API on 127.0.0.1 (stopped on dispose) that records what it is sent: every request
/// body and its <c>Authorization</c> (the API key must arrive, and only here).
/// </summary>
internal abstract class ScriptedApi : IAsyncDisposable
{
    private TestUpstream? _server;

    /// <summary>What the app sends as the OpenAI base URL (the SDK appends the operation's path).</summary>
    public Uri Endpoint => new(_server!.BaseUri, "/v1");

    /// <summary>Every request body received, in order.</summary>
    public List<JsonNode> Requests { get; } = [];

    /// <summary>The <c>Authorization</c> header of every request.</summary>
    public List<string> Authorizations { get; } = [];

    /// <summary>Starts <paramref name="api"/> answering <c>POST</c> on <paramref name="path"/>.</summary>
    protected static async Task<T> StartOnAsync<T>(T api, string path)
        where T : ScriptedApi
    {
        api._server = await TestUpstream.StartAsync(app => app.MapPost(path, api.ReceiveAsync));
        return api;
    }

    /// <summary>Streams the scripted answer to <paramref name="request"/>, the <paramref name="number"/>th received.</summary>
    protected abstract Task AnswerAsync(HttpContext context, JsonNode request, int number);

    private async Task ReceiveAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!;
        int number;
        lock (Requests)
        {
            Requests.Add(request);
            Authorizations.Add(context.Request.Headers.Authorization.ToString());
            number = Requests.Count;
        }

        await AnswerAsync(context, request, number);
    }

    public ValueTask DisposeAsync() => _server?.DisposeAsync() ?? ValueTask.CompletedTask;
}
