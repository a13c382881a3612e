namespace Gatehouse.Servers.Northwind.Query;

/// <summary>Bounds on what one call of the query tool may cost the server and the model reading the answer.</summary>
internal sealed record QueryLimits
{
    public static readonly QueryLimits Default = new();

    /// <summary>Rows returned at most; the result says when more were available.</summary>
    public int MaxRows { get; init; } = 500;

    /// <summary>Wall-clock time for prepare and all steps, enforced through SQLite's progress handler.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest SQL text accepted, in characters.</summary>
    public int MaxSqlLength { get; init; } = 20_000;

    /// <summary>Longest text value shown in a cell; longer ones are cut and marked.</summary>
    public int MaxCellLength { get; init; } = 2_000;

    /// <summary>Approximate size of the JSON answer after which no further rows are added.</summary>
    public int MaxResultBytes { get; init; } = 512 * 1024;

    /// <summary>SQLITE_LIMIT_LENGTH: the largest string or blob a query may build (randomblob, group_concat...).</summary>
    public int MaxValueBytes { get; init; } = 1_000_000;
}
