namespace Samsa;

/// <summary>
/// A producer setting that is unknown, unparsable, out of range or in conflict with another
/// setting. The message is a complete sentence naming the Java config key(s) involved.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> should be a complete sentence.</summary>
    public ConfigException(string key, string message, string? value = null, string? allowed = null, string? suggestion = null)
        : base(message)
    {
        Key = key;
        Value = value;
        Allowed = allowed;
        Suggestion = suggestion;
    }

    /// <summary>The Java config key at fault, e.g. <c>linger.ms</c>.</summary>
    public string Key { get; }

    /// <summary>The offending value as given (or as it would be written in a .properties file), if any.</summary>
    public string? Value { get; }

    /// <summary>A short description of the accepted values, if there is one.</summary>
    public string? Allowed { get; }

    /// <summary>For an unknown key, the closest known key, if one is close enough to be a likely typo.</summary>
    public string? Suggestion { get; }

    internal static ConfigException InvalidValue(string key, string? value, string allowed) =>
        new(key, $"Invalid value '{value}' for '{key}': expected {allowed}.", value, allowed);
}
