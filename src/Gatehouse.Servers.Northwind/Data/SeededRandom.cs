namespace Gatehouse.Servers.Northwind.Data;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014). System.Random's seeded sequence is an implementation detail of the
/// runtime, so the generator carries its own tiny PRNG: the same seed must give the same database on every
/// runtime and platform, or the demo's answers (and the determinism test) would drift between machines.
/// Not for anything security-related.
/// </summary>
internal sealed class SeededRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A value in [0, 1) with 53 bits of precision.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A value in [minInclusive, maxExclusive).</summary>
    public int Next(int minInclusive, int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(minInclusive, maxExclusive);
        var range = (ulong)((long)maxExclusive - minInclusive);
        // Modulo bias is at most range / 2^64: irrelevant for sample data, and it keeps the sequence simple.
        return (int)((long)minInclusive + (long)(NextUInt64() % range));
    }

    public bool Chance(double probability) => NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(0, items.Count)];
}
