namespace Gatehouse.Servers.Northwind.Query;

/// <summary>
/// The little lexing the query tool needs before SQLite sees the text: the leading keyword, and whether what
/// follows the first statement is only comments. SQLite's own parser (through the authorizer and
/// sqlite3_stmt_readonly) remains the authority; this only makes the common refusals clear and early.
/// </summary>
internal static class SqlText
{
    /// <summary>The first keyword after whitespace and comments, upper-cased; empty if there is none.</summary>
    public static string FirstKeyword(string sql)
    {
        var i = SkipTrivia(sql, 0, skipSemicolons: false);
        var start = i;
        while (i < sql.Length && (char.IsAsciiLetter(sql[i]) || sql[i] == '_'))
        {
            i++;
        }

        return sql[start..i].ToUpperInvariant();
    }

    /// <summary>True when <paramref name="tail"/> holds nothing but whitespace, comments and semicolons.</summary>
    public static bool IsTrivia(string tail) => SkipTrivia(tail, 0, skipSemicolons: true) == tail.Length;

    private static int SkipTrivia(string sql, int i, bool skipSemicolons)
    {
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c) || (skipSemicolons && c == ';'))
            {
                i++;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                // SQLite, too, treats an unterminated block comment as running to the end of the text.
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
            }
            else
            {
                break;
            }
        }

        return i;
    }
}
