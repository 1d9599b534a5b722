using System.Runtime.InteropServices;
using Samsa.Testing.Native;

namespace Samsa.Testing;

/// <summary>
/// An in-process Kafka cluster: librdkafka's mock cluster (<c>rdkafka_mock.h</c>), listening on real
/// TCP ports on 127.0.0.1, so any Kafka client can connect to <see cref="BootstrapServers"/>.
/// </summary>
/// <remarks>
/// <para><b>Broker ids start at 1</b> and run up to and including <see cref="BrokerCount"/>.</para>
/// <para>Unknown topics are auto-created by the mock (4 partitions) when a client names them in a
/// Metadata request; create topics explicitly with <see cref="CreateTopic"/> before any client asks.</para>
/// <para>Every native call that returns an <c>rd_kafka_resp_err_t</c> is checked: a non-zero code
/// throws <see cref="InvalidOperationException"/> naming the call and the code.</para>
/// <para>The mock runs on librdkafka's own threads; its functions may be called from any thread,
/// but not concurrently with <see cref="Dispose"/>.</para>
/// <para><b>Timestamps in Produce answers are fixed.</b> For every batch it stores, the mock answers with a
/// log-append time of 1234 ms after the epoch (a real broker answers -1 unless the topic uses
/// <c>message.timestamp.type=LogAppendTime</c>). So a producer's delivery result reports the timestamp
/// 1234 ms of type log-append time, not the record's create time. The stored records keep the create time
/// they were sent with: read them back with a consumer to check timestamps.</para>
/// </remarks>
public sealed class MockCluster : IDisposable
{
    private IntPtr _rk;
    private IntPtr _cluster;

    private MockCluster(IntPtr rk, IntPtr cluster, int brokers, string bootstrapServers)
    {
        _rk = rk;
        _cluster = cluster;
        BrokerCount = brokers;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>
    /// Full path of the librdkafka file the test kit loads (on linux-x64 glibc the package's
    /// self-contained <c>centos8-librdkafka.so</c>), so that other code (e.g. Confluent.Kafka's
    /// <c>Library.Load</c>) can load the very same file. Throws <see cref="DllNotFoundException"/>
    /// on linux-x64 glibc if the file is missing from the output, rather than fall back.
    /// </summary>
    public static string LibraryPath => NativeLibraryResolver.RequireLibraryPath();

    /// <summary>The version string of the loaded librdkafka (e.g. "2.16.0").</summary>
    public static string NativeVersion => Marshal.PtrToStringUTF8(LibRdKafka.rd_kafka_version_str()) ?? "";

    /// <summary>Comma-separated "127.0.0.1:port" list of all brokers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..<see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster with <paramref name="brokers"/> brokers (ids 1..brokers).</summary>
    public static unsafe MockCluster Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);

        var conf = LibRdKafka.rd_kafka_conf_new();
        const int errSize = 512;
        var errstr = stackalloc byte[errSize];
        IntPtr rk;
        try
        {
            // Keep librdkafka quiet: the mock's brokers log through this handle.
            SetConf(conf, "log_level", "0", errstr, errSize);
            SetConf(conf, "client.id", "samsa-mock-cluster", errstr, errSize);
            rk = LibRdKafka.rd_kafka_new(LibRdKafka.RD_KAFKA_PRODUCER, conf, errstr, errSize);
            if (rk == IntPtr.Zero)
            {
                throw new InvalidOperationException($"rd_kafka_new failed: {ReadErr(errstr)}");
            }
        }
        catch
        {
            LibRdKafka.rd_kafka_conf_destroy(conf); // rd_kafka_new only takes ownership on success
            throw;
        }

        var cluster = LibRdKafka.rd_kafka_mock_cluster_new(rk, brokers);
        if (cluster == IntPtr.Zero)
        {
            LibRdKafka.rd_kafka_destroy(rk);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed (returned NULL).");
        }

