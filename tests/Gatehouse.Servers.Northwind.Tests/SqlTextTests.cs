using Gatehouse.Servers.Northwind.Query;

namespace Gatehouse.Servers.Northwind.Tests;

public sealed class SqlTextTests
{
    [Theory]
    [InlineData("SELECT 1", "SELECT")]
    [InlineData("  select 1", "SELECT")]
    [InlineData("-- note\nWITH x AS (SELECT 1) SELECT * FROM x", "WITH")]
    [InlineData("/* a */ /* b */ delete from t", "DELETE")]
    [InlineData("(SELECT 1)", "")]
    [InlineData("", "")]
    public void FirstKeyword_SkipsWhitespaceAndComments(string sql, string expected) =>
        Assert.Equal(expected, SqlText.FirstKeyword(sql));

    [Theory]
    [InlineData("", true)]
    [InlineData(" ; ;\n", true)]
    [InlineData("-- done", true)]
    [InlineData("/* unterminated", true)]
    [InlineData(" DROP TABLE t", false)]
    [InlineData("; -- c\n SELECT 2", false)]
    public void IsTrivia_OnlyCommentsAndSeparators_IsTrue(string tail, bool expected) =>
        Assert.Equal(expected, SqlText.IsTrivia(tail));
}
