using System.Buffers.Binary;
using System.Collections.Concurrent;
using Samsa.Testing.Proxy;

namespace Samsa.Testing.Telemetry;

/// <summary>One PushTelemetry request as the broker side received it (KIP-714).</summary>
/// <param name="ClientInstanceId">The id the client sent.</param>
/// <param name="SubscriptionId">The subscription it pushed for.</param>
/// <param name="Terminating">Whether the client said it is closing.</param>
/// <param name="CompressionType">0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.</param>
/// <param name="Metrics">The payload as sent (OTLP <c>MetricsData</c> protobuf, compressed as said).</param>
/// <param name="ErrorCode">What the front answered.</param>
public sealed record TelemetryPush(Guid ClientInstanceId, int SubscriptionId, bool Terminating, sbyte CompressionType, byte[] Metrics, short ErrorCode);

/// <summary>
/// The broker side of KIP-714 for a <see cref="KafkaProxy"/> (set <see cref="KafkaProxy.Telemetry"/>): librdkafka's mock
/// cluster has no client telemetry, so the proxy adds GetTelemetrySubscriptions (71) and PushTelemetry (72) v0 to the
/// brokers' ApiVersions answers and answers both itself, with the subscription configured here, recording every push.
/// </summary>
/// <remarks>Independent of the Samsa library: the wire forms are written by hand from Apache Kafka's JSON definitions.</remarks>
public sealed class TelemetryFront
{
    /// <summary>The GetTelemetrySubscriptions API key.</summary>
    public const short GetTelemetrySubscriptionsKey = 71;

    /// <summary>The PushTelemetry API key.</summary>
    public const short PushTelemetryKey = 72;

    private readonly ConcurrentQueue<TelemetryPush> _pushes = new();
    private readonly ConcurrentQueue<short> _pushErrors = new();
    private int _subscriptionRequests;
    private int _subscriptionId = 1;

    /// <summary>Metric name prefixes the subscription asks for; empty: none; an empty string: all.</summary>
    public IReadOnlyList<string> RequestedMetrics { get; set; } = [""];

    /// <summary>The push interval given to clients.</summary>
    public TimeSpan PushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Compression types the broker accepts, in its order of preference (empty: none only).</summary>
    public IReadOnlyList<sbyte> AcceptedCompressionTypes { get; set; } = [];

    /// <summary>Whether sums are to be sent as deltas (else cumulative).</summary>
    public bool DeltaTemporality { get; set; }

    /// <summary>The largest payload accepted.</summary>
    public int TelemetryMaxBytes { get; set; } = 1 << 20;

    /// <summary>The current subscription id; changing it makes pushes for an older one fail with UNKNOWN_SUBSCRIPTION_ID (117).</summary>
    public int SubscriptionId
    {
        get => Volatile.Read(ref _subscriptionId);
        set => Volatile.Write(ref _subscriptionId, value);
    }

    /// <summary>The client instance id given to a client that asked with none.</summary>
    public Guid IssuedClientInstanceId { get; } = Guid.NewGuid();

    /// <summary>GetTelemetrySubscriptions requests answered.</summary>
    public int SubscriptionRequests => Volatile.Read(ref _subscriptionRequests);

    /// <summary>Every push received, in order.</summary>
    public IReadOnlyList<TelemetryPush> Pushes => [.. _pushes];

    /// <summary>The next push is answered with <paramref name="errorCode"/> (one per call, in order).</summary>
    public void FailNextPush(short errorCode) => _pushErrors.Enqueue(errorCode);

    internal static (short Key, short Min, short Max)[] Apis => [(GetTelemetrySubscriptionsKey, 0, 0), (PushTelemetryKey, 0, 0)];

    /// <summary>The answer to a telemetry request (its frame, size prefix included), or null for any other API.</summary>
    internal byte[]? Answer(short apiKey, int correlationId, ReadOnlySpan<byte> body)
    {
        if (apiKey is not (GetTelemetrySubscriptionsKey or PushTelemetryKey))
        {
            return null;
        }

        // Both are flexible from v0: request header v2, response header v1.
        var request = WireReader.AtRequestBody(body, flexibleHeader: true);
        var clientInstanceId = ReadUuid(ref request);
        var w = new WireWriter();
        w.Int32(correlationId);
        w.Tags(); // response header tagged fields
        w.Int32(0); // throttle_time_ms
        if (apiKey == GetTelemetrySubscriptionsKey)
        {
            Interlocked.Increment(ref _subscriptionRequests);
            w.Int16(0);
            WriteUuid(w, clientInstanceId == Guid.Empty ? IssuedClientInstanceId : clientInstanceId);
            w.Int32(SubscriptionId);
            var compression = AcceptedCompressionTypes;
            w.ArrayLength(compression.Count, compact: true);
            foreach (var type in compression)
            {
                w.Bytes([(byte)type]);
            }

            w.Int32((int)PushInterval.TotalMilliseconds);
            w.Int32(TelemetryMaxBytes);
            w.Bytes([DeltaTemporality ? (byte)1 : (byte)0]);
            var metrics = RequestedMetrics;
            w.ArrayLength(metrics.Count, compact: true);
            foreach (var name in metrics)
            {
                w.NullableString(name, compact: true);
            }
        }
        else
        {
            var subscriptionId = request.ReadInt32();
            var terminating = request.ReadInt8() != 0;
            var compressionType = request.ReadInt8();
            var metrics = request.ReadBytes(compact: true, out _).ToArray();
            request.SkipTaggedFields();
            short error = 0;
            if (_pushErrors.TryDequeue(out var injected))
            {
                error = injected;
            }
            else if (subscriptionId != SubscriptionId)
            {
                error = 117; // UNKNOWN_SUBSCRIPTION_ID
            }
            else if (metrics.Length > TelemetryMaxBytes)
            {
                error = 118; // TELEMETRY_TOO_LARGE
            }

            _pushes.Enqueue(new TelemetryPush(clientInstanceId, subscriptionId, terminating, compressionType, metrics, error));
            w.Int16(error);
        }

        w.Tags(); // body tagged fields
        return w.Framed();
    }

    private static Guid ReadUuid(ref WireReader reader)
    {
        // Kafka writes a UUID as two big-endian longs (most significant first); RFC 4122 byte order.
        return new Guid(reader.Take(16), bigEndian: true);
    }

    private static void WriteUuid(WireWriter w, Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        w.Bytes(bytes);
    }
}
