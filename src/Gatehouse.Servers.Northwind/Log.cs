using Microsoft.Extensions.Logging;

namespace Gatehouse.Servers.Northwind;

/// <summary>Log messages of the Northwind server; event ids 7100-7199.</summary>
internal static partial class Log
{
    [LoggerMessage(7100, LogLevel.Information,
        "Created the Northwind database at {Path}: {Orders} orders, {OrderLines} order lines, {FirstYear}-{LastYear}, in {ElapsedMs} ms")]
    public static partial void CreatedDatabase(
        ILogger logger, string path, int orders, int orderLines, int firstYear, int lastYear, long elapsedMs);

    [LoggerMessage(7101, LogLevel.Information, "Using the existing Northwind database at {Path}")]
    public static partial void UsingExistingDatabase(ILogger logger, string path);

    [LoggerMessage(7102, LogLevel.Information, "Another process created the Northwind database at {Path} first; using it")]
    public static partial void LostCreationRace(ILogger logger, string path);

    [LoggerMessage(7103, LogLevel.Information, "Northwind MCP server listening at {Endpoint}")]
    public static partial void Listening(ILogger logger, string endpoint);

    [LoggerMessage(7110, LogLevel.Warning, "Refused a query: {Reason}")]
    public static partial void QueryRefused(ILogger logger, string reason);

    [LoggerMessage(7111, LogLevel.Warning, "Stopped a query that ran past the {TimeoutMs} ms limit")]
    public static partial void QueryTimedOut(ILogger logger, long timeoutMs);

    [LoggerMessage(7112, LogLevel.Debug, "Query returned {Rows} rows in {ElapsedMs} ms (truncated: {Truncated})")]
    public static partial void QueryCompleted(ILogger logger, int rows, long elapsedMs, bool truncated);

    [LoggerMessage(7113, LogLevel.Information, "Query failed: {Error}")]
    public static partial void QueryFailed(ILogger logger, string error);
}
