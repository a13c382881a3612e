using System.Net;
using Gatehouse.Configuration;
using Gatehouse.SignIn;

namespace Gatehouse.Tests.SignIn;

public sealed class AddressSignInLimiterTests
{
    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void NetworkOf_CountsIPv4ByAddressAndIPv6ByItsSlash64(string address, string expected) =>
        Assert.Equal(expected, AddressSignInLimiter.NetworkOf(IPAddress.Parse(address)));

    [Fact]
    public void NetworkOf_NoAddress_OneSharedCount() => Assert.Equal("unknown", AddressSignInLimiter.NetworkOf(null));

    [Fact]
    public void RecordFailure_UpToTheLimit_ThenRefusedForThatNetworkOnly()
    {
        using var limiter = new AddressSignInLimiter();
        var lockout = new LockoutConfig { MaxFailedAttemptsPerAddress = 2, LockoutDuration = TimeSpan.FromMinutes(10) };
        var attacker = IPAddress.Parse("2001:db8:1:2::10");
        var sameNetwork = IPAddress.Parse("2001:db8:1:2:ffff::99");
        var other = IPAddress.Parse("2001:db8:1:3::10");

        Assert.False(limiter.IsRefused(attacker, lockout, out _));
        Assert.False(limiter.RecordFailure(attacker, lockout));
        Assert.False(limiter.IsRefused(attacker, lockout, out _));
        Assert.True(limiter.RecordFailure(attacker, lockout));

        Assert.True(limiter.IsRefused(sameNetwork, lockout, out var retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        Assert.False(limiter.IsRefused(other, lockout, out _));
    }

    [Fact]
    public async Task Refused_ReleasedWhenTheWindowEnds()
    {
        using var limiter = new AddressSignInLimiter();
        var address = IPAddress.Parse("192.0.2.200");
        var lockout = new LockoutConfig { MaxFailedAttemptsPerAddress = 3, LockoutDuration = TimeSpan.FromSeconds(1) };

        // Fail until refused (a window that ends in between starts the count again), then wait for the release:
        // both bounded, neither assumes how fast this machine is.
        var failures = 0;
        while (!limiter.IsRefused(address, lockout, out _))
        {
            limiter.RecordFailure(address, lockout);
            Assert.InRange(++failures, 1, 1000);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (limiter.IsRefused(address, lockout, out _))
        {
            await Task.Delay(100, deadline.Token);
        }
    }

    [Fact]
    public void ZeroLimit_CountOff()
    {
        using var limiter = new AddressSignInLimiter();
        var address = IPAddress.Parse("203.0.113.9");
        var off = new LockoutConfig { MaxFailedAttemptsPerAddress = 0 };
        for (var i = 0; i < 10; i++)
        {
            Assert.False(limiter.RecordFailure(address, off));
        }

        Assert.False(limiter.IsRefused(address, off, out _));
    }

    [Fact]
    public void ChangedSettings_StartNewCounts()
    {
        using var limiter = new AddressSignInLimiter();
        var address = IPAddress.Parse("198.51.100.4");
        var strict = new LockoutConfig { MaxFailedAttemptsPerAddress = 1 };
        limiter.RecordFailure(address, strict);
        Assert.True(limiter.IsRefused(address, strict, out _));

        Assert.False(limiter.IsRefused(address, strict with { MaxFailedAttemptsPerAddress = 5 }, out _));
    }
}
