using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Configuration;
using Gatehouse.ServiceAccounts;
using Gatehouse.Storage;

namespace Gatehouse.Cli;

/// <summary>
/// <c>gatehouse service-account create|list|revoke</c>: bearer tokens for agents and CI that act as a user on MCP
/// server routes (docs/service-accounts.md). The commands work on the configuration's storage directly, so no gateway
/// needs to run; running gateways see a new account at once and a revocation within one revocation-list poll.
/// </summary>
internal static class ServiceAccountCommand
{
    public static Command Create() =>
        new("service-account", "Manage service-account tokens: bearer tokens for agents and CI that act as a user on MCP server routes.")
        {
            CreateCommand(),
            ListCommand(),
            RevokeCommand(),
        };

    private static Command CreateCommand()
    {
        var config = CliOptions.Config();
        var user = new Option<string>("--user")
        {
            Description = "The email the token acts as: upstreams and policies see this user.",
            Required = true,
        };
        var groups = new Option<string?>("--groups")
        {
            Description = "The user's groups for this token, comma-separated (such as sales,admins). Default: none.",
        };
        var expires = new Option<string?>("--expires")
        {
            Description = $"How long the token is valid, as a duration such as 24h or 90m. Default {Hours(ServiceAccountStore.DefaultLifetime)} " +
                $"(30 days), at most {Hours(ServiceAccountStore.MaxLifetime)} (365 days).",
        };
        var routes = new Option<string[]>("--route")
        {
            Description = "The name of an MCP server route the token is valid on; repeat it for several. Default: every MCP server route.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var description = new Option<string?>("--description")
        {
            Description = "What the token is for, shown by `list` (at most 200 characters).",
        };

        var command = new Command("create",
            "Create a service account and print its token (only the token, on standard output; it is shown only this once).")
        {
            config, user, groups, expires, routes, description,
        };
        command.SetAction((parse, cancellationToken) => CommandStorage.RunAsync(parse, config, (loaded, problems) =>
        {
            var email = CheckEmail(parse.GetRequiredValue(user), problems);
            var groupNames = CheckGroups(parse.GetValue(groups), problems);
            var lifetime = CheckLifetime(parse.GetValue(expires), problems);
            var file = parse.GetRequiredValue(config).Name;
            var routeNames = CheckRoutes(parse.GetValue(routes) ?? [], loaded, file, problems);
            var text = CheckDescription(parse.GetValue(description), problems);
            return async storage =>
            {
                var (account, token) = await storage.ServiceAccounts.CreateAsync(email, groupNames, routeNames, lifetime, text, cancellationToken);
                await parse.InvocationConfiguration.Output.WriteLineAsync(token);
                await parse.InvocationConfiguration.Error.WriteLineAsync(
                    $"Created service account {account.Id}: acts as {account.Email} (groups: {GroupsText(account)}) on {RoutesText(account)} " +
                    $"until {Timestamp(account.ExpiresAt)}. The token is shown only now; revoke it with " +
                    $"`gatehouse service-account revoke --config {file} {account.Id}`.");
                return 0;
            };
        }, cancellationToken));
        return command;
    }

    private static Command ListCommand()
    {
        var config = CliOptions.Config();
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table." };
        var command = new Command("list", "List service accounts with their user, groups, routes, dates and status (never a token).") { config, json };
        command.SetAction((parse, cancellationToken) => CommandStorage.RunAsync(parse, config, (_, _) => async storage =>
        {
            var now = storage.Time.GetUtcNow();
            var listings = (await storage.ServiceAccounts.ListAsync(cancellationToken)).Select(a => ServiceAccountListing.From(a, now)).ToList();
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json)
                ? JsonSerializer.Serialize(listings, ServiceAccountJsonContext.Default.ListServiceAccountListing)
                : Table(listings));
            return 0;
        }, cancellationToken));
        return command;
    }

    private static Command RevokeCommand()
    {
        var config = CliOptions.Config();
        var id = new Argument<string>("ID") { Description = "The service account's id, as `list` shows it (16 hex digits)." };
        var command = new Command("revoke",
            "Revoke a service account: running gateways refuse its token within seconds (their revocation-list poll).") { config, id };
        command.SetAction((parse, cancellationToken) => CommandStorage.RunAsync(parse, config, (_, problems) =>
        {
            var accountId = parse.GetRequiredValue(id).Trim().ToLowerInvariant();
            var file = parse.GetRequiredValue(config).Name;
            if (!IsAccountId(accountId))
            {
                problems.Add(ServiceAccountStore.LooksLikeToken(accountId)
                    ? "That is a token: pass the account's id instead, the 16 hex digits after `gatehouse_sa_` (as `list` shows it)."
                    : $"`{accountId}` is not a service-account id: ids are 16 hex digits, as `gatehouse service-account list --config {file}` shows them.");
            }

            return async storage =>
            {
                var (outcome, account) = await storage.ServiceAccounts.RevokeAsync(accountId, cancellationToken);
                if (outcome == RevokeOutcome.Revoked)
                {
                    await parse.InvocationConfiguration.Output.WriteLineAsync(
                        $"Revoked service account {accountId} ({account!.Email}). Running gateways refuse its token within seconds " +
                        $"(they poll for revocations every {RevocationPollText}).");
                    return 0;
                }

                await parse.InvocationConfiguration.Error.WriteLineAsync(outcome switch
                {
                    RevokeOutcome.AlreadyRevoked => $"Service account {accountId} is not active: it was already revoked at {Timestamp(account!.RevokedAt!.Value)}.",
                    RevokeOutcome.Expired => $"Service account {accountId} is not active: it expired at {Timestamp(account!.ExpiresAt)}, and its token is refused already.",
                    _ => $"No service account has the id {accountId}; `gatehouse service-account list --config {file}` shows them.",
                });
                return 1;
            };
        }, cancellationToken));
        return command;
    }

    private static string RevocationPollText => $"{Revocation.RevocationList.PollInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";

    private static string CheckEmail(string value, List<string> problems)
    {
        var email = value.Trim();
        if (!YamlConfigReader.IsEmail(email))
        {
            problems.Add($"--user: `{email}` is not an email address; write one such as alice@example.com.");
        }

        return email;
    }

    private static List<string> CheckGroups(string? value, List<string> problems)
    {
        var groups = (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        foreach (var group in groups.Where(g => g.Any(char.IsControl)))
        {
            problems.Add($"--groups: `{group}` holds a control character; group names are plain text.");
        }

        return groups;
    }

    private static TimeSpan CheckLifetime(string? value, List<string> problems)
    {
        if (value is null)
        {
            return ServiceAccountStore.DefaultLifetime;
        }

        if (!Duration.TryParse(value, out var lifetime))
        {
            problems.Add($"--expires: `{value}` is not a duration; write one such as 24h, 90m or 720h (30 days).");
        }
        else if (lifetime <= TimeSpan.Zero)
        {
            problems.Add($"--expires: `{value}` is no time at all; give the token a lifetime such as 24h.");
        }
        else if (lifetime > ServiceAccountStore.MaxLifetime)
        {
            problems.Add($"--expires: `{value}` is longer than the maximum of {Hours(ServiceAccountStore.MaxLifetime)} (365 days); " +
                "create a new token before this one expires instead.");
        }

        return lifetime;
    }

    private static List<string> CheckRoutes(string[] names, GatewayConfig config, string fileName, List<string> problems)
    {
        var mcpRoutes = config.Routes.Where(r => r.Kind == RouteKind.McpServer).Select(r => r.Id).ToList();
        var known = mcpRoutes.Count == 0
            ? "it has none (routes with `mcp: {server: {}}`)"
            : "its MCP server routes are " + string.Join(", ", mcpRoutes);
        var routes = names.Select(n => n.Trim()).Distinct(StringComparer.Ordinal).ToList();
        foreach (var name in routes.Where(n => !mcpRoutes.Contains(n, StringComparer.Ordinal)))
        {
            problems.Add(config.Routes.Any(r => r.Id == name)
                ? $"--route: `{name}` is a route of {fileName} but not an MCP server route, and tokens are accepted only on MCP server routes; {known}."
                : $"--route: {fileName} has no MCP server route named `{name}`; {known}.");
        }

        return routes;
    }

    private static string? CheckDescription(string? value, List<string> problems)
    {
        var description = value?.Trim();
        if (string.IsNullOrEmpty(description))
        {
            return null;
        }

        if (description.Length > 200 || description.Any(char.IsControl))
        {
            problems.Add("--description: at most 200 characters on one line, please.");
        }

        return description;
    }

    private static bool IsAccountId(string id) => id.Length == 16 && id.All(char.IsAsciiHexDigitLower);

    private static string Hours(TimeSpan span) => span.TotalHours.ToString(CultureInfo.InvariantCulture) + "h";

    private static string Timestamp(DateTimeOffset instant) => TextTable.Timestamp(instant);

    private static string GroupsText(ServiceAccount account) => account.Groups.Count == 0 ? "none" : string.Join(",", account.Groups);

    private static string RoutesText(ServiceAccount account) => account.Routes.Count switch
    {
        0 => AllRoutesText,
        1 => "route " + account.Routes[0],
        _ => "routes " + string.Join(", ", account.Routes),
    };

    private const string AllRoutesText = "all MCP routes";

    private static string Table(List<ServiceAccountListing> listings) => listings.Count == 0
        ? "No service accounts."
        : TextTable.Render(
            ["ID", "USER", "GROUPS", "ROUTES", "CREATED", "EXPIRES", "STATUS", "DESCRIPTION"],
            listings.Select(l => new[]
            {
                l.Id, l.User, l.Groups.Count == 0 ? "-" : string.Join(",", l.Groups), l.AllMcpRoutes ? AllRoutesText : string.Join(",", l.Routes),
                Timestamp(l.Created), Timestamp(l.Expires), l.Status, l.Description ?? "",
            }));
}

/// <summary>One account as <c>list --json</c> prints it: everything but the secret's hash.</summary>
internal sealed record ServiceAccountListing(
    string Id, string User, IReadOnlyList<string> Groups, IReadOnlyList<string> Routes, bool AllMcpRoutes,
    DateTimeOffset Created, DateTimeOffset Expires, DateTimeOffset? Revoked, string Status, string? Description)
{
    public static ServiceAccountListing From(ServiceAccount account, DateTimeOffset now) => new(
        account.Id, account.Email, account.Groups, account.Routes, account.Routes.Count == 0,
        account.CreatedAt.ToUniversalTime(), account.ExpiresAt.ToUniversalTime(), account.RevokedAt?.ToUniversalTime(),
        ServiceAccountStore.StatusOf(account, now).ToString().ToLowerInvariant(), account.Description);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(List<ServiceAccountListing>))]
internal sealed partial class ServiceAccountJsonContext : JsonSerializerContext;
