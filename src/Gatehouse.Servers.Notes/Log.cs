using Microsoft.Extensions.Logging;

namespace Gatehouse.Servers.Notes;

/// <summary>Log messages of the Notes server; event ids 7200-7299. Never a password, token, code or secret.</summary>
internal static partial class Log
{
    [LoggerMessage(7200, LogLevel.Information, "Created the Notes database at {Path}")]
    public static partial void CreatedDatabase(ILogger logger, string path);

    [LoggerMessage(7201, LogLevel.Information, "Using the existing Notes database at {Path}")]
    public static partial void UsingExistingDatabase(ILogger logger, string path);

    [LoggerMessage(7202, LogLevel.Information, "Notes MCP server listening at {Endpoint} (authorization server {Issuer})")]
    public static partial void Listening(ILogger logger, string endpoint, string issuer);

    [LoggerMessage(7203, LogLevel.Information, "Seeded {Count} notes for {Email}")]
    public static partial void SeededNotes(ILogger logger, int count, string email);

    [LoggerMessage(7204, LogLevel.Warning, "Auto-approve is on: every authorization request is granted as {Email} without sign-in or consent. For tests only.")]
    public static partial void AutoApproveOn(ILogger logger, string email);

    [LoggerMessage(7210, LogLevel.Information, "OAuth client {ClientId} {Action}")]
    public static partial void ClientChanged(ILogger logger, string clientId, string action);

    [LoggerMessage(7217, LogLevel.Warning, "Refused the client metadata document of {ClientId}: {Problem}")]
    public static partial void ClientMetadataRefused(ILogger logger, string clientId, string problem);

    [LoggerMessage(7211, LogLevel.Information, "{Email} signed in")]
    public static partial void SignedIn(ILogger logger, string email);

    [LoggerMessage(7212, LogLevel.Warning, "Failed sign-in for {Email}")]
    public static partial void SignInFailed(ILogger logger, string email);

    [LoggerMessage(7213, LogLevel.Information, "{Email} allowed client {ClientId} scopes {Scopes}")]
    public static partial void ConsentGranted(ILogger logger, string email, string clientId, string scopes);

    [LoggerMessage(7214, LogLevel.Information, "{Email} denied client {ClientId}")]
    public static partial void ConsentDenied(ILogger logger, string email, string clientId);

    [LoggerMessage(7215, LogLevel.Information, "Authorization code issued to client {ClientId} for {Email}, scopes {Scopes}")]
    public static partial void CodeIssued(ILogger logger, string clientId, string email, string scopes);

    [LoggerMessage(7216, LogLevel.Information, "Tokens issued to client {ClientId} ({GrantType})")]
    public static partial void TokensIssued(ILogger logger, string clientId, string grantType);

    [LoggerMessage(7220, LogLevel.Information, "Refused an access token: {Reason}")]
    public static partial void TokenRefused(ILogger logger, string reason);

    [LoggerMessage(7221, LogLevel.Information, "Refused {Method} for {Email}: the token lacks scope {Scopes}")]
    public static partial void InsufficientScope(ILogger logger, string method, string email, string scopes);

    [LoggerMessage(7230, LogLevel.Information, "{Email} created note {NoteId}")]
    public static partial void NoteCreated(ILogger logger, string email, string noteId);
}
