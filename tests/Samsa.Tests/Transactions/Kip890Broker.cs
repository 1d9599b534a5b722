using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Records;
using Samsa.Testing.Proxy;

namespace Samsa.Tests.Transactions;

/// <summary>One request the <see cref="Kip890Broker"/> received, decoded with the generated code.</summary>
/// <param name="ApiKey">The API.</param>
/// <param name="Version">The version on the wire (the body was decoded with <see cref="TxnWire.LayoutVersion"/>).</param>
/// <param name="Body">The decoded request (e.g. <see cref="EndTxnRequest"/>), or null for an API the broker does not decode.</param>
/// <param name="Batches">For Produce: every record batch, per topic and partition.</param>
internal sealed record RecordedRequest(ApiKey ApiKey, short Version, object? Body, IReadOnlyList<(string Topic, int Partition, DecodedBatch Batch)> Batches);

/// <summary>
/// A scripted single-broker Kafka that offers KIP-890's transactions version 2, which no broker here has: its
/// ApiVersions answer lists Produce up to v12, TxnOffsetCommit up to v5 and EndTxn up to v5, and the finalized
/// feature <c>transaction.version</c> = 2. It answers ApiVersions, Metadata (itself the only broker, the topics it
/// was given), FindCoordinator (itself), InitProducerId, Produce (stored, offsets counted per partition),
/// AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn, whose v5 answer carries the producer id and
/// a new epoch, the old one plus 1, as KIP-890 part 2 brokers do on every commit and abort.
/// </summary>
/// <remarks>
/// Every request is recorded (<see cref="Requests"/>) so a test can assert what the client sent. Faults are
/// scripted with <see cref="FailNext"/>. No checks beyond decoding: the assertions are the test's.
/// </remarks>
internal sealed class Kip890Broker : IAsyncDisposable
{
    public const int NodeId = 1;
    public const string TransactionVersionFeature = "transaction.version";

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, int> _topics;
    private readonly Dictionary<string, Guid> _topicIds;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentDictionary<(string, int), long> _nextOffset = new();
    private readonly ConcurrentDictionary<ApiKey, ConcurrentQueue<short>> _faults = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accept;
    private readonly Lock _gate = new();
    private long _producerId = -1;
    private short _epoch = -1;

    private Kip890Broker(Dictionary<string, int> topics, short transactionVersion)
    {
        _topics = topics;
        _topicIds = topics.Keys.ToDictionary(t => t, _ => Guid.NewGuid());
        TransactionVersion = transactionVersion;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Starts listening on 127.0.0.1 with the given topics (name → partition count).</summary>
    /// <param name="topics">The topics Metadata lists; every partition is led by this broker.</param>
    /// <param name="transactionVersion">The finalized <c>transaction.version</c> to announce (2: KIP-890; 0 or 1:
    /// the classic protocol, with Produce capped at v11, TxnOffsetCommit at v4 and EndTxn at v4).</param>
    public static Kip890Broker Start(IReadOnlyDictionary<string, int>? topics = null, short transactionVersion = 2) =>
        new(new Dictionary<string, int>(topics ?? new Dictionary<string, int> { ["out"] = 3, ["in"] = 2 }), transactionVersion);

    public int Port { get; }

    public string BootstrapServers => $"127.0.0.1:{Port}";

    public short TransactionVersion { get; }

    /// <summary>The producer id InitProducerId hands out.</summary>
    public const long ProducerIdGiven = 4242;

    /// <summary>The epoch the broker holds for <see cref="ProducerIdGiven"/> (-1 before InitProducerId).</summary>
    public short CurrentEpoch
    {
        get
        {
            lock (_gate)
            {
                return _epoch;
            }
        }
    }

    /// <summary>The transaction rules, checked on every request and answer (the same oracle the proxy uses on the mock).</summary>
    public TransactionOracle Oracle { get; } = new();

    /// <summary>Every request received so far, in arrival order (across connections).</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Requests the broker could not answer (each closed its connection): empty when all is well.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    /// <summary>The requests of one API.</summary>
    public IReadOnlyList<RecordedRequest> Of(ApiKey apiKey) => [.. _requests.Where(r => r.ApiKey == apiKey)];

    /// <summary>The next requests of <paramref name="apiKey"/> are answered with these error codes, one each.</summary>
    public void FailNext(ApiKey apiKey, params short[] errorCodes)
    {
        var queue = _faults.GetOrAdd(apiKey, _ => new ConcurrentQueue<short>());
        foreach (var code in errorCodes)
        {
            queue.Enqueue(code);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] all;
        lock (_connections)
        {
            all = [_accept, .. _connections];
        }

        try
        {
            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException or TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private short TakeFault(ApiKey apiKey) =>
        _faults.TryGetValue(apiKey, out var queue) && queue.TryDequeue(out var code) ? code : (short)0;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_connections)
            {
                var id = _connections.Count + 1;
                _connections.Add(Task.Run(() => ServeAsync(socket, id)));
            }
        }
    }

