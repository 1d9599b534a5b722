// An exactly-once consume-transform-produce pipeline: a Confluent.Kafka consumer in a consumer group reads an input
// topic; a Samsa transactional producer writes each batch's transformed records to an output topic and commits the
// consumed offsets in the same transaction. Killed at any point and restarted (with the same transactional id), the
// output, read with isolation.level=read_committed, holds every input record exactly once.
//
//   dotnet run --project samples/ExactlyOncePipeline -- --bootstrap HOST:PORT --input in --output out \
//       --group uppercase --transactional-id uppercase-1 [--batch 100]
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Samsa;
using ConfluentTopicPartition = Confluent.Kafka.TopicPartition;

var settings = Settings.Parse(args);
if (settings is null)
{
    Console.Error.WriteLine("usage: ExactlyOncePipeline --bootstrap HOST:PORT --input TOPIC --output TOPIC --group GROUP --transactional-id ID [--batch N]");
    return 2;
}

LoadLibrdkafkaFromEnvironment();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

var consumerConfig = new ConsumerConfig
{
    BootstrapServers = settings.Bootstrap,
    GroupId = settings.Group,
    EnableAutoCommit = false, // the offsets are committed by the producer's transactions, never by the consumer
    EnableAutoOffsetStore = false,
    IsolationLevel = IsolationLevel.ReadCommitted, // read only committed output of upstream pipelines
    AutoOffsetReset = AutoOffsetReset.Earliest,
};

// Partitions revoked in a rebalance while a batch is being collected: their records are the next owner's to process
// (it starts from the offsets our last committed transaction stored), so they leave the batch.
var revoked = new HashSet<ConfluentTopicPartition>();
using var consumer = new ConsumerBuilder<string?, string?>(consumerConfig)
    .SetPartitionsRevokedHandler((_, partitions) => revoked.UnionWith(partitions.Select(p => p.TopicPartition)))
    .SetPartitionsLostHandler((_, partitions) => revoked.UnionWith(partitions.Select(p => p.TopicPartition)))
    .Build();

// The same transactional id on every restart: InitTransactions fences the previous instance (a zombie can no longer
// commit) and aborts whatever transaction it left open.
await using var producer = new Samsa.ProducerBuilder<string?, string?>(new ProducerOptions
{
    BootstrapServers = settings.Bootstrap.Split(','),
    TransactionalId = settings.TransactionalId,
}).Build();

