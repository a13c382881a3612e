using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static ModelContextProtocol.Protocol.ElicitRequestParams;

namespace Gatehouse.Conformance.Server.Tools;

/// <summary>
/// Tools that send a request back to the client in the middle of a call: scenarios <c>tools-call-sampling</c>,
/// <c>tools-call-elicitation</c>, <c>elicitation-sep1034-defaults</c> and <c>elicitation-sep1330-enums</c>.
/// </summary>
[McpServerToolType]
internal static class ClientRequestTools
{
    [McpServerTool(Name = "test_sampling")]
    [Description("Asks the client's LLM to answer the prompt (sampling/createMessage) and returns its reply.")]
    public static async Task<CallToolResult> Sampling(
        McpServer server,
        [Description("The prompt to send to the LLM")] string prompt,
        CancellationToken cancellationToken)
    {
        if (server.ClientCapabilities?.Sampling is null)
        {
            return Error("The client did not declare the sampling capability.");
        }

        var result = await server.SampleAsync(
            new CreateMessageRequestParams
            {
                Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }],
                MaxTokens = 100,
            },
            cancellationToken);

        var reply = string.Concat(result.Content.OfType<TextContentBlock>().Select(block => block.Text));
        return Text($"LLM response: {reply}");
    }

    [McpServerTool(Name = "test_elicitation")]
    [Description("Asks the user for a username and an email (elicitation/create) and returns the answer.")]
    public static async Task<CallToolResult> Elicitation(
        McpServer server,
        [Description("The message to show the user")] string message,
        CancellationToken cancellationToken)
    {
        if (server.ClientCapabilities?.Elicitation is null)
        {
            return Error("The client did not declare the elicitation capability.");
        }

        var result = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = message,
                RequestedSchema = new RequestSchema
                {
                    Properties =
                    {
                        ["username"] = new StringSchema { Description = "User's response" },
                        ["email"] = new StringSchema { Description = "User's email address" },
                    },
                    Required = ["username", "email"],
                },
            },
            cancellationToken);

        return Text($"User response: {Describe(result)}");
    }

    [McpServerTool(Name = "test_elicitation_sep1034_defaults")]
    [Description("Elicits one field of each primitive type, each with a default value (SEP-1034).")]
    public static async Task<CallToolResult> ElicitationDefaults(McpServer server, CancellationToken cancellationToken)
    {
        if (server.ClientCapabilities?.Elicitation is null)
        {
            return Error("The client did not declare the elicitation capability.");
        }

        var result = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = "Please review the pre-filled values and accept or change them.",
                RequestedSchema = new RequestSchema
                {
                    Properties =
                    {
                        ["name"] = new StringSchema { Description = "User name", Default = "John Doe" },
                        ["age"] = new NumberSchema { Type = "integer", Description = "User age", Default = 30 },
                        ["score"] = new NumberSchema { Type = "number", Description = "User score", Default = 95.5 },
                        ["status"] = new UntitledSingleSelectEnumSchema
                        {
                            Description = "User status",
                            Enum = ["active", "inactive", "pending"],
                            Default = "active",
                        },
                        ["verified"] = new BooleanSchema { Description = "Verification status", Default = true },
                    },
                },
            },
            cancellationToken);

        return Text($"Elicitation completed: {Describe(result)}");
    }

    [McpServerTool(Name = "test_elicitation_sep1330_enums")]
    [Description("Elicits one field of each enum schema variant: untitled, titled, legacy, and both multi-selects (SEP-1330).")]
    public static async Task<CallToolResult> ElicitationEnums(McpServer server, CancellationToken cancellationToken)
    {
        if (server.ClientCapabilities?.Elicitation is null)
        {
            return Error("The client did not declare the elicitation capability.");
        }

        var result = await server.ElicitAsync(
            new ElicitRequestParams
            {
                Message = "Please pick one or more options in each field.",
                RequestedSchema = new RequestSchema
                {
                    Properties =
                    {
                        ["untitledSingle"] = new UntitledSingleSelectEnumSchema
                        {
                            Description = "Untitled single-select",
                            Enum = ["option1", "option2", "option3"],
                        },
                        ["titledSingle"] = new TitledSingleSelectEnumSchema
                        {
                            Description = "Titled single-select",
                            OneOf =
                            [
                                new EnumSchemaOption { Const = "value1", Title = "First Option" },
                                new EnumSchemaOption { Const = "value2", Title = "Second Option" },
                                new EnumSchemaOption { Const = "value3", Title = "Third Option" },
                            ],
                        },
                        ["legacyEnum"] = new LegacyTitledEnumSchema
                        {
                            Description = "Legacy titled enum",
                            Enum = ["opt1", "opt2", "opt3"],
                            EnumNames = ["Option One", "Option Two", "Option Three"],
                        },
                        ["untitledMulti"] = new UntitledMultiSelectEnumSchema
                        {
                            Description = "Untitled multi-select",
                            Items = new UntitledEnumItemsSchema { Type = "string", Enum = ["option1", "option2", "option3"] },
                        },
                        ["titledMulti"] = new TitledMultiSelectEnumSchema
                        {
                            Description = "Titled multi-select",
                            Items = new TitledEnumItemsSchema
                            {
                                AnyOf =
                                [
                                    new EnumSchemaOption { Const = "value1", Title = "First Choice" },
                                    new EnumSchemaOption { Const = "value2", Title = "Second Choice" },
                                    new EnumSchemaOption { Const = "value3", Title = "Third Choice" },
                                ],
                            },
                        },
                    },
                },
            },
            cancellationToken);

        return Text($"Elicitation completed: {Describe(result)}");
    }

    private static string Describe(ElicitResult result) =>
        $"action={result.Action}, content={(result.Content is null ? "{}" : JsonSerializer.Serialize(result.Content, ConformanceJsonContext.Default.IDictionaryStringJsonElement))}";

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    private static CallToolResult Error(string text) => new() { IsError = true, Content = [new TextContentBlock { Text = text }] };
}
