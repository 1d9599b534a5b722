using System.Collections;
using System.Reflection;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Tests.Protocol;

internal delegate T ReadMessage<T>(ref KafkaReader reader, short version);

/// <summary>Decoded message, plus the reader's state after decoding.</summary>
internal readonly record struct ReadOutcome(object Value, bool Failed, string? FailureReason, int Remaining);

/// <summary>One generated message type, with delegates so tests need no reflection to encode or decode.</summary>
internal sealed class MessageEntry
{
    public required string Name { get; init; }

    /// <summary>Golden file name without extension: the API name, or the header's name.</summary>
    public required string File { get; init; }

    /// <summary>"request", "response" or "header".</summary>
    public required string Kind { get; init; }

    public required short Lowest { get; init; }

    public required short Highest { get; init; }

    public required Func<object> New { get; init; }

    public required Action<object, KafkaWriter, short> Write { get; init; }

    public required Func<byte[], short, ReadOutcome> Read { get; init; }

    public byte[] Encode(object message, short version)
    {
        using var buffer = new PooledBufferWriter();
        Write(message, new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }

    public override string ToString() => Name;
}

/// <summary>Every generated message; keep in step with tools/Samsa.ProtocolGen's list.</summary>
internal static class MessageCatalog
{
    public static readonly MessageEntry[] All =
    [
        Of("ApiVersions", "request", ApiVersionsRequest.LowestSupportedVersion, ApiVersionsRequest.HighestSupportedVersion, ApiVersionsRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("ApiVersions", "response", ApiVersionsResponse.LowestSupportedVersion, ApiVersionsResponse.HighestSupportedVersion, ApiVersionsResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("Metadata", "request", MetadataRequest.LowestSupportedVersion, MetadataRequest.HighestSupportedVersion, MetadataRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("Metadata", "response", MetadataResponse.LowestSupportedVersion, MetadataResponse.HighestSupportedVersion, MetadataResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("Produce", "request", ProduceRequest.LowestSupportedVersion, ProduceRequest.HighestSupportedVersion, ProduceRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("Produce", "response", ProduceResponse.LowestSupportedVersion, ProduceResponse.HighestSupportedVersion, ProduceResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("InitProducerId", "request", InitProducerIdRequest.LowestSupportedVersion, InitProducerIdRequest.HighestSupportedVersion, InitProducerIdRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("InitProducerId", "response", InitProducerIdResponse.LowestSupportedVersion, InitProducerIdResponse.HighestSupportedVersion, InitProducerIdResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("FindCoordinator", "request", FindCoordinatorRequest.LowestSupportedVersion, FindCoordinatorRequest.HighestSupportedVersion, FindCoordinatorRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("FindCoordinator", "response", FindCoordinatorResponse.LowestSupportedVersion, FindCoordinatorResponse.HighestSupportedVersion, FindCoordinatorResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("AddPartitionsToTxn", "request", AddPartitionsToTxnRequest.LowestSupportedVersion, AddPartitionsToTxnRequest.HighestSupportedVersion, AddPartitionsToTxnRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("AddPartitionsToTxn", "response", AddPartitionsToTxnResponse.LowestSupportedVersion, AddPartitionsToTxnResponse.HighestSupportedVersion, AddPartitionsToTxnResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("AddOffsetsToTxn", "request", AddOffsetsToTxnRequest.LowestSupportedVersion, AddOffsetsToTxnRequest.HighestSupportedVersion, AddOffsetsToTxnRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("AddOffsetsToTxn", "response", AddOffsetsToTxnResponse.LowestSupportedVersion, AddOffsetsToTxnResponse.HighestSupportedVersion, AddOffsetsToTxnResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("EndTxn", "request", EndTxnRequest.LowestSupportedVersion, EndTxnRequest.HighestSupportedVersion, EndTxnRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("EndTxn", "response", EndTxnResponse.LowestSupportedVersion, EndTxnResponse.HighestSupportedVersion, EndTxnResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("TxnOffsetCommit", "request", TxnOffsetCommitRequest.LowestSupportedVersion, TxnOffsetCommitRequest.HighestSupportedVersion, TxnOffsetCommitRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("TxnOffsetCommit", "response", TxnOffsetCommitResponse.LowestSupportedVersion, TxnOffsetCommitResponse.HighestSupportedVersion, TxnOffsetCommitResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("SaslHandshake", "request", SaslHandshakeRequest.LowestSupportedVersion, SaslHandshakeRequest.HighestSupportedVersion, SaslHandshakeRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("SaslHandshake", "response", SaslHandshakeResponse.LowestSupportedVersion, SaslHandshakeResponse.HighestSupportedVersion, SaslHandshakeResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("SaslAuthenticate", "request", SaslAuthenticateRequest.LowestSupportedVersion, SaslAuthenticateRequest.HighestSupportedVersion, SaslAuthenticateRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("SaslAuthenticate", "response", SaslAuthenticateResponse.LowestSupportedVersion, SaslAuthenticateResponse.HighestSupportedVersion, SaslAuthenticateResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("DescribeCluster", "request", DescribeClusterRequest.LowestSupportedVersion, DescribeClusterRequest.HighestSupportedVersion, DescribeClusterRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("DescribeCluster", "response", DescribeClusterResponse.LowestSupportedVersion, DescribeClusterResponse.HighestSupportedVersion, DescribeClusterResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("GetTelemetrySubscriptions", "request", GetTelemetrySubscriptionsRequest.LowestSupportedVersion, GetTelemetrySubscriptionsRequest.HighestSupportedVersion, GetTelemetrySubscriptionsRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("GetTelemetrySubscriptions", "response", GetTelemetrySubscriptionsResponse.LowestSupportedVersion, GetTelemetrySubscriptionsResponse.HighestSupportedVersion, GetTelemetrySubscriptionsResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("PushTelemetry", "request", PushTelemetryRequest.LowestSupportedVersion, PushTelemetryRequest.HighestSupportedVersion, PushTelemetryRequest.Read, (m, w, v) => m.Write(w, v)),
        Of("PushTelemetry", "response", PushTelemetryResponse.LowestSupportedVersion, PushTelemetryResponse.HighestSupportedVersion, PushTelemetryResponse.Read, (m, w, v) => m.Write(w, v)),
        Of("RequestHeader", "header", RequestHeader.LowestSupportedVersion, RequestHeader.HighestSupportedVersion, RequestHeader.Read, (m, w, v) => m.Write(w, v)),
        Of("ResponseHeader", "header", ResponseHeader.LowestSupportedVersion, ResponseHeader.HighestSupportedVersion, ResponseHeader.Read, (m, w, v) => m.Write(w, v)),
    ];

    public static MessageEntry Get(string name) => All.Single(e => e.Name == name);

    /// <summary>(message name, version) for every version of every message.</summary>
    public static TheoryData<string, short> AllVersions()
    {
        var data = new TheoryData<string, short>();
        foreach (var entry in All)
        {
            for (var v = entry.Lowest; v <= entry.Highest; v++)
            {
                data.Add(entry.Name, v);
            }
        }

        return data;
    }

    private static MessageEntry Of<T>(string api, string kind, short lowest, short highest, ReadMessage<T> read, Action<T, KafkaWriter, short> write)
        where T : class, new() => new()
        {
            Name = typeof(T).Name,
            File = kind == "header" ? typeof(T).Name : api,
            Kind = kind,
            Lowest = lowest,
            Highest = highest,
            New = () => new T(),
            Write = (m, w, v) => write((T)m, w, v),
            Read = (bytes, v) =>
            {
                var reader = new KafkaReader(bytes);
                var value = read(ref reader, v);
                return new ReadOutcome(value, reader.Failed, reader.FailureReason, reader.Remaining);
            },
        };
}

/// <summary>
/// Builds representative instances: every property gets a non-default value, deterministically.
/// With <c>nulls</c>, nullable properties are null instead. Fields that a version cannot carry
/// are found by writing and reset to their defaults (and non-nullable ones given a value again),
/// so the sample holds a non-default value in every field the version has.
/// </summary>
internal static class Samples
{
    private static readonly NullabilityInfoContext Nullability = new();

    public static object Create(MessageEntry entry, short version, bool nulls)
    {
        var counter = 0;
        var message = entry.New();
        Populate(message, nulls, ref counter);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                entry.Encode(message, version);
                return message;
            }
            catch (InvalidOperationException e) when (attempt < 100)
            {
                // "Field 'X' of Y is not supported ..." or "Field 'X' of Y is null but not nullable ..."
                var field = e.Message.Split('\'')[1];
                var owner = e.Message.Split('\'')[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
                var isNullProblem = e.Message.Contains("is null but not nullable", StringComparison.Ordinal);
                Fix(message, owner, field, isNullProblem, ref counter);
            }
        }
    }

    private static void Fix(object node, string owner, string field, bool giveValue, ref int counter)
    {
        var type = node.GetType();
        if (type.Name == owner)
        {
            var property = type.GetProperty(field)!;
            if (giveValue)
            {
                property.SetValue(node, MakeValue(property, nulls: false, ref counter));
            }
            else
            {
                property.SetValue(node, property.GetValue(Activator.CreateInstance(type)));
            }
        }

        foreach (var property in type.GetProperties())
        {
            var value = property.GetValue(node);
            if (value is IList list && property.PropertyType.IsGenericType && IsMessageType(property.PropertyType.GetGenericArguments()[0]))
            {
                foreach (var item in list)
                {
                    Fix(item!, owner, field, giveValue, ref counter);
                }
            }
            else if (value is not null && IsMessageType(property.PropertyType))
            {
                Fix(value, owner, field, giveValue, ref counter);
            }
        }
    }

    private static bool IsMessageType(Type type) => type.Namespace == "Samsa.Protocol.Messages";

    private static void Populate(object node, bool nulls, ref int counter)
    {
        var fresh = Activator.CreateInstance(node.GetType())!;
        foreach (var property in node.GetType().GetProperties().Where(p => p.CanWrite))
        {
            var value = MakeValue(property, nulls, ref counter);
            if (Equals(value, property.GetValue(fresh)) && value is not null)
            {
                value = MakeValue(property, nulls, ref counter);
            }

            property.SetValue(node, value);
        }
    }

    private static object? MakeValue(PropertyInfo property, bool nulls, ref int counter)
    {
        var type = property.PropertyType;
        var nullable = !type.IsValueType && Nullability.Create(property).WriteState == NullabilityState.Nullable;
        if (nulls && nullable)
        {
            return null;
        }

        if (type == typeof(bool))
        {
            var fresh = Activator.CreateInstance(property.DeclaringType!)!;
            return !(bool)property.GetValue(fresh)!;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var element = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(type)!;
            for (var i = 0; i < 2; i++)
            {
                list.Add(MakeScalar(element, nulls, ref counter));
            }

            return list;
        }

        return MakeScalar(type, nulls, ref counter);
    }

    private static object MakeScalar(Type type, bool nulls, ref int counter)
    {
        var n = ++counter;
        if (IsMessageType(type))
        {
            var nested = Activator.CreateInstance(type)!;
            Populate(nested, nulls, ref counter);
            return nested;
        }

        return type switch
        {
            _ when type == typeof(sbyte) => (sbyte)n,
            _ when type == typeof(short) => (short)(0x100 + n),
            _ when type == typeof(ushort) => (ushort)(0x100 + n),
            _ when type == typeof(int) => 0x10000 + n,
            _ when type == typeof(uint) => (uint)(0x10000 + n),
            _ when type == typeof(long) => 0x100000000L + n,
            _ when type == typeof(double) => n + 0.5,
            _ when type == typeof(bool) => true,
            _ when type == typeof(string) => $"s{n}",
            _ when type == typeof(Guid) => new Guid($"{n:x8}-0000-4000-8000-0000000000ff"),
            _ when type == typeof(byte[]) => new byte[] { (byte)n, 0xAB, 0xCD },
            _ => throw new NotSupportedException(type.FullName),
        };
    }
}
