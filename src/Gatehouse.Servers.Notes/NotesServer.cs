using System.Text.Json;
using System.Threading.RateLimiting;
using Gatehouse.Servers.Notes.Authorization;
using Gatehouse.Servers.Notes.Notes;
using Gatehouse.Servers.Notes.ResourceServer;
using Gatehouse.Servers.Notes.SignIn;
using Gatehouse.Servers.Notes.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Servers.Notes;

/// <summary>
/// The Notes reference MCP server: an MCP server that is its own OAuth 2.1 authorization server (the pattern of an
/// application that adds an MCP endpoint and signs its own users in), with per-user notes in SQLite. Gatehouse
/// fronts it as an upstream with OAuth of its own; Program.cs runs it standalone.
/// </summary>
public static class NotesServer
{
    /// <summary>The CORS policy of the APIs a browser-based MCP client calls: any origin, no cookies.</summary>
    internal const string PublicCorsPolicy = "notes-public-api";

    /// <summary>
    /// Builds the server, creating its database (and keys) in <see cref="NotesServerOptions.DataDirectory"/> first if
    /// they are missing. The application is not started: the caller runs <c>StartAsync</c>/<c>StopAsync</c> (or
    /// <c>RunAsync</c>) and, after start, finds the bound addresses in <c>app.Urls</c>.
    /// </summary>
    /// <param name="options">Data directory, listen addresses, users, clients and OAuth settings.</param>
    /// <param name="configureLogging">
    /// Sets up logging. The builder starts with no providers, so that a host embedding the server decides where its
    /// logs go; when null, logs go to the console.
    /// </param>
    public static WebApplication Build(NotesServerOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // The authorization server is configured with its keys, so they are loaded (or made, on the first start) now.
        var database = new NotesDatabase(options.DataDirectory);
        var (keys, created) = database.EnsureCreated();

        // The empty builder reads no appsettings.json, environment variables or command line: embedded in the
        // gateway, the host's ASPNETCORE_URLS or Kestrel settings must not move this server elsewhere.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(NotesServer).Assembly.GetName().Name,
        });
        builder.WebHost.UseKestrelCore().UseUrls(options.Urls);
        ConfigureLogging(builder.Logging, configureLogging);

        var services = builder.Services;
        services.AddRouting();
        services.AddSingleton(options);
        services.AddSingleton(database);
        services.AddSingleton(_ => keys);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<NotesUrls>();
        services.AddSingleton<UserDirectory>();
        services.AddHttpContextAccessor();
        services.AddDbContext<NotesDbContext>(database.Configure);
        services.AddScoped<NoteStore>();
        services.AddSingleton<ClientMetadataFetcher>();
        services.AddHostedService<NotesStartup>();

        // The sign-in cookie and the antiforgery tokens are protected with keys kept in notes.db.
        services.AddDataProtection().SetApplicationName("gatehouse-notes").PersistKeysToDbContext<NotesDbContext>();
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.FormFieldName = SignInEndpoints.AntiforgeryField;
            antiforgery.Cookie.Name = "notes.csrf";
        });
        services.AddAuthentication()
            .AddCookie(SignInEndpoints.CookieScheme, cookie =>
            {
                cookie.Cookie.Name = "notes.session";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                // Secure over https; plain http happens only on loopback (NotesServerOptions checks it).
                cookie.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
                cookie.SlidingExpiration = true;
                cookie.LoginPath = SignInEndpoints.Path;
            })
            .AddScheme<AuthenticationSchemeOptions, AccessTokenHandler>(AccessTokenHandler.SchemeName, configureOptions: null);
        services.AddAuthorization();
        services.AddNotesAuthorizationServer(options, keys);

        services.AddCors(cors => cors.AddPolicy(PublicCorsPolicy, policy => policy
            .AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod()
            .WithExposedHeaders("WWW-Authenticate", "Mcp-Session-Id", "Mcp-Protocol-Version")));
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(RegistrationEndpoint.RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1) }));
        });
        if (options.PublicUrl is null)
        {
            // The issuer and the resource follow the request's origin, so only loopback names are served: no other
            // site can make a browser talk to this server under its own name (DNS rebinding).
            services.AddHostFiltering(hosts => hosts.AllowedHosts = ["127.0.0.1", "localhost", "[::1]"]);
        }

        AddMcp(services);

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NotesServer).FullName!);
        if (created)
        {
            Log.CreatedDatabase(logger, database.FullPath);
        }
        else
        {
            Log.UsingExistingDatabase(logger, database.FullPath);
        }

        UsePipeline(app, options);
        MapEndpoints(app, options);

        // With port 0 the address is known only once Kestrel has bound it.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var url in app.Urls)
            {
                var origin = options.PublicUrl?.GetLeftPart(UriPartial.Authority) ?? url.TrimEnd('/');
                Log.Listening(logger, origin + options.McpPath, origin + "/");
            }
        });
        return app;
    }

    /// <summary>
    /// The MCP endpoint of a started server, the URL clients and gateways connect to and the OAuth resource its tokens
    /// are for: <see cref="NotesServerOptions.PublicUrl"/>, else the first bound address (the port the OS picked for
    /// port 0), with <see cref="NotesServerOptions.McpPath"/>.
    /// </summary>
    public static Uri GetMcpUrl(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<NotesServerOptions>();
        var origin = options.PublicUrl?.GetLeftPart(UriPartial.Authority) ?? app.Urls.FirstOrDefault()?.TrimEnd('/')
            ?? throw new InvalidOperationException("The server has no address yet: call StartAsync first.");
        return new Uri(origin + options.McpPath);
    }

    private static void ConfigureLogging(ILoggingBuilder logging, Action<ILoggingBuilder>? configureLogging)
    {
        if (configureLogging is not null)
        {
            configureLogging(logging);
            return;
        }

        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("OpenIddict", LogLevel.Warning);
        logging.AddFilter("ModelContextProtocol", LogLevel.Warning);
        // Data Protection warns that its keys are stored unencrypted: they are, in notes.db, readable by its owner only.
        logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
    }

    private static void AddMcp(IServiceCollection services)
    {
        var json = new JsonSerializerOptions(McpJsonUtilities.DefaultOptions);
        json.TypeInfoResolverChain.Insert(0, NotesJsonContext.Default);
        services
            .AddMcpServer(mcp =>
            {
                mcp.ServerInfo = new Implementation
                {
                    Name = "gatehouse-notes",
                    Title = "Notes",
                    Version = typeof(NotesServer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
                };
                mcp.ServerInstructions =
                    "The user's personal notes. Use search to find notes (it returns ids, titles and URLs), fetch to read one " +
                    "in full, and create_note to write a new one.";
            })
            .WithHttpTransport(http =>
            {
                // Stateless: every request carries its access token and is served on its own, so nothing ties a
                // client to one process, no session can outlive or outrun its token, and 2026-07-28 clients (which
                // have no sessions) are served natively. The tools need nothing from the client mid-call.
                http.SessionMode = HttpServerSessionMode.Stateless;
            })
            .WithTools<NoteTools>(json);
    }

    private static void UsePipeline(WebApplication app, NotesServerOptions options)
    {
        if (options.PublicUrl is null)
        {
            app.UseHostFiltering();
        }

        // Host names compare without case; lower-cased here, the issuer OpenIddict derives from the request and the
        // resource NotesUrls builds are canonical (MCP authorization, "Canonical Server URI").
        app.Use((context, next) =>
        {
            if (context.Request.Host.Value is { } host && host.Any(char.IsAsciiLetterUpper))
            {
                context.Request.Host = new HostString(host.ToLowerInvariant());
            }

            return next(context);
        });

        app.UseRouting();
        // OpenIddict answers its metadata, JWKS, token and revocation requests inside the authentication
        // middleware, before any endpoint, so CORS is applied by path rather than per endpoint.
        app.UseWhen(context => IsPublicApi(context.Request.Path, options), branch => branch.UseCors(PublicCorsPolicy));
        app.UseRateLimiter();
        // Before authentication: OpenIddict reads the authorization request there and must find the client stored.
        app.UseMiddleware<ClientMetadataDocuments>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseWhen(
            context => context.Request.Path.Equals(options.McpPath, StringComparison.Ordinal),
            branch => branch.UseMiddleware<ToolScopeCheck>());
    }

    private static void MapEndpoints(WebApplication app, NotesServerOptions options)
    {
        var urls = app.Services.GetRequiredService<NotesUrls>();
        app.MapNotesAuthorizationServer();
        SignInEndpoints.Map(app);
        NotePages.Map(app);
        ProtectedResourceMetadata.Map(app, urls);
        app.MapMcp(options.McpPath).RequireAuthorization(
            new AuthorizationPolicyBuilder(AccessTokenHandler.SchemeName).RequireAuthenticatedUser().Build());
    }

    private static bool IsPublicApi(PathString path, NotesServerOptions options) =>
        path.StartsWithSegments("/.well-known", StringComparison.OrdinalIgnoreCase) ||
        path.Equals(AuthorizationServer.TokenPath, StringComparison.OrdinalIgnoreCase) ||
        path.Equals(AuthorizationServer.RegisterPath, StringComparison.OrdinalIgnoreCase) ||
        path.Equals(AuthorizationServer.RevokePath, StringComparison.OrdinalIgnoreCase) ||
        path.Equals(options.McpPath, StringComparison.Ordinal);
}
