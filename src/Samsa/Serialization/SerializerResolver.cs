namespace Samsa.Serialization;

/// <summary>
/// Picks the serializer for the producer's key or value type: an explicit one, else the one named by
/// <c>key.serializer</c>/<c>value.serializer</c>, else the built-in default for the type. Uses type
/// comparisons only (no reflection), so it is safe for Native AOT.
/// </summary>
internal static class SerializerResolver
{
    private const string JavaPackage = "org.apache.kafka.common.serialization.";

    private enum Kind
    {
        String,
        Bytes,
        Int32,
        Int64,
        Double,
        Guid,
        Null,
    }

    private const string KnownNames =
        "a Java class name (org.apache.kafka.common.serialization.StringSerializer, ByteArraySerializer, ByteBufferSerializer, BytesSerializer, IntegerSerializer, LongSerializer, DoubleSerializer, UUIDSerializer, VoidSerializer) or a short name (string, bytes, int, long, double, uuid, null)";

    public static ISerializer<T> Resolve<T>(ISerializer<T>? explicitSerializer, string? configuredName, string configKey)
    {
        if (explicitSerializer is not null)
        {
            return explicitSerializer;
        }

        var part = configKey.StartsWith("key", StringComparison.Ordinal) ? "key" : "value";
        if (!string.IsNullOrWhiteSpace(configuredName))
        {
            var kind = ParseName(configuredName, configKey);
            return BuiltIn<T>(kind) ?? throw new ConfigException(
                configKey,
                $"'{configKey}' is {DisplayName(configuredName)}, which serializes {Describe(kind)}, but the producer's {part} type is {TypeName<T>()}. Change '{configKey}' or the {part} type.",
                configuredName,
                KnownNames);
        }

        return BuiltIn<T>(DefaultKind<T>() ?? Kind.String, onlyIfDefault: true) ?? throw new ConfigException(
            configKey,
            $"There is no built-in serializer for the producer's {part} type {TypeName<T>()}. Call Set{(part == "key" ? "Key" : "Value")}Serializer with an ISerializer<{TypeName<T>()}> (for example a JsonSerializer<{TypeName<T>()}>), or configure '{configKey}'.",
            null,
            KnownNames);
    }

    /// <summary>Throws if <paramref name="name"/> is set but is not a serializer Samsa knows (used by options validation).</summary>
    public static void CheckKnownName(string? name, string configKey)
    {
        if (!string.IsNullOrWhiteSpace(name))
        {
            ParseName(name, configKey);
        }
    }

    private static Kind ParseName(string name, string configKey)
    {
        name = name.Trim();
        if (name.StartsWith(JavaPackage, StringComparison.Ordinal))
        {
            // Java class names are case-sensitive.
            switch (name[JavaPackage.Length..])
            {
                case "StringSerializer": return Kind.String;
                case "ByteArraySerializer":
                case "ByteBufferSerializer":
                case "BytesSerializer": return Kind.Bytes;
                case "IntegerSerializer": return Kind.Int32;
                case "LongSerializer": return Kind.Int64;
                case "DoubleSerializer": return Kind.Double;
                case "UUIDSerializer": return Kind.Guid;
                case "VoidSerializer": return Kind.Null;
            }
        }
        else
        {
            switch (name.ToLowerInvariant())
            {
                case "string": return Kind.String;
                case "bytes" or "bytearray": return Kind.Bytes;
                case "int" or "int32" or "integer": return Kind.Int32;
                case "long" or "int64": return Kind.Int64;
                case "double": return Kind.Double;
                case "uuid" or "guid": return Kind.Guid;
                case "null" or "void": return Kind.Null;
            }
        }

        throw new ConfigException(
            configKey,
            $"Invalid value '{name}' for '{configKey}': expected {KnownNames}. For other types, pass an ISerializer<T> to the builder instead.",
            name,
            KnownNames);
    }

    private static Kind? DefaultKind<T>()
    {
        if (typeof(T) == typeof(string))
        {
            return Kind.String;
        }

        if (typeof(T) == typeof(byte[]) || typeof(T) == typeof(ReadOnlyMemory<byte>))
        {
            return Kind.Bytes;
        }

        if (typeof(T) == typeof(int))
        {
            return Kind.Int32;
        }

        if (typeof(T) == typeof(long))
        {
            return Kind.Int64;
        }

        if (typeof(T) == typeof(double))
        {
            return Kind.Double;
        }

        if (typeof(T) == typeof(Guid))
        {
            return Kind.Guid;
        }

        return typeof(T) == typeof(Null) ? Kind.Null : null;
    }

    /// <summary>The built-in serializer of <paramref name="kind"/> if it serializes <typeparamref name="T"/>; else null.</summary>
    private static ISerializer<T>? BuiltIn<T>(Kind kind, bool onlyIfDefault = false)
    {
        if (onlyIfDefault && DefaultKind<T>() is null)
        {
            return null;
        }

        object? serializer = kind switch
        {
            Kind.String when typeof(T) == typeof(string) => Serializers.Utf8,
            // byte[] and ReadOnlyMemory<byte> put the same bytes on the wire, so either Java name fits either type.
            Kind.Bytes when typeof(T) == typeof(byte[]) => Serializers.ByteArray,
            Kind.Bytes when typeof(T) == typeof(ReadOnlyMemory<byte>) => Serializers.ReadOnlyMemory,
            Kind.Int32 when typeof(T) == typeof(int) => Serializers.Int32,
            Kind.Int64 when typeof(T) == typeof(long) => Serializers.Int64,
            Kind.Double when typeof(T) == typeof(double) => Serializers.Double,
            Kind.Guid when typeof(T) == typeof(Guid) => Serializers.Guid,
            Kind.Null when typeof(T) == typeof(Null) => Serializers.Null,
            _ => null,
        };
        return (ISerializer<T>?)serializer;
    }

    private static string DisplayName(string configuredName)
    {
        configuredName = configuredName.Trim();
        var dot = configuredName.LastIndexOf('.');
        return dot >= 0 ? configuredName[(dot + 1)..] : configuredName;
    }

    private static string Describe(Kind kind) => kind switch
    {
        Kind.String => "string",
        Kind.Bytes => "byte[] or ReadOnlyMemory<byte>",
        Kind.Int32 => "int",
        Kind.Int64 => "long",
        Kind.Double => "double",
        Kind.Guid => "Guid",
        _ => "Null (always-null keys or values)",
    };

    private static string TypeName<T>()
    {
        if (typeof(T) == typeof(string)) return "string";
        if (typeof(T) == typeof(byte[])) return "byte[]";
        if (typeof(T) == typeof(ReadOnlyMemory<byte>)) return "ReadOnlyMemory<byte>";
        if (typeof(T) == typeof(int)) return "int";
        if (typeof(T) == typeof(long)) return "long";
        if (typeof(T) == typeof(double)) return "double";
        if (typeof(T) == typeof(float)) return "float";
        if (typeof(T) == typeof(short)) return "short";
        if (typeof(T) == typeof(bool)) return "bool";
        return typeof(T).Name;
    }
}
