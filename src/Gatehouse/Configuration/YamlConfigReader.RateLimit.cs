using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Configuration;

/// <summary>A route's <c>rate_limit</c>: <c>route</c>, <c>user</c> and <c>client</c>, each <c>{requests, interval}</c>.</summary>
internal sealed partial class YamlConfigReader
{
    private static readonly string[] s_rateLimitKeys = ["route", "user", "client"];

    private RouteRateLimits? ReadRateLimits(YamlNode node, string at, bool isPublic)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected a mapping such as `{user: {requests: 60, interval: 1m}}`"));
            return null;
        }

        var keys = CheckKeys(map, at + ".", s_rateLimitKeys);
        if (map.Children.Count == 0)
        {
            _errors.Add(Error(at, node, "set at least one of `route`, `user` or `client`, each `{requests: N, interval: 1m}`"));
            return null;
        }

        if (isPublic)
        {
            foreach (var key in s_rateLimitKeys.Skip(1).Where(keys.ContainsKey))
            {
                _errors.Add(Error($"{at}.{key}", keys[key], "a public route has no signed-in user or client to count; use `route`, or make the route protected"));
            }
        }

        return new RouteRateLimits(
            keys.TryGetValue("route", out var route) ? ReadRateLimit(route, at + ".route") : null,
            keys.TryGetValue("user", out var user) ? ReadRateLimit(user, at + ".user") : null,
            keys.TryGetValue("client", out var client) ? ReadRateLimit(client, at + ".client") : null);
    }

    private RateLimit? ReadRateLimit(YamlNode node, string at)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected `{requests: 60, interval: 1m}`"));
            return null;
        }

        var keys = CheckKeys(map, at + ".", ["requests", "interval"]);
        int? requests = null;
        if (!keys.TryGetValue("requests", out var requestsNode))
        {
            _errors.Add(Error(at, map, "missing `requests:` (how many requests each interval allows)"));
        }
        else if (Scalar(requestsNode, at + ".requests", "a whole number") is { } text)
        {
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 10_000_000)
            {
                requests = n;
            }
            else
            {
                _errors.Add(Error(at + ".requests", requestsNode, $"expected a whole number from 1 to 10000000, got `{text}`"));
            }
        }

        TimeSpan? interval = null;
        if (!keys.ContainsKey("interval"))
        {
            _errors.Add(Error(at, map, "missing `interval:` (a duration such as 1s, 1m or 1h)"));
        }
        else if (OptionalDuration(keys, "interval", at + ".interval") is { } value)
        {
            if (value < TimeSpan.FromSeconds(1) || value > TimeSpan.FromHours(24))
            {
                _errors.Add(Error(at + ".interval", keys["interval"], "expected a duration from 1s to 24h"));
            }
            else
            {
                interval = value;
            }
        }

        return requests is { } r && interval is { } i ? new RateLimit(r, i) : null;
    }
}
