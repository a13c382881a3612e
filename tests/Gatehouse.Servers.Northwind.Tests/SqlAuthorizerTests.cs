using Gatehouse.Servers.Northwind.Query;

namespace Gatehouse.Servers.Northwind.Tests;

/// <summary>
/// The authorizer on its own: it must hold even for statements that got past the text checks, so it is
/// tested without them. Action codes are from https://sqlite.org/c3ref/c_alter_table.html.
/// </summary>
public sealed class SqlAuthorizerTests
{
    private const int Ok = 0;
    private const int Deny = 1;

    [Theory]
    [InlineData(21, null, null)] // SELECT
    [InlineData(20, "orders", "order_date")] // READ
    [InlineData(33, null, null)] // RECURSIVE
    [InlineData(31, null, "strftime")] // FUNCTION
    [InlineData(31, null, "sum")]
    public void Authorize_ReadingActions_AreAllowed(int action, string? p0, string? p1)
    {
        var authorizer = new SqlAuthorizer();

        Assert.Equal(Ok, authorizer.Authorize(null!, action, p0, p1, "main", null));
        Assert.Null(authorizer.Denied);
    }

    [Theory]
    [InlineData(18, "shippers", null, "INSERT (shippers)")]
    [InlineData(23, "products", "unit_price", "UPDATE (products)")]
    [InlineData(9, "orders", null, "DELETE (orders)")]
    [InlineData(11, "orders", null, "DROP TABLE (orders)")]
    [InlineData(4, "scratch", null, "CREATE TEMP TABLE (scratch)")]
    [InlineData(24, "/tmp/other.db", null, "ATTACH (/tmp/other.db)")]
    [InlineData(25, "other", null, "DETACH (other)")]
    [InlineData(19, "user_version", "42", "PRAGMA user_version = 42")]
    [InlineData(19, "table_info", null, "PRAGMA table_info")]
    [InlineData(22, "BEGIN", null, "transaction control (BEGIN)")]
    [InlineData(31, null, "load_extension", "the function load_extension()")]
    [InlineData(31, null, "LOAD_EXTENSION", "the function LOAD_EXTENSION()")]
    [InlineData(31, null, "fts3_tokenizer", "the function fts3_tokenizer()")]
    [InlineData(99, null, null, "action 99")]
    public void Authorize_AnythingElse_IsDeniedAndNamed(int action, string? p0, string? p1, string expectedDenied)
    {
        var authorizer = new SqlAuthorizer();

        Assert.Equal(Deny, authorizer.Authorize(null!, action, p0, p1, "main", null));
        Assert.Equal(expectedDenied, authorizer.Denied);
    }

    [Fact]
    public void Authorize_SeveralDenials_KeepsTheFirstForTheMessage()
    {
        var authorizer = new SqlAuthorizer();

        authorizer.Authorize(null!, 9, "orders", null, "main", null);
        authorizer.Authorize(null!, 18, "shippers", null, "main", null);

        Assert.Equal("DELETE (orders)", authorizer.Denied);
    }
}
