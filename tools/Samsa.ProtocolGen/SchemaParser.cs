using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Samsa.ProtocolGen;

/// <summary>Reads Kafka's message definition files: JSON with <c>//</c> line comments.</summary>
internal static class SchemaParser
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true };

    public static MessageSpec Load(string path)
    {
        using var document = JsonDocument.Parse(StripComments(File.ReadAllText(path)), Options);
        var root = document.RootElement;
        var fields = ParseFields(root.GetProperty("fields"));
        var common = new List<StructSpec>();
        if (root.TryGetProperty("commonStructs", out var structs))
        {
            foreach (var s in structs.EnumerateArray())
            {
                common.Add(new StructSpec
                {
                    Name = s.GetProperty("name").GetString()!,
                    Versions = VersionRange.Parse(GetString(s, "versions")),
                    Fields = ParseFields(s.GetProperty("fields")),
                });
            }
        }

        return new MessageSpec
        {
            Name = root.GetProperty("name").GetString()!,
            Kind = root.GetProperty("type").GetString()!,
            ApiKey = root.TryGetProperty("apiKey", out var key) ? key.GetInt16() : null,
            ValidVersions = VersionRange.Parse(GetString(root, "validVersions")),
            FlexibleVersions = VersionRange.Parse(GetString(root, "flexibleVersions")),
            LatestVersionUnstable = root.TryGetProperty("latestVersionUnstable", out var unstable) && unstable.GetBoolean(),
            Fields = fields,
            CommonStructs = common,
        };
    }

    private static List<FieldSpec> ParseFields(JsonElement array)
    {
        var list = new List<FieldSpec>();
        foreach (var f in array.EnumerateArray())
        {
            var flexible = GetString(f, "flexibleVersions");
            list.Add(new FieldSpec
            {
                Name = f.GetProperty("name").GetString()!,
                Type = f.GetProperty("type").GetString()!,
                Versions = VersionRange.Parse(GetString(f, "versions")),
                NullableVersions = VersionRange.Parse(GetString(f, "nullableVersions")),
                TaggedVersions = VersionRange.Parse(GetString(f, "taggedVersions")),
                Tag = f.TryGetProperty("tag", out var tag) ? tag.GetInt32() : null,
                FlexibleVersions = flexible is null ? null : VersionRange.Parse(flexible),
                Default = GetString(f, "default"),
                Ignorable = f.TryGetProperty("ignorable", out var ignorable) && ignorable.GetBoolean(),
                Fields = f.TryGetProperty("fields", out var nested) ? ParseFields(nested) : null,
            });
        }

        return list;
    }

    /// <summary>A string, number or boolean property as text; null when absent.</summary>
    private static string? GetString(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => throw new InvalidDataException($"Unexpected {value.ValueKind} for '{name}'."),
        };
    }

    /// <summary>Removes <c>//</c> comments that are outside string literals.</summary>
    public static string StripComments(string text)
    {
        var result = new StringBuilder(text.Length);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    result.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
                result.Append(c);
            }
            else if (c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                result.Append('\n');
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    public static string ParseIntegerDefault(string text)
    {
        text = text.Trim();
        var negative = text.StartsWith('-');
        var digits = negative ? text[1..] : text;
        long value = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.Parse(digits[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : long.Parse(digits, CultureInfo.InvariantCulture);
        return (negative ? -value : value).ToString(CultureInfo.InvariantCulture);
    }
}