        var bootstraps = Marshal.PtrToStringUTF8(LibRdKafka.rd_kafka_mock_cluster_bootstraps(cluster)) ?? "";
        return new MockCluster(rk, cluster, brokers, bootstraps);
    }

    /// <summary>Creates a topic. Throws (TOPIC_ALREADY_EXISTS) if it exists, which includes topics the mock
    /// auto-created (4 partitions) because a client's Metadata request or a mock call named them first.</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Check(LibRdKafka.rd_kafka_mock_topic_create(Handle, name, partitions, replicationFactor), nameof(LibRdKafka.rd_kafka_mock_topic_create));
    }

    /// <summary>Makes <paramref name="brokerId"/> (1-based; -1 = no leader) the leader of a partition.
    /// Produce requests to the old leader then get NOT_LEADER_OR_FOLLOWER.</summary>
    /// <remarks>If the topic does not exist, the mock auto-creates it (default partition count, 4).</remarks>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(LibRdKafka.rd_kafka_mock_partition_set_leader(Handle, topic, partition, brokerId), nameof(LibRdKafka.rd_kafka_mock_partition_set_leader));

    /// <summary>Sets the preferred replica (follower) consumers are told to fetch from.</summary>
    public void SetPartitionFollower(string topic, int partition, int brokerId) =>
        Check(LibRdKafka.rd_kafka_mock_partition_set_follower(Handle, topic, partition, brokerId), nameof(LibRdKafka.rd_kafka_mock_partition_set_follower));

    /// <summary>Closes the broker's open connections and refuses new ones. -1 = all brokers.</summary>
    /// <remarks>Does NOT move partition leadership: Metadata responses (from the other brokers) leave the
    /// down broker out of the broker list but still name it as the leader of its partitions, i.e. a
    /// leader id with no broker entry. A client must cope with that.</remarks>
    public void SetBrokerDown(int brokerId) =>
        Check(LibRdKafka.rd_kafka_mock_broker_set_down(Handle, brokerId), nameof(LibRdKafka.rd_kafka_mock_broker_set_down));

    /// <summary>Lets the broker accept connections again. -1 = all brokers.</summary>
    public void SetBrokerUp(int brokerId) =>
        Check(LibRdKafka.rd_kafka_mock_broker_set_up(Handle, brokerId), nameof(LibRdKafka.rd_kafka_mock_broker_set_up));

    /// <summary>Delays every response of the broker by <paramref name="rtt"/> (whole milliseconds).</summary>
    public void SetBrokerRoundTripTime(int brokerId, TimeSpan rtt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rtt, TimeSpan.Zero);
        Check(LibRdKafka.rd_kafka_mock_broker_set_rtt(Handle, brokerId, checked((int)rtt.TotalMilliseconds)), nameof(LibRdKafka.rd_kafka_mock_broker_set_rtt));
    }

    /// <summary>Makes the broker advertise <paramref name="host"/>:<paramref name="port"/> in metadata
    /// (e.g. a TLS-terminating proxy in front of it). The mock still listens on its own port.</summary>
    public void SetBrokerHostPort(int brokerId, string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        LibRdKafka.rd_kafka_mock_broker_set_host_port(Handle, brokerId, host, port);
    }

    /// <summary>The next <c>errorCodes.Length</c> requests with <paramref name="apiKey"/>, to any broker,
    /// fail with these Kafka error codes, in order (0 = succeed normally).</summary>
    public unsafe void PushRequestErrors(short apiKey, params short[] errorCodes)
    {
        ArgumentNullException.ThrowIfNull(errorCodes);
        if (errorCodes.Length == 0)
        {
            return;
        }

        var errors = new int[errorCodes.Length];
        for (var i = 0; i < errors.Length; i++)
        {
            errors[i] = errorCodes[i];
        }

        fixed (int* p = errors)
        {
            LibRdKafka.rd_kafka_mock_push_request_errors_array(Handle, apiKey, (nuint)errors.Length, p);
        }
    }

    /// <inheritdoc cref="PushRequestErrors(short, short[])"/>
    public void PushRequestErrors(KafkaApiKey apiKey, params short[] errorCodes) => PushRequestErrors((short)apiKey, errorCodes);

    /// <summary>Drops errors pushed with <see cref="PushRequestErrors(short, short[])"/> not yet consumed.</summary>
    public void ClearRequestErrors(short apiKey) => LibRdKafka.rd_kafka_mock_clear_request_errors(Handle, apiKey);

    /// <inheritdoc cref="ClearRequestErrors(short)"/>
    public void ClearRequestErrors(KafkaApiKey apiKey) => ClearRequestErrors((short)apiKey);

    /// <summary>Limits the version range the cluster advertises (and accepts) for <paramref name="apiKey"/>;
    /// -1/-1 disables the API. Throws for an API key the mock does not implement.</summary>
    /// <remarks><paramref name="maxVersion"/> must not exceed what the mock implements (see TESTING.md:
    /// Produce 10, Metadata 13, ...): the mock does NOT check this and would advertise e.g. Produce v11.</remarks>
    public void SetApiVersion(short apiKey, short minVersion, short maxVersion) =>
        Check(LibRdKafka.rd_kafka_mock_set_apiversion(Handle, apiKey, minVersion, maxVersion), nameof(LibRdKafka.rd_kafka_mock_set_apiversion));

    /// <inheritdoc cref="SetApiVersion(short, short, short)"/>
    public void SetApiVersion(KafkaApiKey apiKey, short minVersion, short maxVersion) => SetApiVersion((short)apiKey, minVersion, maxVersion);

    /// <summary>Makes Metadata (and AddPartitionsToTxn) responses report <paramref name="errorCode"/> for the
    /// topic; 0 clears it.</summary>
    public void SetTopicError(string topic, short errorCode)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        LibRdKafka.rd_kafka_mock_topic_set_error(Handle, topic, errorCode);
    }

    /// <summary>Starts recording every request the cluster receives (cluster-wide, all brokers).
    /// Note that librdkafka clients send ApiVersions twice per connection: v3 first, which the mock
    /// rejects with UNSUPPORTED_VERSION, then v2.</summary>
    public void StartRequestTracking() => LibRdKafka.rd_kafka_mock_start_request_tracking(Handle);

    /// <summary>
    /// Stops recording and returns the requests recorded until then.
    /// </summary>
    /// <remarks>
    /// Quirk of librdkafka 2.16: contrary to its header, <c>rd_kafka_mock_stop_request_tracking</c>
    /// DISCARDS the recorded requests, so this method reads them first; <see cref="GetRequests"/>
    /// afterwards returns an empty list. A request arriving between the read and the stop is lost.
    /// </remarks>
    public IReadOnlyList<MockRequest> StopRequestTracking()
    {
        var requests = GetRequests();
        LibRdKafka.rd_kafka_mock_stop_request_tracking(Handle);
        return requests;
    }

    /// <summary>The requests recorded so far, in arrival order.</summary>
    public unsafe IReadOnlyList<MockRequest> GetRequests()
    {
        nuint count = 0;
        var array = LibRdKafka.rd_kafka_mock_get_requests(Handle, &count);
        if (array == null)
        {
            return [];
        }

        try
        {
            var result = new List<MockRequest>(checked((int)count));
            for (nuint i = 0; i < count; i++)
            {
                var r = array[i];
                result.Add(new MockRequest(
                    LibRdKafka.rd_kafka_mock_request_id(r),
                    LibRdKafka.rd_kafka_mock_request_api_key(r),
                    LibRdKafka.rd_kafka_mock_request_timestamp(r)));
            }

            return result;
        }
        finally
        {
            LibRdKafka.rd_kafka_mock_request_destroy_array(array, count);
        }
    }

    /// <summary>Forgets the requests recorded so far.</summary>
    public void ClearRequests() => LibRdKafka.rd_kafka_mock_clear_requests(Handle);

    /// <summary>Destroys the mock cluster, then its librdkafka handle. Idempotent.</summary>
    public void Dispose()
    {
        var cluster = Interlocked.Exchange(ref _cluster, IntPtr.Zero);
        if (cluster != IntPtr.Zero)
        {
            LibRdKafka.rd_kafka_mock_cluster_destroy(cluster);
        }

        var rk = Interlocked.Exchange(ref _rk, IntPtr.Zero);
        if (rk != IntPtr.Zero)
        {
            LibRdKafka.rd_kafka_destroy(rk);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"MockCluster({BrokerCount} brokers: {BootstrapServers})";

    private IntPtr Handle
    {
        get
        {
            var c = _cluster;
            ObjectDisposedException.ThrowIf(c == IntPtr.Zero, this);
            return c;
        }
    }

    private static void Check(int err, string call)
    {
        if (err != 0)
        {
            var name = Marshal.PtrToStringUTF8(LibRdKafka.rd_kafka_err2name(err));
            throw new InvalidOperationException($"{call} failed: {name} ({err}).");
        }
    }

    private static unsafe void SetConf(IntPtr conf, string name, string value, byte* errstr, int errSize)
    {
        if (LibRdKafka.rd_kafka_conf_set(conf, name, value, errstr, (nuint)errSize) != LibRdKafka.RD_KAFKA_CONF_OK)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set({name}={value}) failed: {ReadErr(errstr)}");
        }
    }

    private static unsafe string ReadErr(byte* errstr) => Marshal.PtrToStringUTF8((IntPtr)errstr) ?? "";
}
