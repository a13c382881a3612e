namespace Gatehouse.Configuration;

/// <summary>At most <see cref="Requests"/> requests in each <see cref="Interval"/> (a fixed window).</summary>
internal sealed record RateLimit(int Requests, TimeSpan Interval)
{
    public override string ToString() => $"{Requests} per {Duration.Format(Interval)}";
}

/// <summary>
/// A route's <c>rate_limit</c>: for the whole route, per user (the authenticated subject) and per OAuth client (or
/// service account). Each is optional; a request must fit within every one that is set.
/// </summary>
internal sealed record RouteRateLimits(RateLimit? Route, RateLimit? User, RateLimit? Client);
