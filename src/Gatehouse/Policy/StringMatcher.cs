using System.Collections.Frozen;

namespace Gatehouse.Policy;

internal enum StringMatch
{
    Is,
    Not,
    Contains,
    StartsWith,
    EndsWith,
    In,
    NotIn,

    /// <summary>Lists only: one of the values is this one.</summary>
    Has,
}

/// <summary>
/// One matcher operator with its operand, compiled: the comparison is fixed and <c>in</c>/<c>not_in</c> lists are
/// frozen sets probed with a span, so matching allocates nothing.
/// </summary>
internal readonly struct StringTest
{
    private readonly string _value;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _set;
    private readonly StringComparison _comparison;

    private StringTest(StringMatch kind, string value, FrozenSet<string>? set, StringComparison comparison)
    {
        Kind = kind;
        _value = value;
        _comparison = comparison;
        if (set is not null)
        {
            _set = set.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    public StringMatch Kind { get; }

    public static StringTest Create(StringMatch kind, string value, bool ignoreCase) =>
        new(kind, value, null, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    public static StringTest CreateSet(StringMatch kind, IEnumerable<string> values, bool ignoreCase) =>
        new(kind, "", values.ToFrozenSet(ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal),
            ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>This test on one value.</summary>
    public bool Matches(ReadOnlySpan<char> value) => Kind switch
    {
        StringMatch.Is or StringMatch.Has => value.Equals(_value, _comparison),
        StringMatch.Not => !value.Equals(_value, _comparison),
        StringMatch.Contains => value.Contains(_value, _comparison),
        StringMatch.StartsWith => value.StartsWith(_value, _comparison),
        StringMatch.EndsWith => value.EndsWith(_value, _comparison),
        StringMatch.In => _set.Contains(value),
        StringMatch.NotIn => !_set.Contains(value),
        _ => false,
    };

    /// <summary>
    /// This test on a list of values: a positive test matches when some value matches it (<c>is</c>, as in Pomerium,
    /// when the list is exactly that one value); <c>not</c> and <c>not_in</c> match when no value is excluded by
    /// them, that is when <c>has</c> and <c>in</c> would not match.
    /// </summary>
    public bool MatchesList(IReadOnlyList<string> values)
    {
        switch (Kind)
        {
            case StringMatch.Is:
                return values.Count == 1 && Matches(values[0]);
            case StringMatch.Not or StringMatch.NotIn:
                for (var i = 0; i < values.Count; i++)
                {
                    if (!Matches(values[i]))
                    {
                        return false;
                    }
                }

                return true;
            default:
                for (var i = 0; i < values.Count; i++)
                {
                    if (Matches(values[i]))
                    {
                        return true;
                    }
                }

                return false;
        }
    }
}

/// <summary>A criterion's matcher: every operator written under it must match (Pomerium joins them with and).</summary>
internal sealed class StringMatcher(StringTest[] tests)
{
    public bool Matches(ReadOnlySpan<char> value)
    {
        foreach (var test in tests)
        {
            if (!test.Matches(value))
            {
                return false;
            }
        }

        return true;
    }

    public bool MatchesList(IReadOnlyList<string> values)
    {
        foreach (var test in tests)
        {
            if (!test.MatchesList(values))
            {
                return false;
            }
        }

        return true;
    }
}
