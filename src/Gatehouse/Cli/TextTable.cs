using System.Globalization;
using System.Text;

namespace Gatehouse.Cli;

/// <summary>Plain-text output shared by the commands that print tables.</summary>
internal static class TextTable
{
    /// <summary>A header row, then the rows; columns as wide as their widest cell, the last one unpadded.</summary>
    public static string Render(string[] header, IEnumerable<string[]> rows)
    {
        string[][] all = [header, .. rows];
        var widths = Enumerable.Range(0, header.Length).Select(c => all.Max(r => r[c].Length)).ToArray();
        var table = new StringBuilder();
        foreach (var row in all)
        {
            var line = string.Concat(row[..^1].Select((cell, c) => cell.PadRight(widths[c] + 2))) + row[^1];
            table.AppendLine(line.TrimEnd());
        }

        return table.ToString().TrimEnd();
    }

    /// <summary>An instant in UTC to the second, as the commands print it.</summary>
    public static string Timestamp(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
