using System.Globalization;
using System.Text.Json;

namespace Samsa.Cli;

/// <summary>One input line turned into a record's parts; null parts are absent (a null key, a null value).</summary>
internal readonly record struct ParsedLine(string? Key, string? Value, List<(string Key, string? Value)>? Headers, int? Partition, long? TimestampMs);

/// <summary>How <c>samsa produce</c> reads a line: plain text (Kafka's console producer) or one JSON object.</summary>
internal abstract class LineFormat
{
    /// <summary>Parses one line; false with <paramref name="error"/> when the line cannot become a record.</summary>
    public abstract bool TryParse(string line, out ParsedLine parsed, out string? error);
}

/// <summary>
/// kafka-console-producer's line reader: optionally headers, then a key, then the value, each part split off at the first
/// occurrence of its separator (<c>--property parse.headers=true</c>, <c>headers.delimiter</c> default tab,
/// <c>headers.separator</c> default comma, <c>headers.key.separator</c> default colon; <c>parse.key=true</c>,
/// <c>key.separator</c> default tab). A part equal to <c>null.marker</c> (when set) is null. Without
/// <c>ignore.error=true</c> a missing separator fails the line; with it the line goes as it is (no headers, no key).
/// </summary>
internal sealed class TextLineFormat(string? keySeparator, bool parseHeaders, string headersDelimiter, string headersSeparator, string headerKeySeparator, string? nullMarker, bool ignoreError)
    : LineFormat
{
    /// <summary>The <c>--property</c> names this format understands, with Kafka's defaults.</summary>
    public static readonly IReadOnlyDictionary<string, string> Defaults = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["parse.key"] = "false",
        ["key.separator"] = "\t",
        ["parse.headers"] = "false",
        ["headers.delimiter"] = "\t",
        ["headers.separator"] = ",",
        ["headers.key.separator"] = ":",
        ["null.marker"] = "",
        ["ignore.error"] = "false",
    };

    public override bool TryParse(string line, out ParsedLine parsed, out string? error)
    {
        parsed = default;
        error = null;
        var rest = line;
        List<(string, string?)>? headers = null;
        if (parseHeaders)
        {
            var at = rest.IndexOf(headersDelimiter, StringComparison.Ordinal);
            if (at < 0)
            {
                if (!ignoreError)
                {
                    error = $"no headers delimiter '{Show(headersDelimiter)}' found (parse.headers=true)";
                    return false;
                }
            }
            else
            {
                headers = [];
                var text = rest[..at];
                rest = rest[(at + headersDelimiter.Length)..];
                if (text.Length > 0 && text != nullMarker)
                {
                    foreach (var pair in text.Split(headersSeparator))
                    {
                        var colon = pair.IndexOf(headerKeySeparator, StringComparison.Ordinal);
                        if (colon < 0)
                        {
                            if (!ignoreError)
                            {
                                error = $"no header key separator '{Show(headerKeySeparator)}' in header '{pair}'";
                                return false;
                            }

                            headers.Add((pair, null));
                            continue;
                        }

                        var value = pair[(colon + headerKeySeparator.Length)..];
                        headers.Add((pair[..colon], value == nullMarker ? null : value));
                    }
                }
            }
        }

        string? key = null;
        if (keySeparator is not null)
        {
            var at = rest.IndexOf(keySeparator, StringComparison.Ordinal);
            if (at < 0)
            {
                if (!ignoreError)
                {
                    error = $"no key separator '{Show(keySeparator)}' found; line not sent";
                    return false;
                }
            }
            else
            {
                key = rest[..at];
                rest = rest[(at + keySeparator.Length)..];
                if (key == nullMarker)
                {
                    key = null;
                }
            }
        }

        parsed = new ParsedLine(key, rest == nullMarker ? null : rest, headers, null, null);
        return true;
    }

    private static string Show(string separator) => separator.Replace("\t", "\\t", StringComparison.Ordinal);
}

/// <summary>
/// <c>samsa produce --format json</c>: each line is one JSON object
/// <c>{"key": string|null, "value": string|null, "headers": {"name": string|null, ...}, "partition": int, "timestamp": ms}</c>;
/// every field is optional (absent key or value: null), any other field is an error, so a typo fails the line
/// instead of being ignored. Strings are sent as UTF-8.
/// </summary>
internal sealed class JsonLineFormat : LineFormat
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 4 };

    public override bool TryParse(string line, out ParsedLine parsed, out string? error)
    {
        parsed = default;
        try
        {
            using var document = JsonDocument.Parse(line, DocumentOptions);
            return TryRead(document.RootElement, out parsed, out error);
        }
        catch (JsonException e)
        {
            error = $"not a JSON object: {e.Message}";
            return false;
        }
    }

    private static bool TryRead(JsonElement root, out ParsedLine parsed, out string? error)
    {
        parsed = default;
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = $"expected a JSON object, got {Describe(root.ValueKind)}";
            return false;
        }

        string? key = null, value = null;
        List<(string, string?)>? headers = null;
        int? partition = null;
        long? timestamp = null;
        foreach (var property in root.EnumerateObject())
        {
            var v = property.Value;
            switch (property.Name)
            {
                case "key" when v.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    key = v.GetString();
                    break;
                case "value" when v.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    value = v.GetString();
                    break;
                case "headers" when v.ValueKind == JsonValueKind.Object:
                    headers = [];
                    foreach (var header in v.EnumerateObject())
                    {
                        if (header.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                        {
                            error = $"header '{header.Name}' must be a string or null, got {Describe(header.Value.ValueKind)}";
                            return false;
                        }

                        headers.Add((header.Name, header.Value.GetString()));
                    }

                    break;
                case "headers" when v.ValueKind == JsonValueKind.Null:
                    break;
                case "partition" when v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var p) && p >= 0:
                    partition = p;
                    break;
                case "timestamp" when v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var t) && t >= 0:
                    timestamp = t;
                    break;
                case "key" or "value":
                    error = $"'{property.Name}' must be a string or null, got {Describe(v.ValueKind)}";
                    return false;
                case "headers":
                    error = $"'headers' must be an object of name: string|null, got {Describe(v.ValueKind)}";
                    return false;
                case "partition":
                    error = $"'partition' must be a whole number from 0, got {v.GetRawText()}";
                    return false;
                case "timestamp":
                    error = $"'timestamp' must be milliseconds since the epoch (a whole number from 0), got {v.GetRawText()}";
                    return false;
                default:
                    error = $"unknown field '{property.Name}' (expected key, value, headers, partition, timestamp)";
                    return false;
            }
        }

        parsed = new ParsedLine(key, value, headers, partition, timestamp);
        return true;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLower(CultureInfo.InvariantCulture),
    };
}