    private async Task ServeAsync(Socket socket, int connectionId)
    {
        using var _ = socket;
        socket.NoDelay = true;
        var size = new byte[4];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await ReceiveExactlyAsync(socket, size);
                var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
                await ReceiveExactlyAsync(socket, frame);
                Oracle.OnRequest(connectionId, frame);
                var answer = Handle(frame);
                if (answer.Length > 4)
                {
                    Oracle.OnResponse(connectionId, answer.AsSpan(4));
                }

                await socket.SendAsync(answer, SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException or EndOfStreamException)
        {
            // The client or the test hung up.
        }
        catch (Exception e)
        {
            // A request the script cannot answer: the connection closes, and the test can see why.
            _errors.Enqueue(e.ToString());
        }
    }

    private async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[n..];
        }
    }

    /// <summary>Decodes one request (header and body) and returns the whole answer frame, size prefix included.</summary>
    internal byte[] Handle(ReadOnlySpan<byte> frame)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame[2..]);
        var layout = TxnWire.LayoutVersion(apiKey, version);
        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader, FlexibleFrom(apiKey) is { } f && layout >= f ? (short)2 : (short)1);
        var correlationId = header.CorrelationId;

        switch (apiKey)
        {
            case ApiKey.ApiVersions:
                _requests.Enqueue(new RecordedRequest(apiKey, version, null, []));
                return ApiVersions(correlationId, version);
            case ApiKey.Metadata:
            {
                var request = MetadataRequest.Read(ref reader, version);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                return Answer(correlationId, version >= MetadataResponse.FlexibleVersionsStart, w => Metadata(version).Write(w, version));
            }

            case ApiKey.FindCoordinator:
            {
                var request = FindCoordinatorRequest.Read(ref reader, version);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                var error = TakeFault(apiKey);
                var response = version < 4
                    ? new FindCoordinatorResponse { ErrorCode = error, NodeId = NodeId, Host = "127.0.0.1", Port = Port }
                    : new FindCoordinatorResponse();
                if (version >= 4)
                {
                    response.Coordinators = [.. request.CoordinatorKeys.Select(k => new FindCoordinatorResponse.Coordinator
                    {
                        Key = k, NodeId = NodeId, Host = "127.0.0.1", Port = Port, ErrorCode = error,
                    })];
                }

                return Answer(correlationId, version >= FindCoordinatorResponse.FlexibleVersionsStart, w => response.Write(w, version));
            }

            case ApiKey.InitProducerId:
            {
                var request = InitProducerIdRequest.Read(ref reader, version);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                var error = TakeFault(apiKey);
                short epoch = -1;
                if (error == 0)
                {
                    lock (_gate)
                    {
                        _producerId = ProducerIdGiven;
                        _epoch = (short)(_epoch + 1); // a new producer or a KIP-360 bump: one more either way
                        epoch = _epoch;
                    }
                }

                return Answer(correlationId, version >= InitProducerIdResponse.FlexibleVersionsStart,
                    w => new InitProducerIdResponse { ErrorCode = error, ProducerId = error == 0 ? ProducerIdGiven : -1, ProducerEpoch = epoch }.Write(w, version));
            }

            case ApiKey.Produce:
            {
                var request = ProduceRequest.Read(ref reader, layout);
                var batches = new List<(string, int, DecodedBatch)>();
                var response = new ProduceResponse();
                var error = TakeFault(apiKey);
                foreach (var topic in request.TopicData)
                {
                    var answers = new ProduceResponse.TopicProduceResponse { Name = topic.Name };
                    foreach (var partition in topic.PartitionData)
                    {
                        var decoded = RecordBatchReader.ReadAll(partition.Records ?? []);
                        batches.AddRange(decoded.Select(b => (topic.Name, partition.Index, b)));
                        var count = decoded.Sum(b => b.LastOffsetDelta + 1);
                        long baseOffset = -1;
                        if (error == 0)
                        {
                            baseOffset = _nextOffset.AddOrUpdate((topic.Name, partition.Index), count, (_, o) => o + count) - count;
                        }

                        answers.PartitionResponses.Add(new ProduceResponse.PartitionProduceResponse { Index = partition.Index, ErrorCode = error, BaseOffset = baseOffset });
                    }

                    response.Responses.Add(answers);
                }

                _requests.Enqueue(new RecordedRequest(apiKey, version, request, batches));
                return request.Acks == 0 ? [] : Answer(correlationId, layout >= ProduceResponse.FlexibleVersionsStart, w => response.Write(w, layout));
            }

            case ApiKey.AddPartitionsToTxn:
            {
                var request = AddPartitionsToTxnRequest.Read(ref reader, version);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                var error = TakeFault(apiKey);
                var response = new AddPartitionsToTxnResponse
                {
                    ResultsByTopicV3AndBelow = [.. request.V3AndBelowTopics.Select(t => new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
                    {
                        Name = t.Name,
                        ResultsByPartition = [.. t.Partitions.Select(p => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult { PartitionIndex = p, PartitionErrorCode = error })],
                    })],
                };
                return Answer(correlationId, version >= AddPartitionsToTxnResponse.FlexibleVersionsStart, w => response.Write(w, version));
            }

            case ApiKey.AddOffsetsToTxn:
            {
                var request = AddOffsetsToTxnRequest.Read(ref reader, version);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                var error = TakeFault(apiKey);
                return Answer(correlationId, version >= AddOffsetsToTxnResponse.FlexibleVersionsStart, w => new AddOffsetsToTxnResponse { ErrorCode = error }.Write(w, version));
            }

            case ApiKey.TxnOffsetCommit:
            {
                var request = TxnOffsetCommitRequest.Read(ref reader, layout);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                var error = TakeFault(apiKey);
                var response = new TxnOffsetCommitResponse
                {
                    Topics = [.. request.Topics.Select(t => new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic
                    {
                        Name = t.Name,
                        Partitions = [.. t.Partitions.Select(p => new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = error })],
                    })],
                };
                return Answer(correlationId, layout >= TxnOffsetCommitResponse.FlexibleVersionsStart, w => response.Write(w, layout));
            }

            case ApiKey.EndTxn:
            {
                var request = EndTxnRequest.Read(ref reader, version);
                _requests.Enqueue(new RecordedRequest(apiKey, version, request, []));
                var error = TakeFault(apiKey);
                var response = new EndTxnResponse { ErrorCode = error };
                if (error == 0 && version >= 5)
                {
                    lock (_gate)
                    {
                        // KIP-890 part 2: every commit and abort bumps the epoch; the answer carries it.
                        _epoch = (short)(request.ProducerEpoch + 1);
                        response.ProducerId = _producerId;
                        response.ProducerEpoch = _epoch;
                    }
                }

                return Answer(correlationId, version >= EndTxnResponse.FlexibleVersionsStart, w => response.Write(w, version));
            }

            default:
                _requests.Enqueue(new RecordedRequest(apiKey, version, null, []));
                throw new InvalidOperationException($"Kip890Broker does not answer {apiKey} v{version}.");
        }
    }

    private static short? FlexibleFrom(ApiKey apiKey) => apiKey switch
    {
        ApiKey.ApiVersions => ApiVersionsRequest.FlexibleVersionsStart,
        ApiKey.Metadata => MetadataRequest.FlexibleVersionsStart,
        ApiKey.FindCoordinator => FindCoordinatorRequest.FlexibleVersionsStart,
        ApiKey.InitProducerId => InitProducerIdRequest.FlexibleVersionsStart,
        ApiKey.Produce => ProduceRequest.FlexibleVersionsStart,
        ApiKey.AddPartitionsToTxn => AddPartitionsToTxnRequest.FlexibleVersionsStart,
        ApiKey.AddOffsetsToTxn => AddOffsetsToTxnRequest.FlexibleVersionsStart,
        ApiKey.TxnOffsetCommit => TxnOffsetCommitRequest.FlexibleVersionsStart,
        ApiKey.EndTxn => EndTxnRequest.FlexibleVersionsStart,
        _ => null,
    };

    private byte[] ApiVersions(int correlationId, short version)
    {
        var v2 = TransactionVersion >= 2;
        var response = new ApiVersionsResponse
        {
            ApiKeys =
            [
                Range(ApiKey.Produce, 3, v2 ? (short)12 : (short)11),
                Range(ApiKey.Metadata, 0, MetadataRequest.HighestSupportedVersion),
                Range(ApiKey.FindCoordinator, 0, FindCoordinatorRequest.HighestSupportedVersion),
                Range(ApiKey.ApiVersions, 0, ApiVersionsRequest.HighestSupportedVersion),
                Range(ApiKey.InitProducerId, 0, InitProducerIdRequest.HighestSupportedVersion),
                Range(ApiKey.AddPartitionsToTxn, 0, 3),
                Range(ApiKey.AddOffsetsToTxn, 0, AddOffsetsToTxnRequest.HighestSupportedVersion),
                Range(ApiKey.EndTxn, 0, v2 ? (short)5 : (short)4),
                Range(ApiKey.TxnOffsetCommit, 0, v2 ? (short)5 : (short)4),
            ],
        };
        if (version > ApiVersionsRequest.HighestSupportedVersion)
        {
            // KIP-511: an unknown version gets UNSUPPORTED_VERSION and our range, in a v0 body.
            response.ErrorCode = 35;
            return Answer(correlationId, flexibleHeader: false, w => response.Write(w, 0));
        }

        if (version >= 3)
        {
            response.SupportedFeatures = [new ApiVersionsResponse.SupportedFeatureKey { Name = TransactionVersionFeature, MinVersion = 0, MaxVersion = 2 }];
            response.FinalizedFeaturesEpoch = 7;
            response.FinalizedFeatures = [new ApiVersionsResponse.FinalizedFeatureKey { Name = TransactionVersionFeature, MinVersionLevel = TransactionVersion, MaxVersionLevel = TransactionVersion }];
        }

        // ApiVersions answers always have response header v0 (KIP-511), whatever the version.
        return Answer(correlationId, flexibleHeader: false, w => response.Write(w, version));
    }

    private static ApiVersionsResponse.ApiVersion Range(ApiKey key, short min, short max) => new() { ApiKey = (short)key, MinVersion = min, MaxVersion = max };

    private MetadataResponse Metadata(short version) => new()
    {
        Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = NodeId, Host = "127.0.0.1", Port = Port }],
        ClusterId = "kip890-fake",
        ControllerId = NodeId,
        Topics = [.. _topics.Select(t => new MetadataResponse.MetadataResponseTopic
        {
            Name = t.Key,
            TopicId = _topicIds[t.Key],
            Partitions = [.. Enumerable.Range(0, t.Value).Select(p => new MetadataResponse.MetadataResponsePartition
            {
                PartitionIndex = p, LeaderId = NodeId, LeaderEpoch = 0, ReplicaNodes = [NodeId], IsrNodes = [NodeId],
            })],
        })],
    };

    private static byte[] Answer(int correlationId, bool flexibleHeader, Action<KafkaWriter> body)
    {
        var answer = TxnWire.Response(correlationId, flexibleHeader, body);
        var frame = new byte[4 + answer.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, answer.Length);
        answer.CopyTo(frame, 4);
        return frame;
    }
}
