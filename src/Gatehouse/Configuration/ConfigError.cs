namespace Gatehouse.Configuration;

/// <summary>One problem in a configuration file, located so that an operator can fix it without guessing.</summary>
internal sealed record ConfigError(string Key, int Line, int Column, string Message)
{
    public override string ToString() => Line > 0
        ? $"{Line}:{Column}: {Key}: {Message}"
        : $"{Key}: {Message}";
}

/// <summary>Thrown when a configuration cannot be used; carries every error found, not just the first.</summary>
internal sealed class ConfigException(string source, IReadOnlyList<ConfigError> errors)
    : Exception(Format(source, errors))
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;

    private static string Format(string source, IReadOnlyList<ConfigError> errors) =>
        $"{source} has {errors.Count} error(s):" + Environment.NewLine +
        string.Join(Environment.NewLine, errors.Select(e => $"  {source}:{e}"));
}
