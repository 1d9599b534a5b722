using System.Runtime.InteropServices;

namespace Samsa.Testing.Native;

/// <summary>
/// P/Invoke declarations for the parts of librdkafka (and its mock cluster, <c>rdkafka_mock.h</c>)
/// used by the test kit. Only fixed-argument and <c>_array</c> forms are declared: variadic P/Invoke
/// is not portable, so <c>rd_kafka_mock_push_request_errors</c>,
/// <c>rd_kafka_mock_broker_push_request_error_rtts</c> and
/// <c>rd_kafka_mock_partition_push_request_errors</c> (variadic only) are deliberately absent.
/// </summary>
/// <remarks>
/// The library name <see cref="LibraryName"/> is resolved by <see cref="NativeLibraryResolver"/>,
/// which the static constructor registers before the first call.
/// </remarks>
internal static unsafe partial class LibRdKafka
{
    internal const string LibraryName = "librdkafka";

    internal const int RD_KAFKA_PRODUCER = 0;
    internal const int RD_KAFKA_CONF_OK = 0;

    static LibRdKafka() => NativeLibraryResolver.EnsureRegistered();

    // ---- rdkafka.h ----

    [LibraryImport(LibraryName)]
    internal static partial IntPtr rd_kafka_version_str();

    [LibraryImport(LibraryName)]
    internal static partial IntPtr rd_kafka_err2name(int err);

    [LibraryImport(LibraryName)]
    internal static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_destroy(IntPtr conf);

    /// <returns><c>rd_kafka_conf_res_t</c>: 0 = OK, -1 = unknown property, -2 = invalid value.</returns>
    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte* errstr, nuint errstrSize);

    /// <summary>Takes ownership of <paramref name="conf"/> on success only.</summary>
    [LibraryImport(LibraryName)]
    internal static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte* errstr, nuint errstrSize);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_destroy(IntPtr rk);

    // ---- rdkafka_mock.h: cluster ----

    [LibraryImport(LibraryName)]
    internal static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_cluster_destroy(IntPtr mcluster);

    /// <returns>A <c>const char*</c> owned by the cluster; do not free.</returns>
    [LibraryImport(LibraryName)]
    internal static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    // ---- topics and partitions ----

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void rd_kafka_mock_topic_set_error(IntPtr mcluster, string topic, int err);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_partition_set_leader(IntPtr mcluster, string topic, int partition, int brokerId);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_partition_set_follower(IntPtr mcluster, string topic, int partition, int brokerId);

    // ---- brokers ----

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_rtt(IntPtr mcluster, int brokerId, int rttMs);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void rd_kafka_mock_broker_set_host_port(IntPtr mcluster, int brokerId, string host, int port);

    // ---- error injection and versions ----

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_push_request_errors_array(IntPtr mcluster, short apiKey, nuint count, int* errors);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_clear_request_errors(IntPtr mcluster, short apiKey);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_set_apiversion(IntPtr mcluster, short apiKey, short minVersion, short maxVersion);

    // ---- request tracking ----

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_start_request_tracking(IntPtr mcluster);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_stop_request_tracking(IntPtr mcluster);

    /// <returns>An array of <c>rd_kafka_mock_request_t*</c>, freed with
    /// <see cref="rd_kafka_mock_request_destroy_array"/> (elements and array).</returns>
    [LibraryImport(LibraryName)]
    internal static partial IntPtr* rd_kafka_mock_get_requests(IntPtr mcluster, nuint* count);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_request_destroy_array(IntPtr* requests, nuint count);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_request_id(IntPtr request);

    [LibraryImport(LibraryName)]
    internal static partial short rd_kafka_mock_request_api_key(IntPtr request);

    /// <returns>Microseconds on librdkafka's monotonic clock.</returns>
    [LibraryImport(LibraryName)]
    internal static partial long rd_kafka_mock_request_timestamp(IntPtr request);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_clear_requests(IntPtr mcluster);
}
