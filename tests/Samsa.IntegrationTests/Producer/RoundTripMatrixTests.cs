using System.Text;
using Samsa.IntegrationTests.Infrastructure;

namespace Samsa.IntegrationTests.Producer;

/// <summary>
/// Produces with Samsa and reads back with Confluent.Kafka's consumer (librdkafka decodes and
/// checks CRCs), for every codec, every acks setting and every way of choosing a partition.
/// Every record must arrive exactly once, equal in key, value, headers and timestamp, on the
/// expected partition, in send order within its partition.
/// </summary>
[Collection(MockClusterCollectionDefinition.Name)]
public sealed class RoundTripMatrixTests(MockClusterFixture fixture)
{
    private const int Partitions = 4;
    private const int RecordsPerCase = 120;

    public enum Routing
    {
        Keyed,
        Unkeyed,
        ExplicitPartition,
    }

    public static TheoryData<CompressionType, Acks, Routing> Cases()
    {
        var data = new TheoryData<CompressionType, Acks, Routing>();
        foreach (var compression in Enum.GetValues<CompressionType>())
        {
            foreach (var acks in new[] { Acks.None, Acks.Leader, Acks.All })
            {
                foreach (var routing in Enum.GetValues<Routing>())
                {
                    data.Add(compression, acks, routing);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EveryRecordArrivesOnceAndIntact(CompressionType compression, Acks acks, Routing routing)
    {
        var topic = fixture.CreateTopic(Partitions, $"rt-{compression}-{acks}-{routing}".ToLowerInvariant());
        var options = new ProducerOptions
        {
            BootstrapServers = fixture.BootstrapServers.Split(','),
            CompressionType = compression,
            Acks = acks,
            EnableIdempotence = false,
            Linger = TimeSpan.FromMilliseconds(2),
            BatchSize = 2048, // several batches per partition, several partitions per request
        };

        var sent = new List<SentRecord>();
        var reports = new DeliveryReport?[RecordsPerCase];
        var awaited = new List<(int Index, Task<DeliveryResult> Task)>();
        var startedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using (var producer = new ProducerBuilder<string, byte[]>(options).Build())
        {
            var random = new Random(RecordsPerCase);
            for (var i = 0; i < RecordsPerCase; i++)
            {
                var record = MakeRecord(topic, i, routing, random);
                sent.Add(new SentRecord(i, record));
                if (i % 2 == 0)
                {
                    awaited.Add((i, producer.ProduceAsync(record).AsTask()));
                }
                else
                {
                    var index = i;
                    producer.Produce(record, report => reports[index] = report);
                }
            }

            await producer.FlushAsync();
            foreach (var (index, task) in awaited)
            {
                reports[index] = new DeliveryReport(await task, null);
            }
        }

        var finishedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Every record was reported, successfully, where it was asked to go.
        for (var i = 0; i < RecordsPerCase; i++)
        {
            var report = reports[i] ?? throw new Xunit.Sdk.XunitException($"Record {i} was never reported.");
            Assert.True(report.IsSuccess, $"Record {i} failed: {report.Error?.Message}");
            if (acks == Acks.None)
            {
                Assert.Equal(-1, report.Offset);
            }
            else
            {
                Assert.True(report.Offset >= 0, $"Record {i} was acknowledged with offset {report.Offset}.");
            }

            Assert.InRange(report.Partition, 0, Partitions - 1);
            if (ExpectedPartition(sent[i].Record, routing) is { } expected)
            {
                Assert.Equal(expected, report.Partition);
            }
        }

        var consumed = ReadEverything(topic, RecordsPerCase);
        Assert.Equal(RecordsPerCase, consumed.Count);

        // Per partition, the log holds exactly the records reported there, in send order.
        foreach (var partition in Enumerable.Range(0, Partitions))
        {
            var expected = sent.Where(s => reports[s.Index]!.Value.Partition == partition).ToList();
            var actual = consumed.Where(c => c.Partition == partition).OrderBy(c => c.Offset).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var j = 0; j < expected.Count; j++)
            {
                var want = expected[j];
                var got = actual[j];
                var report = reports[want.Index]!.Value;
                Assert.Equal(want.Record.Key is null ? null : Encoding.UTF8.GetBytes(want.Record.Key), got.Key);
                Assert.Equal(want.Record.Value, got.Value);
                Assert.Equal(Confluent.Kafka.TimestampType.CreateTime, got.TimestampType);
                if (want.Record.Timestamp.Type != TimestampType.NotAvailable)
                {
                    Assert.Equal(want.Record.Timestamp.UnixTimestampMs, got.TimestampMs);
                }
                else
                {
                    // Stamped by the producer when it was produced.
                    Assert.InRange(got.TimestampMs, startedMs, finishedMs);
                }

                // Like the Java client, Samsa reports the broker's log-append time when the broker
                // sends one (the mock always sends a placeholder), else the create time it sent.
                if (report.Timestamp.Type == TimestampType.CreateTime)
                {
                    Assert.Equal(report.Timestamp.UnixTimestampMs, got.TimestampMs);
                }

                if (acks != Acks.None)
                {
                    Assert.Equal(report.Offset, got.Offset);
                }

                var wantHeaders = want.Record.Headers?.Select(h => (h.Key, h.Value)).ToList() ?? [];
                Assert.Equal(wantHeaders.Count, got.Headers.Count);
                for (var h = 0; h < wantHeaders.Count; h++)
                {
                    Assert.Equal(wantHeaders[h].Key, got.Headers[h].Key);
                    Assert.Equal(wantHeaders[h].Value, got.Headers[h].Value);
                }
            }
        }
    }

    private static ProducerRecord<string, byte[]> MakeRecord(string topic, int i, Routing routing, Random random)
    {
        var value = new byte[random.Next(0, 300)];
        random.NextBytes(value);
        var headers = i % 3 == 0 ? null : new Headers().Add("index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Add("null-valued", (byte[]?)null).Add("index", "again");
        var record = routing switch
        {
            Routing.Keyed => new ProducerRecord<string, byte[]>(topic, $"key-{i % 17}", value),
            Routing.Unkeyed => new ProducerRecord<string, byte[]>(topic, value),
            _ => new ProducerRecord<string, byte[]>(topic, i % Partitions, i % 5 == 0 ? null : $"key-{i}", value),
        };

        return record with
        {
            Headers = headers,

            // Some records carry their own (past) timestamp; the rest are stamped by the producer.
            Timestamp = i % 4 == 0 ? new Timestamp(1_700_000_000_000 + i, TimestampType.CreateTime) : Timestamp.Default,
            Value = i == 7 ? null : record.Value,
        };
    }

    private static int? ExpectedPartition(ProducerRecord<string, byte[]> record, Routing routing) => routing switch
    {
        Routing.ExplicitPartition => record.Partition!.Value,

        // Java's default partitioner: murmur2 of the key bytes (verified against Java's vectors in the unit tests).
        Routing.Keyed => Murmur2.Partition(Encoding.UTF8.GetBytes(record.Key!), Partitions),
        _ => null,
    };

    private List<ConsumedRecord> ReadEverything(string topic, int expected)
    {
        // Wait until everything is visible (acks=0 gives no acknowledgement to wait on), then read
        // each partition to its end, so that a duplicate would show up as an extra record.
        RecordReader.ReadAll(fixture.BootstrapServers, topic, expected);
        return Enumerable.Range(0, Partitions).SelectMany(p => RecordReader.ReadPartition(fixture.BootstrapServers, topic, p)).ToList();
    }

    private sealed record SentRecord(int Index, ProducerRecord<string, byte[]> Record);
}
