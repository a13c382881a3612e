using System.Text;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Audit;

/// <summary>What the audit log keeps of <c>params.arguments</c>: redaction at any depth, the size cap, arguments off.</summary>
public sealed class AuditArgumentsTests
{
    private static string? Recorded(string json, AuditArgumentsConfig? config = null)
    {
        var arguments = new AuditArguments(config ?? AuditArgumentsConfig.Default);
        return arguments.Render(arguments.Capture(AuditRecords.Record(0, json)));
    }

    [Theory]
    [InlineData("""{"sql":"select 1","limit":10}""", """{"sql":"select 1","limit":10}""")]
    [InlineData("""{"password":"hunter2"}""", """{"password":"[redacted]"}""")]
    [InlineData("""{"db":{"user":"sa","Password":"hunter2"}}""", """{"db":{"user":"sa","Password":"[redacted]"}}""")]
    [InlineData("""{"headers":[{"Authorization":"Bearer abc"},{"accept":"*/*"}]}""", """{"headers":[{"Authorization":"[redacted]"},{"accept":"*/*"}]}""")]
    [InlineData("""[{"a":[[{"client_secret":"x"}]]}]""", """[{"a":[[{"client_secret":"[redacted]"}]]}]""")]
    [InlineData("""{"secrets":{"a":"x","b":["y",{"c":1}]},"after":true}""", """{"secrets":"[redacted]","after":true}""")]
    [InlineData("""{"API_TOKEN":12345,"refreshToken":null,"n":[1,2]}""", """{"API_TOKEN":"[redacted]","refreshToken":"[redacted]","n":[1,2]}""")]
    [InlineData("""{"pass\u0077ord":"hunter2"}""", """{"password":"[redacted]"}""")]
    [InlineData("""{"note":"password is not a key here"}""", """{"note":"password is not a key here"}""")]
    [InlineData("""{"n":0.10000000000000001,"big":1e400,"s":"caf\u00e9 ☕","q":"a\"b"}""", """{"n":0.10000000000000001,"big":1e400,"s":"café ☕","q":"a\"b"}""")]
    [InlineData(""" { "a" : 1 } """, """{"a":1}""")]
    public void Render_DefaultKeys_RedactsValuesOfMatchingKeysAnywhere(string arguments, string expected)
    {
        Assert.Equal(expected, Recorded(arguments));
    }

    /// <summary>
    /// The shortcut that records compact ASCII arguments as they are must give exactly what the copy through the JSON
    /// writer gives, and step aside whenever it would not: every printable ASCII character inside a string, and inputs
    /// the copy changes (whitespace, escapes, non-ASCII, a redacted key, broken JSON).
    /// </summary>
    [Theory]
    [InlineData("""{"text":"The quick brown fox jumps over the lazy dog"}""", true)]
    [InlineData("""{"sql":"select * from orders where id < 10 and name <> 'x' & 1","limit":10,"on":true,"off":false,"none":null}""", true)]
    [InlineData("""[1,-2.5e+10,{"a":[[]],"b":{}},"x"]""", true)]
    [InlineData("42", true)]
    [InlineData("""{"a" :1}""", false)]
    [InlineData("""{"a": 1}""", false)]
    [InlineData("""{"a":1, "b":2}""", false)]
    [InlineData(""" {"a":1}""", false)]
    [InlineData("""{"a":1} """, false)]
    [InlineData("{\"a\":\"tab\there\"}", false)]
    [InlineData("""{"a":"caf\u00e9"}""", false)]
    [InlineData("""{"a":"café"}""", false)]
    [InlineData("""{"Password":"hunter2"}""", false)]
    [InlineData("""{"note":"my TOKEN"}""", false)]
    [InlineData("""{"a":1""", false)]
    [InlineData("""{"a":1}{"b":2}""", false)]
    [InlineData("""{"a":01}""", false)]
    public void AsIs_OnlyWhenTheCopyWouldBeTheSame(string arguments, bool asIs)
    {
        var json = Encoding.UTF8.GetBytes(arguments);
        var shortcut = AuditArguments.AsIs(json, AuditArgumentsConfig.DefaultRedactKeys);

        Assert.Equal(asIs ? arguments : null, shortcut);
        if (asIs)
        {
            Assert.Equal(arguments, RewriteOnly(json));
        }
    }

