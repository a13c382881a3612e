using System.Globalization;
using System.Text.Json;

namespace Gatehouse.Chat.Components.Tools;

/// <summary>The kind of input a JSON Schema property gets in the tool runner's form.</summary>
internal enum FieldKind
{
    Text,
    Number,
    Integer,
    Boolean,
    Choice,

    /// <summary>Anything else (objects, arrays, unions): typed as JSON.</summary>
    Json,
}

/// <summary>One form field, built from a property of a tool's <c>inputSchema</c> (MCP tools, JSON Schema).</summary>
internal sealed class SchemaField(string name, FieldKind kind, string? description, bool required, IReadOnlyList<string> choices)
{
    public string Name { get; } = name;

    public FieldKind Kind { get; } = kind;

    public string? Description { get; } = description;

    public bool Required { get; } = required;

    public IReadOnlyList<string> Choices { get; } = choices;

    /// <summary>What the user typed, as text (a checkbox is "true" or "false").</summary>
    public string Value { get; set; } = "";

    public bool Checked
    {
        get => Value == "true";
        set => Value = value ? "true" : "false";
    }
}

/// <summary>The form of a tool: its fields, and the <c>arguments</c> of a <c>tools/call</c> built from them.</summary>
internal sealed class SchemaFields
{
    private SchemaFields(List<SchemaField> fields) => Fields = fields;

    public IReadOnlyList<SchemaField> Fields { get; }

    public static SchemaFields From(JsonElement schema)
    {
        var required = schema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Select(e => e.GetString()).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];
        var fields = new List<SchemaField>();
        if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                var p = property.Value;
                var description = p.ValueKind == JsonValueKind.Object && p.TryGetProperty("description", out var d) ? d.GetString() : null;
                var choices = p.ValueKind == JsonValueKind.Object && p.TryGetProperty("enum", out var e) && e.ValueKind == JsonValueKind.Array &&
                              e.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String)
                    ? e.EnumerateArray().Select(v => v.GetString()!).ToList()
                    : null;
                var kind = choices is not null ? FieldKind.Choice : TypeOf(p) switch
                {
                    "string" => FieldKind.Text,
                    "number" => FieldKind.Number,
                    "integer" => FieldKind.Integer,
                    "boolean" => FieldKind.Boolean,
                    _ => FieldKind.Json,
                };
                var field = new SchemaField(property.Name, kind, description, required.Contains(property.Name), choices ?? []);
                if (p.ValueKind == JsonValueKind.Object && p.TryGetProperty("default", out var def))
                {
                    field.Value = def.ValueKind == JsonValueKind.String ? def.GetString()! : def.GetRawText();
                }
                else if (kind == FieldKind.Boolean)
                {
                    field.Value = "false";
                }

                fields.Add(field);
            }
        }

        return new SchemaFields(fields);
    }

    /// <summary>
    /// The arguments, or the first field that cannot be read. Empty optional fields are left out, so the server
    /// applies its own defaults.
    /// </summary>
    public (Dictionary<string, object?>? Arguments, string? Error) Arguments()
    {
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            if (field.Value.Length == 0)
            {
                if (field.Required)
                {
                    return (null, $"{field.Name} is required.");
                }

                continue;
            }

            switch (field.Kind)
            {
                case FieldKind.Text or FieldKind.Choice:
                    arguments[field.Name] = field.Value;
                    break;
                case FieldKind.Boolean:
                    arguments[field.Name] = field.Checked;
                    break;
                case FieldKind.Integer when long.TryParse(field.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var integer):
                    arguments[field.Name] = integer;
                    break;
                case FieldKind.Number when double.TryParse(field.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number):
                    arguments[field.Name] = number;
                    break;
                case FieldKind.Json:
                    try
                    {
                        using var document = JsonDocument.Parse(field.Value);
                        arguments[field.Name] = document.RootElement.Clone();
                    }
                    catch (JsonException ex)
                    {
                        return (null, $"{field.Name} is not valid JSON: {ex.Message}");
                    }

                    break;
                default:
                    return (null, $"{field.Name} must be a {(field.Kind == FieldKind.Integer ? "whole number" : "number")}.");
            }
        }

        return (arguments, null);
    }

    /// <summary>The JSON Schema <c>type</c>, when it names one type (<c>["string", "null"]</c> counts as <c>string</c>).</summary>
    private static string? TypeOf(JsonElement property)
    {
        if (property.ValueKind != JsonValueKind.Object || !property.TryGetProperty("type", out var type))
        {
            return null;
        }

        if (type.ValueKind == JsonValueKind.String)
        {
            return type.GetString();
        }

        var types = type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Select(t => t.GetString()).Where(t => t != "null").ToList()
            : [];
        return types.Count == 1 ? types[0] : null;
    }
}
