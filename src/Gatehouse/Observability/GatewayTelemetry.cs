using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gatehouse.Observability;

/// <summary>The proxy's own OpenTelemetry sources: one ActivitySource and one Meter for the area.</summary>
internal sealed class GatewayTelemetry : IDisposable
{
    public const string Name = "Gatehouse.Proxy";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    public GatewayTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        Requests = _meter.CreateCounter<long>("gatehouse.proxy.requests", "{request}", "Requests handled, by route and status code.");
        // Seconds, with buckets from 0.5 ms up: the default buckets assume milliseconds and would put every proxied
        // request in the first one.
        Duration = _meter.CreateHistogram<double>("gatehouse.proxy.request.duration", "s", "Time from request start to the end of the response, by route.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
        ConfigReloads = _meter.CreateCounter<long>("gatehouse.config.reloads", "{reload}", "Configuration reloads, by outcome.");
        AuditWritten = _meter.CreateCounter<long>("gatehouse.audit.written", "{record}", "Audit records stored in the database.");
        AuditQueueFull = _meter.CreateCounter<long>("gatehouse.audit.queue_full", "{record}",
            "Audit records whose writer had to wait because the queue was full (back-pressure: the database is slower than the traffic, or down).");
        AuditLost = _meter.CreateCounter<long>("gatehouse.audit.lost", "{record}",
            "Audit records that could not be stored (written to the log instead): the writer gave up waiting, or storage stayed down past shutdown.");
    }

    public Counter<long> Requests { get; }

    public Histogram<double> Duration { get; }

    public Counter<long> ConfigReloads { get; }

    public Counter<long> AuditWritten { get; }

    public Counter<long> AuditQueueFull { get; }

    public Counter<long> AuditLost { get; }

    public void Dispose() => _meter.Dispose();
}
