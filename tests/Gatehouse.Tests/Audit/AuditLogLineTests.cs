using System.Globalization;
using Gatehouse.Audit;

namespace Gatehouse.Tests.Audit;

public sealed class AuditLogLineTests
{
    [Theory]
    [InlineData("2026-12-01T15:04:05.1239999+00:00")]
    [InlineData("2026-12-01T15:04:05.0000000+00:00")]
    [InlineData("2026-12-01T23:59:59.9999999-08:00")]
    [InlineData("0001-01-01T00:00:00.0010000+00:00")]
    [InlineData("9999-12-31T23:59:59.9990000+00:00")]
    public void FormatTime_AnyInstant_SameTextAsTheMillisecondPatternInUtc(string instant)
    {
        var time = DateTimeOffset.Parse(instant, CultureInfo.InvariantCulture);

        Assert.Equal(time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), AuditLogLine.FormatTime(time));
    }
}
