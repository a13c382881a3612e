using Gatehouse.Chat.Components;
using Gatehouse.Chat.Conversations;
using Gatehouse.Chat.Gateway;
using Gatehouse.Chat.Identity;
using Gatehouse.Chat.Llm;

namespace Gatehouse.Chat;

/// <summary>
/// Gatehouse Chat: a Blazor Web App (interactive server rendering) served behind Gatehouse as a client route
/// (<c>mcp: {client: {}}</c>, docs/portal.md). Every request must carry the gateway's identity assertion; the TE in
/// <c>Authorization</c> is what the app uses to list and call the user's MCP servers through the gateway.
/// </summary>
public static class ChatApp
{
    /// <summary>
    /// Builds the app without starting it (like <c>NorthwindServer.Build</c>): the caller runs <c>StartAsync</c> and
    /// finds the bound address in <c>app.Urls</c> when <see cref="ChatAppOptions.Urls"/> has port 0.
    /// </summary>
    /// <param name="options">Where the app listens, where Gatehouse serves it, and the LLM.</param>
    /// <param name="configureLogging">Sets up logging; when null, logs go to the console.</param>
    public static WebApplication Build(ChatAppOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // Not CreateBuilder: embedded in the gateway's process, the host's ASPNETCORE_URLS, appsettings.json or
        // environment must not move or reconfigure this app. The content root is where the app's assembly and
        // its static web assets manifest are, whichever process hosts it.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ChatApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrelCore().UseUrls(options.Urls);
        builder.WebHost.UseStaticWebAssets();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddGatewayIdentity();
        builder.Services.AddGatewayClient();
        builder.Services.AddLlm(options.Llm);
        builder.Services.AddConversations(options);

        var app = builder.Build();
        if (options.PathBase.Length > 0)
        {
            app.UsePathBase(options.PathBase);
        }

        // Explicitly after UsePathBase: WebApplication would otherwise route first, on the path with its prefix.
        app.UseRouting();

        app.UseGatewayIdentity();
        app.Use((context, next) =>
        {
            // Defence in depth behind the Markdown rules (docs/chat.md): no script but the app's own files, no
            // framing (clickjacking), no Referer with the conversation's address to the links a model writes.
            // Blazor's reconnect UI adds <style> elements, hence 'unsafe-inline' for styles only.
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
                "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return next(context);
        });
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapPost(TeRefresh.Path, (HttpContext context, TeRefresh refresh) => refresh.Refresh(context)).DisableAntiforgery();

        // Blazor's own frame-ancestors 'self' would be a second policy; the one above already says 'none'.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null);

        // With port 0 the address is known only once Kestrel has bound it.
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChatApp).FullName!);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var llm = options.Llm.IsConfigured ? $"{options.Llm.Endpoint!.Host} ({(options.Llm.Api == LlmApi.Responses ? "Responses API, remote MCP tools" : "Chat Completions")}), models {string.Join(", ", options.Llm.Models)}" : "none configured (tool runner only)";
            foreach (var url in app.Urls)
            {
                ChatLog.Listening(logger, url, options.PublicUrl, llm);
            }
        });
        return app;
    }
}
