using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Servers.Notes.Tests.Infrastructure;

/// <summary>
/// A client's web site on 127.0.0.1:0 that serves its Client ID Metadata Document at <c>/client.json</c>; the
/// document's <c>client_id</c> is its own URL unless <see cref="Change"/> says otherwise.
/// </summary>
internal sealed class MetadataDocumentHost : IAsyncDisposable
{
    public const string RedirectUri = "http://127.0.0.1:47013/callback";

    private readonly WebApplication _app;

    private MetadataDocumentHost(WebApplication app)
    {
        _app = app;
        ClientId = new Uri(app.Urls.Single()).GetLeftPart(UriPartial.Authority) + "/client.json";
    }

    public string ClientId { get; }

    /// <summary>Applied to the document before it is served.</summary>
    public Action<JsonObject> Change { get; set; } = _ => { };

    public int Requests { get; private set; }

    public static async Task<MetadataDocumentHost> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        MetadataDocumentHost? host = null;
        app.MapGet("/client.json", (HttpContext context) =>
        {
            host!.Requests++;
            var document = new JsonObject
            {
                ["client_id"] = host.ClientId,
                ["client_name"] = "Metadata client",
                ["redirect_uris"] = new JsonArray(RedirectUri),
                ["token_endpoint_auth_method"] = "none",
                ["grant_types"] = new JsonArray("authorization_code", "refresh_token"),
            };
            host.Change(document);
            return Results.Text(document.ToJsonString(), "application/json");
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        host = new MetadataDocumentHost(app);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
