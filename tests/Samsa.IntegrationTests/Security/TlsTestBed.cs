using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Tls;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// A mock cluster behind a <see cref="TlsFront"/> (stunnel), and the round trip every TLS test makes: produce
/// through TLS with Samsa, read back through the same TLS front with Confluent.Kafka's consumer (an independent
/// TLS client, librdkafka with its own OpenSSL) and compare every record exactly.
/// </summary>
internal sealed class TlsTestBed : IDisposable
{
    private const int Partitions = 3;
    private static int s_topics;

    private TlsTestBed(MockCluster cluster, TlsFront front)
    {
        Cluster = cluster;
        Front = front;
    }

    public MockCluster Cluster { get; }

    public TlsFront Front { get; }

    public TlsCertificates Pki => Front.Certificates;

    public ListLogger Logger { get; } = new();

    public static TlsTestBed Start(TlsFrontOptions? options = null, int brokers = 1)
    {
        ConfluentLoader.EnsureLoaded();
        var cluster = MockCluster.Start(brokers);
        try
        {
            return new TlsTestBed(cluster, TlsFront.Start(cluster, options));
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Java settings for Samsa: bootstrap through the front, SSL, short timeouts, and <paramref name="tls"/>.</summary>
    public List<KeyValuePair<string, string>> Settings(params (string Key, string Value)[] tls)
    {
        var settings = new List<KeyValuePair<string, string>>
        {
            new("bootstrap.servers", Front.BootstrapServers),
            new("security.protocol", "SSL"),
            new("max.block.ms", "15000"),
            new("delivery.timeout.ms", "20000"),
            new("request.timeout.ms", "10000"),
            new("linger.ms", "1"),
        };
        settings.AddRange(tls.Select(t => KeyValuePair.Create(t.Key, t.Value)));
        return settings;
    }

    /// <summary>librdkafka's TLS settings for the reader: this front's CA, and the client certificate when the front asks for one.</summary>
    public List<KeyValuePair<string, string>> ReaderSettings()
    {
        var settings = new List<KeyValuePair<string, string>>
        {
            new("security.protocol", "SSL"),
            new("ssl.ca.location", Pki.CaPath),
        };
        if (Front.Options.RequireClientCertificate)
        {
            settings.Add(new("ssl.certificate.location", Pki.ClientCertificatePath));
            settings.Add(new("ssl.key.location", Pki.ClientKeyPath));
        }

        return settings;
    }

    /// <summary>
    /// Produces keyed records with headers and explicit timestamps through TLS, then reads them back through
    /// TLS with Confluent's consumer and checks every one: partition, offset order, key, value, headers, timestamp.
    /// </summary>
    public async Task ProduceAndReadBackAsync(IEnumerable<KeyValuePair<string, string>> settings, int count = 30)
    {
        var topic = $"tls-{Interlocked.Increment(ref s_topics)}-{Guid.NewGuid():N}";
        Cluster.CreateTopic(topic, Partitions);
        var baseTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        var sent = new List<(ProducerRecord<string, string> Record, DeliveryResult Result)>();
        await using (var producer = new ProducerBuilder<string, string>(settings).SetLogger(Logger).Build())
        {
            var pending = new List<(ProducerRecord<string, string>, Task<DeliveryResult>)>();
            for (var i = 0; i < count; i++)
            {
                var record = new ProducerRecord<string, string>(topic, $"key-{i % 7}", $"value-{i}-{new string('x', i)}")
                {
                    Headers = new Headers().Add("index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Add("empty", (byte[]?)null),
                    Timestamp = new Timestamp(baseTime + i, TimestampType.CreateTime),
                };
                pending.Add((record, producer.ProduceAsync(record).AsTask()));
            }

            foreach (var (record, task) in pending)
            {
                sent.Add((record, await task));
            }
        }

        var read = RecordReader.ReadAll(Front.BootstrapServers, topic, count, security: ReaderSettings());
        Assert.Equal(count, read.Count);
        foreach (var partition in Enumerable.Range(0, Partitions))
        {
            var expected = sent.Where(s => s.Result.Partition == partition).OrderBy(s => s.Result.Offset).ToList();
            var actual = read.Where(r => r.Partition == partition).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var j = 0; j < expected.Count; j++)
            {
                var (want, result) = expected[j];
                var got = actual[j];
                Assert.Equal(topic, got.Topic);
                Assert.Equal(result.Offset, got.Offset);
                Assert.Equal(Encoding.UTF8.GetBytes(want.Key!), got.Key);
                Assert.Equal(Encoding.UTF8.GetBytes(want.Value!), got.Value);
                Assert.Equal(Confluent.Kafka.TimestampType.CreateTime, got.TimestampType);
                Assert.Equal(want.Timestamp.UnixTimestampMs, got.TimestampMs);
                Assert.Equal(want.Headers!.Select(h => (h.Key, h.Value)), got.Headers);
            }
        }

        // Records of one key stay in send order (one partition, ascending offsets).
        foreach (var group in sent.GroupBy(s => s.Record.Key))
        {
            var offsets = group.Select(s => (s.Result.Partition, s.Result.Offset)).ToList();
            Assert.Single(offsets.Select(o => o.Partition).Distinct());
            Assert.Equal(offsets.OrderBy(o => o.Offset), offsets);
        }
    }

    /// <summary>
    /// Produces one record that must fail with an <see cref="SslAuthenticationException"/>, fast (no retry until a
    /// timeout), and returns it; a second record then fails at once with the same fatal error.
    /// </summary>
    public async Task<SslAuthenticationException> ProduceRefusedAsync(IEnumerable<KeyValuePair<string, string>> settings)
    {
        await using var producer = new ProducerBuilder<string, string>(settings).SetLogger(Logger).Build();
        var first = producer.ProduceAsync(new ProducerRecord<string, string>("refused", "k", "v")).AsTask();
        var second = producer.ProduceAsync(new ProducerRecord<string, string>("refused", "k2", "v2")).AsTask();
        // Fatal: no waiting for max.block.ms (15 s here): the wait is bounded below it, so a producer that retried
        // until its deadline would time the wait out. Later calls fail at once with the same error.
        var error = await Assert.ThrowsAsync<SslAuthenticationException>(() => first.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Same(error, await Assert.ThrowsAsync<SslAuthenticationException>(() => second));
        Assert.True(error.IsFatal);
        Assert.False(error.IsRetriable);
        var later = await Assert.ThrowsAsync<SslAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>("refused", "k3", "v3")).AsTask());
        Assert.Same(error, later);
        Assert.Contains(Logger.Entries, e => e.Level == LogLevel.Critical && e.Message.Contains("TLS handshake", StringComparison.Ordinal));
        return error;
    }

    public void Dispose()
    {
        Front.Dispose();
        Cluster.Dispose();
    }
}