    [Fact]
    public void AsIs_EveryPrintableAsciiCharacterInAString_SameAsTheCopy()
    {
        for (var c = ' '; c <= '~'; c++)
        {
            var json = Encoding.ASCII.GetBytes($$"""{"k{{c}}":"v{{c}}"}""");
            var shortcut = AuditArguments.AsIs(json, ["zzz"]);
            if (c is '"' or '\\')
            {
                Assert.Null(shortcut);
            }
            else
            {
                Assert.Equal(RewriteOnly(json, ["zzz"]), shortcut);
            }
        }
    }

    private static string RewriteOnly(byte[] json, IReadOnlyList<string>? keys = null) =>
        AuditArguments.Rewrite(json, keys ?? AuditArgumentsConfig.DefaultRedactKeys);

    [Fact]
    public void Render_ConfiguredKeys_OnlyThoseRedacted()
    {
        var config = new AuditArgumentsConfig { RedactKeys = ["ssn", "iban"] };

        Assert.Equal("""{"password":"p","customer":{"SSN":"[redacted]","iban_number":"[redacted]"}}""",
            Recorded("""{"password":"p","customer":{"SSN":"123","iban_number":"DE00"}}""", config));
    }

    [Fact]
    public void Render_NoKeys_NothingRedacted()
    {
        Assert.Equal("""{"password":"p"}""", Recorded("""{"password":"p"}""", new AuditArgumentsConfig { RedactKeys = [] }));
    }

    [Fact]
    public void Render_OverTheCap_MarkerWithTheSizeAndNoContent()
    {
        var json = $$"""{"text":"{{new string('a', 100)}}","password":"hunter2"}""";
        var config = new AuditArgumentsConfig { MaxBytes = 64 };

        var recorded = Recorded(json, config);

        Assert.Equal($$"""{"_truncated":true,"bytes":{{Encoding.UTF8.GetByteCount(json)}}}""", recorded);
    }

    [Fact]
    public void Render_ExactlyAtTheCap_RecordedInFull()
    {
        const string Json = """{"a":"bcd"}""";

        Assert.Equal(Json, Recorded(Json, new AuditArgumentsConfig { MaxBytes = Json.Length }));
    }

    [Fact]
    public void Capture_ArgumentsOff_NothingKeptOrRendered()
    {
        var arguments = new AuditArguments(new AuditArgumentsConfig { Enabled = false });

        var queued = arguments.Capture(AuditRecords.Record(0, """{"a":1}"""));

        Assert.True(queued.Record.Arguments.IsEmpty);
        Assert.Null(arguments.Render(queued));
    }

    [Fact]
    public void Capture_NoArguments_SameRecordNothingRendered()
    {
        var arguments = new AuditArguments(AuditArgumentsConfig.Default);
        var record = AuditRecords.Record(0);

        var queued = arguments.Capture(record);

        Assert.Same(record, queued.Record);
        Assert.Null(arguments.Render(queued));
    }

    [Theory]
    [InlineData("""{"password":"hunter2" """)]
    [InlineData("""{"password":"hunter2"} trailing""")]
    [InlineData("""password=hunter2""")]
    [InlineData("""{"password":"hunter2",}""")]
    [InlineData("""{"a":"\ud800"}""")]
    public void Render_NotJson_UnreadableMarkerNeverTheText(string arguments)
    {
        var recorded = Recorded(arguments);

        Assert.Equal($$"""{"_unreadable":true,"bytes":{{Encoding.UTF8.GetByteCount(arguments)}}}""", recorded);
    }

    [Fact]
    public void Render_DeepNesting_RedactedAtDepth()
    {
        var json = string.Concat(Enumerable.Repeat("""{"a":""", 100)) + """{"token":"t"}""" + new string('}', 100);

        var recorded = Recorded(json);

        Assert.Contains("""{"token":"[redacted]"}""", recorded, StringComparison.Ordinal);
        using var parsed = JsonDocument.Parse(recorded!, new JsonDocumentOptions { MaxDepth = 200 });
    }
}
