using System.Collections.Frozen;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Prompts;

/// <summary>
/// <c>completion/complete</c> (scenario <c>completion-complete</c>): suggests values for the prompt arguments and the
/// resource template parameter that start with what the user typed.
/// </summary>
internal static class Completions
{
    private static readonly FrozenDictionary<(string Ref, string Argument), string[]> s_candidates = new Dictionary<(string, string), string[]>
    {
        [("test_prompt_with_arguments", "arg1")] = ["paris", "park", "party", "test", "testValue1"],
        [("test_prompt_with_arguments", "arg2")] = ["world", "wonder", "testValue2"],
        [("test_prompt_with_embedded_resource", "resourceUri")] = ["test://static-text", "test://example-resource"],
        [("test://template/{id}/data", "id")] = ["1", "2", "3", "123"],
    }.ToFrozenDictionary();

    public static ValueTask<CompleteResult> HandleAsync(RequestContext<CompleteRequestParams> context, CancellationToken cancellationToken)
    {
        var reference = context.Params?.Ref switch
        {
            PromptReference prompt => prompt.Name,
            ResourceTemplateReference template => template.Uri,
            _ => null,
        };
        var argument = context.Params?.Argument;

        string[] values = [];
        if (reference is not null && argument is not null && s_candidates.TryGetValue((reference, argument.Name), out var candidates))
        {
            values = [.. candidates.Where(value => value.StartsWith(argument.Value ?? "", StringComparison.OrdinalIgnoreCase))];
        }

        return ValueTask.FromResult(new CompleteResult
        {
            Completion = new Completion { Values = values, Total = values.Length, HasMore = false },
        });
    }
}
