namespace Samsa.ProtocolGen;

/// <summary>An inclusive version range; <see cref="None"/> is the empty range, "3+" is open-ended.</summary>
internal readonly record struct VersionRange(short Low, short High)
{
    public const short Open = short.MaxValue;

    public static readonly VersionRange None = new(1, 0);

    public bool IsEmpty => Low > High;

    public bool Contains(short version) => version >= Low && version <= High;

    public VersionRange Intersect(VersionRange other)
    {
        var low = Math.Max(Low, other.Low);
        var high = Math.Min(High, other.High);
        return low > high ? None : new VersionRange(low, high);
    }

    /// <summary>True when every version of <paramref name="other"/> is in this range.</summary>
    public bool Covers(VersionRange other) => other.IsEmpty || (Low <= other.Low && High >= other.High);

    public static VersionRange Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text == "none")
        {
            return None;
        }

        text = text.Trim();
        if (text.EndsWith('+'))
        {
            return new VersionRange(short.Parse(text[..^1]), Open);
        }

        var dash = text.IndexOf('-');
        return dash < 0
            ? new VersionRange(short.Parse(text), short.Parse(text))
            : new VersionRange(short.Parse(text[..dash]), short.Parse(text[(dash + 1)..]));
    }

    public override string ToString() => IsEmpty ? "none" : High == Open ? $"{Low}+" : Low == High ? $"{Low}" : $"{Low}-{High}";
}

/// <summary>One message definition file: a request, response, header or data structure.</summary>
internal sealed class MessageSpec
{
    public required string Name { get; init; }

    /// <summary>"request", "response" or "header".</summary>
    public required string Kind { get; init; }

    public short? ApiKey { get; init; }

    public required VersionRange ValidVersions { get; init; }

    public required VersionRange FlexibleVersions { get; init; }

    public bool LatestVersionUnstable { get; init; }

    public required List<FieldSpec> Fields { get; init; }

    public required List<StructSpec> CommonStructs { get; init; }

    /// <summary>"ProduceRequest" becomes "Produce".</summary>
    public string ApiName => Name.EndsWith("Request", StringComparison.Ordinal) ? Name[..^"Request".Length]
        : Name.EndsWith("Response", StringComparison.Ordinal) ? Name[..^"Response".Length]
        : Name;
}

/// <summary>A named structure: the message itself, an inline struct, or a common struct.</summary>
internal sealed class StructSpec
{
    public required string Name { get; init; }

    public required VersionRange Versions { get; init; }

    public required List<FieldSpec> Fields { get; init; }
}

internal sealed class FieldSpec
{
    public required string Name { get; init; }

    /// <summary>The type as written: "int32", "string", "[]int32", "[]Topic", "LeaderIdAndEpoch".</summary>
    public required string Type { get; init; }

    public required VersionRange Versions { get; init; }

    public required VersionRange NullableVersions { get; init; }

    public required VersionRange TaggedVersions { get; init; }

    public int? Tag { get; init; }

    /// <summary>A per-field override of the message's flexible versions (RequestHeader's ClientId).</summary>
    public VersionRange? FlexibleVersions { get; init; }

    /// <summary>The JSON default as text, or null when the type's zero/empty default applies.</summary>
    public string? Default { get; init; }

    public bool Ignorable { get; init; }

    /// <summary>Inline struct fields, when the type is a struct declared here.</summary>
    public List<FieldSpec>? Fields { get; init; }

    public bool IsArray => Type.StartsWith("[]", StringComparison.Ordinal);

    public string ElementType => IsArray ? Type[2..] : Type;

    public bool IsTagged => Tag is not null;

    public static bool IsPrimitive(string type) => type is "bool" or "int8" or "int16" or "uint16" or "int32"
        or "uint32" or "int64" or "float64" or "string" or "uuid" or "bytes" or "records";

    public bool IsStruct => !IsPrimitive(ElementType);
}