long batches = 0, records = 0;
try
{
    await producer.InitTransactionsAsync(stop.Token);
    consumer.Subscribe(settings.Input);
    Console.WriteLine($"Pipeline {settings.TransactionalId}: {settings.Input} -> {settings.Output}, group {settings.Group}. Ctrl+C stops.");

    while (!stop.IsCancellationRequested)
    {
        var batch = ConsumeBatch(consumer, settings.BatchSize, revoked, stop.Token);
        if (batch.Count == 0)
        {
            continue;
        }

        producer.BeginTransaction();
        try
        {
            foreach (var record in batch)
            {
                // The transformation; the output keeps the input's key and partition number.
                producer.Produce(new ProducerRecord<string?, string?>(settings.Output, record.Partition.Value, record.Message.Key, record.Message.Value?.ToUpperInvariant()));
            }

            // The next offset to read, per partition: last processed + 1.
            var offsets = batch
                .GroupBy(r => r.TopicPartition)
                .Select(g => new Samsa.TopicPartitionOffset(g.Key.Topic, g.Key.Partition.Value, g.Max(r => r.Offset.Value) + 1));
            await producer.SendOffsetsToTransactionAsync(offsets, GroupMetadata(consumer, consumerConfig), stop.Token);
            await producer.CommitTransactionAsync(stop.Token);
            batches++;
            records += batch.Count;
        }
        catch (Samsa.KafkaException e) when (e.TxnRequiresAbort && !e.IsFatal)
        {
            // This transaction cannot commit, but the producer can go on: a record or the offsets failed
            // (TransactionAbortableException), the coordinator aborted it after transaction.timeout.ms
            // (TransactionTimedOutException), or a topic or the group was refused (a KafkaAuthorizationException that is
            // not fatal). Abort it, and read the batch again.
            Console.Error.WriteLine($"Transaction aborted ({e.GetType().Name}: {e.Message}); the batch is read again.");
            await producer.AbortTransactionAsync(CancellationToken.None);
            Rewind(consumer, batch);
        }
    }
}
catch (Samsa.KafkaException e) when (e.IsFatal)
{
    // The producer cannot go on: another instance with the same transactional id started (ProducerFencedException: this
    // one is a zombie), or the principal may not use the transactional id (KafkaAuthorizationException). Stop.
    Console.Error.WriteLine(e is ProducerFencedException
        ? $"Fenced by a newer instance: {e.Message}"
        : $"The producer failed for good ({e.GetType().Name}): {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    // Ctrl+C: an open transaction is aborted below (or by the coordinator when the next instance starts).
}
finally
{
    consumer.Close();
}

Console.WriteLine($"Stopped after {batches} committed transactions, {records} records.");
return 0;

// Up to `max` records: the batch closes early when the input pauses. Records of revoked partitions are dropped.
static List<ConsumeResult<string?, string?>> ConsumeBatch(IConsumer<string?, string?> consumer, int max, HashSet<ConfluentTopicPartition> revoked, CancellationToken cancel)
{
    var batch = new List<ConsumeResult<string?, string?>>(max);
    revoked.Clear();
    while (batch.Count < max && !cancel.IsCancellationRequested)
    {
        var result = consumer.Consume(TimeSpan.FromMilliseconds(batch.Count == 0 ? 1000 : 100));
        if (revoked.Count > 0)
        {
            batch.RemoveAll(r => revoked.Contains(r.TopicPartition));
            revoked.Clear();
        }

        if (result?.Message is null)
        {
            if (batch.Count > 0)
            {
                break;
            }

            continue;
        }

        batch.Add(result);
    }

    return batch;
}

// After an abort, the consumer's position is past the batch: go back to each partition's first record of it.
static void Rewind(IConsumer<string?, string?> consumer, List<ConsumeResult<string?, string?>> batch)
{
    foreach (var first in batch.GroupBy(r => r.TopicPartition).Select(g => g.MinBy(r => r.Offset.Value)!))
    {
        consumer.Seek(first.TopicPartitionOffset);
    }
}

// Samsa's ConsumerGroupMetadata from a Confluent consumer. Confluent.Kafka does not expose the generation id
// (consumer.ConsumerGroupMetadata is opaque: librdkafka's serialized form behind an internal class), and a group
// coordinator checks the member id and the generation together: a member id with generation -1 is refused
// (ILLEGAL_GENERATION) in a group that has members. So only the group id goes: the coordinator then accepts the offsets
// without membership checks, as with Java's old sendOffsetsToTransaction(offsets, groupId). Zombies are still fenced by
// the transactional id (InitTransactions), not by the group generation (KIP-447).
static Samsa.ConsumerGroupMetadata GroupMetadata(IConsumer<string?, string?> consumer, ConsumerConfig config) =>
    new(config.GroupId);

// Optional: LIBRDKAFKA_PATH names the librdkafka file Confluent.Kafka should load (e.g. librdkafka.redist's
// self-contained centos8-librdkafka.so on Linux distributions without libsasl2.so.3, such as Debian 12).
static void LoadLibrdkafkaFromEnvironment()
{
    if (Environment.GetEnvironmentVariable("LIBRDKAFKA_PATH") is not { Length: > 0 } path)
    {
        return;
    }

    NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => name switch
    {
        "librdkafka" => NativeLibrary.Load(path),
        "libdl" => NativeLibrary.TryLoad("libdl.so.2", out var handle) ? handle : IntPtr.Zero, // glibc 2.34+: no bare libdl.so
        _ => IntPtr.Zero,
    });
    Library.Load(path);
}

internal sealed record Settings(string Bootstrap, string Input, string Output, string Group, string TransactionalId, int BatchSize)
{
    public static Settings? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i]] = args[i + 1];
        }

        string? Get(string name) => values.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
        if (Get("--bootstrap") is not { } bootstrap || Get("--input") is not { } input || Get("--output") is not { } output ||
            Get("--group") is not { } group || Get("--transactional-id") is not { } id)
        {
            return null;
        }

        var batch = Get("--batch") is { } b && int.TryParse(b, out var n) && n > 0 ? n : 100;
        return new Settings(bootstrap, input, output, group, id, batch);
    }
}
