using System.Globalization;
using Npgsql;

namespace Gatehouse.Configuration;

/// <summary>
/// Accepts both forms operators bring: Npgsql keywords (<c>Host=db;Database=gatehouse;...</c>) and the
/// <c>postgres://user:password@host:5432/db?sslmode=require</c> URLs that Pomerium and libpq take. Messages never
/// quote the value, which may hold a password.
/// </summary>
internal static class PostgresConnectionString
{
    private const string Example = "`Host=db;Database=gatehouse;Username=gatehouse;Password=${PGPASSWORD}` or `postgres://gatehouse:${PGPASSWORD}@db:5432/gatehouse`";

    public static (string? Value, string? Error) Normalize(string text)
    {
        try
        {
            var builder = text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
                ? FromUrl(text)
                : new NpgsqlConnectionStringBuilder(text);
            if (string.IsNullOrEmpty(builder.Host))
            {
                return (null, $"names no host; write {Example}");
            }

            return (builder.ConnectionString, null);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException or InvalidOperationException)
        {
            return (null, $"is not a valid PostgreSQL connection string; write {Example}");
        }
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string text)
    {
        var uri = new Uri(text);
        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                    break;
                case "connect_timeout":
                    builder.Timeout = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                default:
                    // Anything else is passed through as an Npgsql keyword, which refuses what it does not know.
                    builder[key] = value;
                    break;
            }
        }

        return builder;
    }
}
