using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Samsa.Serialization;

/// <summary>
/// Serializes values as JSON with System.Text.Json, writing UTF-8 straight into the producer's buffer.
/// Prefer the <see cref="JsonTypeInfo{T}"/> constructor (from a source-generated <c>JsonSerializerContext</c>),
/// which is safe for trimming and Native AOT.
/// </summary>
/// <typeparam name="T">The type serialized. A null value is never passed (it is sent as a null on the wire).</typeparam>
public sealed class JsonSerializer<T> : ISerializer<T>
{
    private const string ReflectionMessage =
        "JSON serialization with JsonSerializerOptions uses reflection, which trimming and Native AOT may break. Use the JsonSerializer<T>(JsonTypeInfo<T>) constructor with a source-generated JsonSerializerContext instead.";

    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly JsonWriterOptions _writerOptions;

    // One cached writer per thread (and T), reused with Reset(output) so that a record costs no
    // allocation. Writer options are fixed at construction, so the cache is used only when they match.
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>Serializes with source-generated metadata, e.g. <c>MyContext.Default.Order</c>. Trim- and AOT-safe.</summary>
    public JsonSerializer(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        _typeInfo = typeInfo;
        _writerOptions = WriterOptions(typeInfo.Options);
    }

    /// <summary>Serializes with reflection-based metadata and the given options (null: <see cref="JsonSerializerOptions.Default"/>).</summary>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public JsonSerializer(JsonSerializerOptions? options = null)
    {
        options ??= JsonSerializerOptions.Default;
        if (options.TypeInfoResolver is null)
        {
            options = new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        }

        options.MakeReadOnly();
        _typeInfo = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        _writerOptions = WriterOptions(options);
    }

    /// <inheritdoc />
    public void Serialize(T value, IBufferWriter<byte> output, in SerializationContext context)
    {
        // Take the writer out of the slot while it is in use, so that a nested call on the same
        // thread (say, from a custom converter) gets its own.
        var writer = t_writer;
        if (writer is null || !SameOptions(writer.Options, _writerOptions))
        {
            writer = new Utf8JsonWriter(output, _writerOptions);
        }
        else
        {
            t_writer = null;
            writer.Reset(output);
        }

        try
        {
            System.Text.Json.JsonSerializer.Serialize(writer, value, _typeInfo);
            writer.Flush();
        }
        finally
        {
            // Point the idle writer away from the output so that it does not keep the buffer alive.
            writer.Reset(DetachedWriter.Instance);
            t_writer = writer;
        }
    }

    private static bool SameOptions(JsonWriterOptions a, JsonWriterOptions b) =>
        ReferenceEquals(a.Encoder, b.Encoder)
        && a.Indented == b.Indented
        && a.SkipValidation == b.SkipValidation
#if NET9_0_OR_GREATER
        && a.IndentCharacter == b.IndentCharacter
        && a.IndentSize == b.IndentSize
        && a.NewLine == b.NewLine
#endif
        ;

    private static JsonWriterOptions WriterOptions(JsonSerializerOptions options) => new()
    {
        Encoder = options.Encoder,
        Indented = options.WriteIndented,
#if NET9_0_OR_GREATER
        IndentCharacter = options.IndentCharacter,
        IndentSize = options.IndentSize,
        NewLine = options.NewLine,
#endif
    };
}

/// <summary>A sink for idle JSON writers; nothing is ever written to it.</summary>
internal sealed class DetachedWriter : IBufferWriter<byte>
{
    public static readonly DetachedWriter Instance = new();

    public void Advance(int count) => throw new InvalidOperationException("A detached JSON writer was written to.");

    public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("A detached JSON writer was written to.");

    public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("A detached JSON writer was written to.");
}
