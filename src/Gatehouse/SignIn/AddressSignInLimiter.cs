using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Gatehouse.Configuration;

namespace Gatehouse.SignIn;

/// <summary>
/// Counts failed password sign-ins per client address, across accounts: the per-account lock-out
/// (<see cref="LoginLockoutStore"/>) cannot see one address trying one password on many accounts (password spraying,
/// OWASP ASVS 4.0 §2.2.1). After <see cref="LockoutConfig.MaxFailedAttemptsPerAddress"/> failures within
/// <see cref="LockoutConfig.LockoutDuration"/>, every sign-in from that address is refused until the window ends,
/// before any password is checked. Only failures count, so users behind one NAT who sign in correctly are not held up.
/// </summary>
/// <remarks>
/// Counted in memory by each replica (a fixed window per address, from System.Threading.RateLimiting), as the
/// per-route rate limits are: an address that spreads its attempts over N replicas gets N times the limit. IPv6
/// addresses are counted per /64, the smallest network a host is usually given, so that one host cannot get a fresh
/// count by changing the low bits of its address (RFC 4291 §2.5.4; RFC 8981 temporary addresses).
/// </remarks>
internal sealed class AddressSignInLimiter : IDisposable
{
    private Counter? _counter;

    /// <summary>The counter a reload replaced: disposed at the next replacement, when no request can still hold it.</summary>
    private Counter? _retired;

    /// <summary>
    /// Whether sign-ins from <paramref name="address"/> are refused now, and for how long at most
    /// (<paramref name="retryAfter"/>, for the <c>Retry-After</c> header).
    /// </summary>
    public bool IsRefused(IPAddress? address, LockoutConfig lockout, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (lockout.MaxFailedAttemptsPerAddress == 0)
        {
            return false;
        }

        using var lease = CounterFor(lockout).Limiter.AttemptAcquire(NetworkOf(address), permitCount: 0);
        if (lease.IsAcquired)
        {
            return false;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var left) && left > TimeSpan.Zero ? left : lockout.LockoutDuration;
        return true;
    }

    /// <summary>Counts a failed sign-in; true when it was the last one allowed in the window (log it once).</summary>
    public bool RecordFailure(IPAddress? address, LockoutConfig lockout)
    {
        if (lockout.MaxFailedAttemptsPerAddress == 0)
        {
            return false;
        }

        var counter = CounterFor(lockout);
        var network = NetworkOf(address);
        using var lease = counter.Limiter.AttemptAcquire(network);
        return lease.IsAcquired && counter.Limiter.GetStatistics(network)?.CurrentAvailablePermits == 0;
    }

    /// <summary>What the address is counted as: IPv4 as it is (also when mapped into IPv6), IPv6 as its /64 network.</summary>
    internal static string NetworkOf(IPAddress? address)
    {
        if (address is null)
        {
            // No client address (a test server or an in-process call): one shared count, so it still fails closed.
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>The counter for these settings; a reload that changes them starts new counts.</summary>
    private Counter CounterFor(LockoutConfig lockout)
    {
        var counter = Volatile.Read(ref _counter);
        if (counter is not null && counter.Limit == lockout.MaxFailedAttemptsPerAddress && counter.Window == lockout.LockoutDuration)
        {
            return counter;
        }

        var fresh = new Counter(lockout.MaxFailedAttemptsPerAddress, lockout.LockoutDuration);
        var seen = Interlocked.CompareExchange(ref _counter, fresh, counter);
        if (seen != counter)
        {
            // Another request replaced it first: use theirs.
            fresh.Limiter.Dispose();
            return seen!;
        }

        Interlocked.Exchange(ref _retired, counter)?.Limiter.Dispose();
        return fresh;
    }

    public void Dispose()
    {
        _counter?.Limiter.Dispose();
        _retired?.Limiter.Dispose();
    }

    private sealed class Counter(int limit, TimeSpan window)
    {
        public int Limit { get; } = limit;

        public TimeSpan Window { get; } = window;

        public PartitionedRateLimiter<string> Limiter { get; } = PartitionedRateLimiter.Create<string, string>(network =>
            RateLimitPartition.GetFixedWindowLimiter(network, _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = window, QueueLimit = 0 }));
    }
}
