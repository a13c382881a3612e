using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Gatehouse.Proxy;

namespace Gatehouse.Authorization;

/// <summary>
/// RFC 7591 dynamic client registration, off unless <c>authorization_server.dynamic_client_registration.enabled</c>.
/// MCP 2026-07-28 deprecates it in favour of Client ID Metadata Documents; it stays for clients that know nothing
/// else. Registration is open (RFC 7591 §3 allows it), so it is rate-limited per client address.
/// </summary>
internal static partial class ClientRegistrationEndpoint
{
    private const int MaxBodyBytes = 16 * 1024;

    private static readonly string[] s_authMethods = ["none", "client_secret_basic", "client_secret_post"];

    /// <summary>Twenty registrations a minute per address: enough for any real client, too few to fill the database.</summary>
    private static readonly PartitionedRateLimiter<string> s_limiter = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1) }));

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(AuthorizationServerExtensions.RegisterPath, HandleAsync).WithOrder(-1).ExcludeFromDescription();

    private static async Task<IResult> HandleAsync(HttpContext context, GatewayState state, ClientRegistrations registrations, ILogger<ClientRegistrations> logger)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!state.Current.Config.AuthorizationServer.DynamicClientRegistration)
        {
            return Error(StatusCodes.Status403Forbidden, "access_denied",
                "Dynamic client registration is switched off on this server. Use a Client ID Metadata Document (an https client_id) or ask the administrator to register the client.");
        }

        using var lease = s_limiter.AttemptAcquire(context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        if (!lease.IsAcquired)
        {
            context.Response.Headers.RetryAfter = "60";
            return Error(StatusCodes.Status429TooManyRequests, "too_many_requests", "Too many registrations from this address; try again in a minute.");
        }

        if (context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid_client_metadata", "Send the client metadata as application/json (RFC 7591 §3.1).");
        }

        JsonDocument json;
        try
        {
            // Read at most one byte past the limit: a larger body is refused without being buffered.
            var buffer = new byte[MaxBodyBytes + 1];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(total), context.RequestAborted)) > 0)
            {
                total += read;
            }

            if (total > MaxBodyBytes)
            {
                return Error(StatusCodes.Status413PayloadTooLarge, "invalid_client_metadata", $"The client metadata is larger than {MaxBodyBytes} bytes.");
            }

            json = JsonDocument.Parse(buffer.AsMemory(0, total));
        }
        catch (JsonException)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid_client_metadata", "The body is not valid JSON.");
        }

        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Error(StatusCodes.Status400BadRequest, "invalid_client_metadata", "The body must be a JSON object.");
            }

            if (!root.TryGetProperty("redirect_uris", out var uris) || uris.ValueKind != JsonValueKind.Array || uris.GetArrayLength() is 0 or > 20)
            {
                return Error(StatusCodes.Status400BadRequest, "invalid_redirect_uri", "redirect_uris must list 1 to 20 redirect URIs.");
            }

            var redirectUris = new List<string>();
            foreach (var uri in uris.EnumerateArray())
            {
                var text = uri.ValueKind == JsonValueKind.String ? uri.GetString()! : "";
                if (RedirectUriRules.Check(text) is { } problem)
                {
                    return Error(StatusCodes.Status400BadRequest, "invalid_redirect_uri", $"The redirect URI '{text}' {problem}.");
                }

                redirectUris.Add(text);
            }

            // RFC 7591 §2: the default is client_secret_basic.
            var method = root.TryGetProperty("token_endpoint_auth_method", out var m) ? m.GetString() : "client_secret_basic";
            if (method is null || Array.IndexOf(s_authMethods, method) < 0)
            {
                return Error(StatusCodes.Status400BadRequest, "invalid_client_metadata",
                    $"token_endpoint_auth_method must be one of {string.Join(", ", s_authMethods)}.");
            }

            if (!AllIn(root, "grant_types", ["authorization_code", "refresh_token"]) || !AllIn(root, "response_types", ["code"]))
            {
                return Error(StatusCodes.Status400BadRequest, "invalid_client_metadata",
                    "This server supports grant_types authorization_code and refresh_token, and response_types code.");
            }

            var name = root.TryGetProperty("client_name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : "";
            if (name.Length > 200)
            {
                return Error(StatusCodes.Status400BadRequest, "invalid_client_metadata", "client_name is longer than 200 characters.");
            }

            var confidential = method != "none";
            var displayName = name.Length > 0 ? name : new Uri(redirectUris[0]).Host is { Length: > 0 } host ? host : "Unnamed client";
            var (clientId, secret) = await registrations.RegisterAsync(displayName, redirectUris, confidential, context.RequestAborted);
            Log.Registered(logger, clientId, displayName);

            // RFC 7591 §3.2.1: the registered metadata, with the credentials.
            var response = new Dictionary<string, object?>
            {
                ["client_id"] = clientId,
                ["client_id_issued_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["client_name"] = displayName,
                ["redirect_uris"] = redirectUris,
                ["token_endpoint_auth_method"] = method,
                ["grant_types"] = new[] { "authorization_code", "refresh_token" },
                ["response_types"] = new[] { "code" },
            };
            if (secret is not null)
            {
                response["client_secret"] = secret;
                response["client_secret_expires_at"] = 0;
            }

            return TypedResults.Json(response, RegistrationJsonContext.Default.DictionaryStringObject, statusCode: StatusCodes.Status201Created);
        }
    }

    private static bool AllIn(JsonElement root, string property, string[] allowed)
    {
        if (!root.TryGetProperty(property, out var values))
        {
            return true;
        }

        return values.ValueKind == JsonValueKind.Array &&
            values.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String && Array.IndexOf(allowed, v.GetString()) >= 0);
    }

    private static JsonHttpResult<Dictionary<string, object?>> Error(int status, string error, string description) =>
        TypedResults.Json(new Dictionary<string, object?> { ["error"] = error, ["error_description"] = description },
            RegistrationJsonContext.Default.DictionaryStringObject, statusCode: status);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4130, Level = LogLevel.Information, Message = "Registered OAuth client {ClientId} ({Name}) by dynamic registration")]
        public static partial void Registered(ILogger logger, string clientId, string name);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object?>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
internal sealed partial class RegistrationJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
