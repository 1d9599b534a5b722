using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Samsa.Testing.Security;
using Samsa.Testing.Tls;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// A mock cluster behind a <see cref="SaslFront"/> (SASL_PLAINTEXT; SASL_SSL with a <see cref="TlsFront"/> before it), one
/// topic, and what the tests need around it:
/// producer options pointing at the front, and Confluent.Kafka's consumer reading back through the same front with its
/// own SASL client (librdkafka's), so that the front is checked by an independent client as well.
/// </summary>
internal sealed class SaslBed : IAsyncDisposable
{
    public const int Partitions = 3;

    private SaslBed(MockCluster cluster, KafkaProxy proxy, SaslFront front, TlsFront? tls)
    {
        Cluster = cluster;
        Proxy = proxy;
        Front = front;
        Tls = tls;
        Topic = "sasl-" + Guid.NewGuid().ToString("N");
        cluster.CreateTopic(Topic, Partitions);
    }

    public MockCluster Cluster { get; }

    public KafkaProxy Proxy { get; }

    public SaslFront Front { get; }

    /// <summary>TLS before the SASL front (SASL_SSL), or null (SASL_PLAINTEXT).</summary>
    public TlsFront? Tls { get; }

    /// <summary>Where clients connect: the TLS front's ports, else the proxy's.</summary>
    public string BootstrapServers => Tls?.BootstrapServers ?? Proxy.BootstrapServers;

    private string Protocol => Tls is null ? "SASL_PLAINTEXT" : "SASL_SSL";

    public string Topic { get; }

    public static SaslBed Start(SaslFront front, int brokers = 3, bool tls = false)
    {
        ConfluentLoader.EnsureLoaded();
        var cluster = MockCluster.Start(brokers);
        var proxy = KafkaProxy.Start(cluster, front);
        try
        {
            return new SaslBed(cluster, proxy, front, tls ? TlsFront.Start(cluster, inFrontOf: proxy) : null);
        }
        catch
        {
            proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Options for a producer through the front; the long timeouts make any failure a real one, not a timeout.</summary>
    public ProducerOptions Options(SaslOptions sasl) => new()
    {
        BootstrapServers = BootstrapServers.Split(','),
        SecurityProtocol = Tls is null ? SecurityProtocol.SaslPlaintext : SecurityProtocol.SaslSsl,
        Tls = Tls is null ? TlsOptions.Default : new TlsOptions { TruststoreType = TlsStoreType.Pem, TruststoreLocation = Tls.Certificates.CaPath },
        Sasl = sasl,
        MaxBlock = TimeSpan.FromMinutes(10),
        DeliveryTimeout = TimeSpan.FromMinutes(10),
    };

    /// <summary>The same as properties, as a Java client's file would give them.</summary>
    public Dictionary<string, string> Properties(params (string Key, string Value)[] sasl)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = BootstrapServers,
            ["security.protocol"] = Protocol,
            ["max.block.ms"] = "600000",
            ["delivery.timeout.ms"] = "600000",
        };
        if (Tls is not null)
        {
            properties["ssl.truststore.type"] = "PEM";
            properties["ssl.truststore.location"] = Tls.Certificates.CaPath;
        }

        foreach (var (key, value) in sasl)
        {
            properties[key] = value;
        }

        return properties;
    }

    /// <summary>Produces <paramref name="count"/> keyed records with a header each and returns what was acknowledged.</summary>
    public async Task<List<(string Key, string Value, DeliveryResult Result)>> ProduceAsync(IProducer<string, string> producer, int count, string tag = "r")
    {
        var sent = new List<(string Key, string Value, Task<DeliveryResult> Result)>();
        for (var i = 0; i < count; i++)
        {
            var (key, value) = ($"{tag}-key-{i % 7}", $"{tag}-value-{i}");
            var record = new ProducerRecord<string, string>(Topic, key, value) { Headers = new Headers { { "n", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)) } } };
            sent.Add((key, value, producer.ProduceAsync(record).AsTask()));
        }

        var acknowledged = new List<(string, string, DeliveryResult)>();
        foreach (var (key, value, result) in sent)
        {
            acknowledged.Add((key, value, await result.WaitAsync(TimeSpan.FromSeconds(60))));
        }

        return acknowledged;
    }

    /// <summary>
    /// Reads the topic back with Confluent.Kafka through the front (<paramref name="readerSecurity"/>: librdkafka's SASL
    /// settings) and checks that exactly the acknowledged records are there, each at its offset, with key, value and header.
    /// </summary>
    public void AssertReadBack(IReadOnlyList<(string Key, string Value, DeliveryResult Result)> acknowledged, IEnumerable<KeyValuePair<string, string>> readerSecurity)
    {
        var security = readerSecurity.ToDictionary(StringComparer.Ordinal);
        if (Tls is not null)
        {
            security["security.protocol"] = "SASL_SSL";
            security["ssl.ca.location"] = Tls.Certificates.CaPath;
        }

        var read = RecordReader.ReadAll(BootstrapServers, Topic, acknowledged.Count, security: security);
        Assert.Equal(acknowledged.Count, read.Count);
        var byPosition = read.ToDictionary(r => (r.Partition, r.Offset));
        foreach (var (key, value, result) in acknowledged)
        {
            Assert.True(byPosition.TryGetValue((result.Partition, result.Offset), out var record), $"{result.Partition}@{result.Offset} was acknowledged but not read back");
            Assert.Equal(Topic, record.Topic);
            Assert.Equal(key, Encoding.UTF8.GetString(record.Key!));
            Assert.Equal(value, Encoding.UTF8.GetString(record.Value!));
            Assert.Equal("n", Assert.Single(record.Headers).Key);
        }

        // Per partition, in the order they were produced.
        foreach (var partition in acknowledged.GroupBy(a => a.Result.Partition))
        {
            var offsets = partition.Select(a => a.Result.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
        }
    }

    /// <summary>librdkafka's settings to read through the front with <paramref name="mechanism"/>.</summary>
    public static Dictionary<string, string> Reader(string mechanism, string username, string password) => new(StringComparer.Ordinal)
    {
        ["security.protocol"] = "SASL_PLAINTEXT",
        ["sasl.mechanism"] = mechanism,
        ["sasl.username"] = username,
        ["sasl.password"] = password,
    };

    public async ValueTask DisposeAsync()
    {
        // TLS first: it gives the advertised ports back to the proxy, which gives them back to the brokers.
        Tls?.Dispose();
        await Proxy.DisposeAsync();
        Cluster.Dispose();
    }
}
