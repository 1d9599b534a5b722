using System.Collections.Concurrent;
using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;

namespace Samsa.IntegrationTests.Faults;

/// <summary>What a fault delegate gets: the cluster, the proxy in front of it, the topic and how far sending got.</summary>
public sealed class FaultContext
{
    internal FaultContext(MockCluster cluster, KafkaProxy proxy, string topic, FaultScenario scenario)
    {
        Cluster = cluster;
        Proxy = proxy;
        Topic = topic;
        Scenario = scenario;
    }

    public MockCluster Cluster { get; }

    /// <summary>The producer's only way to the cluster: its faults hit the producer, its oracle judges every batch.</summary>
    public KafkaProxy Proxy { get; }

    public string Topic { get; }

    internal FaultScenario Scenario { get; }

    /// <summary>Waits (bounded) until every record sent so far has been reported.</summary>
    public Task WaitForReportsSoFarAsync(TimeSpan bound) => Scenario.WaitForReportsAsync(Scenario.SentCount, bound);
}

/// <summary>How strictly the log is checked for duplicates and order.</summary>
public enum LogCheck
{
    /// <summary>Only: nothing acknowledged is lost (idempotence off, several requests in flight).</summary>
    NoLossOnly,

    /// <summary>No value twice in the log, and acknowledged records of a partition in send order (the log
    /// without the batches the producer was told a real broker refused, see <see cref="KafkaProxy.EnforceSequenceRules"/>).</summary>
    Strict,

    /// <summary>
    /// As <see cref="Strict"/>, but a value may appear more than once when a request was appended by the
    /// mock after the producer gave up waiting for it (request.timeout.ms, lost answer, closed connection)
    /// and retried: the mock does not de-duplicate for non-transactional producers (TESTING.md). Order is
    /// checked on the first copy, the one a real broker would keep. That a real broker would have dropped the
    /// retry (same producer id, epoch, sequence) is not assumed: the oracle checks it (no acknowledged record
    /// stored twice in a real broker's log).
    /// </summary>
    StrictExceptMockDuplicates,
}

/// <summary>One row of the fault matrix.</summary>
public sealed record FaultCase(string Name)
{
    public int Records { get; init; } = 300;

    /// <summary>Tweaks the harness's short-timeout options.</summary>
    public Func<ProducerOptions, ProducerOptions>? Configure { get; init; }

    /// <summary>Runs on the fresh cluster after the topic exists, before the producer is built.</summary>
    public Action<FaultContext>? Setup { get; init; }

    /// <summary>Index of the record before which <see cref="Fault"/> runs.</summary>
    public int FaultAt { get; init; } = 100;

    public Func<FaultContext, Task>? Fault { get; init; }

    /// <summary>Index of the record before which <see cref="Heal"/> runs.</summary>
    public int HealAt { get; init; } = 200;

    public Func<FaultContext, Task>? Heal { get; init; }

    /// <summary>Pause after every 10 records, so that faults hit mid-stream.</summary>
    public TimeSpan PauseEvery10 { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Which failures are acceptable (type, code, partition). Null: no failure is acceptable.</summary>
    public Func<KafkaException, bool>? AllowedFailure { get; init; }

    /// <summary>Records (by send index) that must succeed, whatever <see cref="AllowedFailure"/> says.</summary>
    public Func<int, bool>? MustSucceed { get; init; }

    /// <summary>Records (by send index) that must fail.</summary>
    public Func<int, bool>? MustFail { get; init; }

    /// <summary>Extra checks on the outcome (e.g. "at least one failure had code X").</summary>
    public Action<FaultOutcome>? Verify { get; init; }

    public LogCheck LogCheck { get; init; } = LogCheck.Strict;

    public override string ToString() => Name;
}

/// <summary>The report a record got.</summary>
public sealed class RecordOutcome
{
    public required int Index { get; init; }

    public required string Value { get; init; }

    public required string? Key { get; init; }

    public required bool Awaited { get; init; }

    private int _reports;

    public int Reports => Volatile.Read(ref _reports);

    internal int AddReport() => Interlocked.Increment(ref _reports);

    public DeliveryResult? Result { get; set; }

    public KafkaException? Error { get; set; }

    public Exception? UnexpectedError { get; set; }
}

/// <summary>Everything a case produced and read back, and what the oracle judged (null with idempotence off:
/// the oracle's rules are those of an idempotent producer's broker).</summary>
public sealed record FaultOutcome(
    IReadOnlyList<RecordOutcome> Records,
    IReadOnlyDictionary<int, IReadOnlyList<ConsumedRecord>> Log,
    OracleReport Oracle,
    IReadOnlyList<string>? OracleProblems)
{
    public int Succeeded => Records.Count(r => r.Result is not null);

    public IEnumerable<KafkaException> Failures => Records.Where(r => r.Error is not null).Select(r => r.Error!);
}

/// <summary>
/// The fault matrix harness: its own 3-broker mock cluster behind a <see cref="KafkaProxy"/>, a topic of
/// 6 partitions led by brokers 1,2,3,1,2,3, a Samsa producer (through the proxy) with short timeouts, a known set of records (keyed and keyless,
/// ProduceAsync and Produce-with-handler alternating, each value unique), a fault after
/// <see cref="FaultCase.FaultAt"/> records and a heal after <see cref="FaultCase.HealAt"/>; then it
/// heals the cluster, reads every partition back with Confluent.Kafka and checks the invariants:
/// every acknowledged record is in the log at its reported partition and offset; every record missing
/// from the log was reported failed with an allowed exception; every record got exactly one report;
/// in <see cref="LogCheck.Strict"/> cases no duplicates and send order per partition; with idempotence on,
/// the oracle: a real broker would hold every acknowledged record exactly once, in send order.
/// Every wait is bounded: a hang fails the test with a message naming what hung.
/// </summary>
public sealed class FaultScenario
{
    public const int Partitions = 6;
    public const int Brokers = 3;

    private readonly ConcurrentQueue<RecordOutcome> _reported = new();
    private readonly List<RecordOutcome> _records = [];
    private int _reportedCount;
    private int _sent;

    internal int SentCount => Volatile.Read(ref _sent);

    /// <summary>The leader broker of partition <paramref name="partition"/> at the start (1-based).</summary>
    public static int InitialLeader(int partition) => (partition % Brokers) + 1;

    /// <summary>The harness's short-timeout options (cases change them through <see cref="FaultCase.Configure"/>).</summary>
    public static ProducerOptions BaseOptions(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers.Split(','),
        Linger = TimeSpan.FromMilliseconds(5),
        BatchSize = 1024, // several batches per partition
        RequestTimeout = TimeSpan.FromSeconds(1),
        DeliveryTimeout = TimeSpan.FromSeconds(8),
        RetryBackoff = TimeSpan.FromMilliseconds(50),
        RetryBackoffMax = TimeSpan.FromMilliseconds(300),
        ReconnectBackoff = TimeSpan.FromMilliseconds(50),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        SocketConnectionSetupTimeout = TimeSpan.FromSeconds(1),
        MaxBlock = TimeSpan.FromSeconds(5),
    };

    /// <summary>Creates the 6-partition topic and spreads its leaders over brokers 1, 2, 3.</summary>
    public static string CreateSpreadTopic(MockCluster cluster, string name)
    {
        cluster.CreateTopic(name, Partitions);
        for (var p = 0; p < Partitions; p++)
        {
            cluster.SetPartitionLeader(name, p, InitialLeader(p));
        }

        return name;
    }

    /// <summary>Undoes every fault the matrix applies (except API version limits).</summary>
    public static void HealAll(MockCluster cluster, string topic)
    {
        for (var b = 1; b <= Brokers; b++)
        {
            cluster.SetBrokerUp(b);
            cluster.SetBrokerRoundTripTime(b, TimeSpan.Zero);
        }

        cluster.ClearRequestErrors(KafkaApiKey.Produce);
        cluster.ClearRequestErrors(KafkaApiKey.InitProducerId);
        cluster.ClearRequestErrors(KafkaApiKey.Metadata);
        cluster.SetTopicError(topic, 0);
    }

    /// <summary>Undoes every proxy fault the matrix and the soak apply (a stall ends by itself).</summary>
    public static void HealAll(KafkaProxy proxy)
    {
        proxy.SetLatency(-1, TimeSpan.Zero);
        proxy.DropResponses(KafkaApiKey.Produce, 0);
        proxy.ThrottleProduceResponses(0, TimeSpan.Zero);
    }

    /// <summary>The acknowledged records, per partition in send order, as the oracle takes them.</summary>
    public static List<AcknowledgedRecord> Acknowledged(string topic, IEnumerable<RecordOutcome> records) =>
        [.. records.Where(r => r.Result is not null).OrderBy(r => r.Index)
            .Select(r => AcknowledgedRecord.Utf8(topic, r.Result!.Value.Partition, r.Value))];

    /// <summary>Reads every partition of the topic (bounded).</summary>
    public static Dictionary<int, IReadOnlyList<ConsumedRecord>> ReadLog(string bootstrapServers, string topic)
    {
        var log = new Dictionary<int, IReadOnlyList<ConsumedRecord>>();
        for (var p = 0; p < Partitions; p++)
        {
            log[p] = RecordReader.ReadPartition(bootstrapServers, topic, p, TimeSpan.FromSeconds(30));
        }

        return log;
    }

    public static Task<FaultOutcome> RunAsync(FaultCase @case, ITestOutputHelper output) => new FaultScenario().RunCoreAsync(@case, output);

    internal async Task WaitForReportsAsync(int count, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (Volatile.Read(ref _reportedCount) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                var missing = _records.Take(count).Where(r => r.Reports == 0).Select(r => r.Index).Take(20);
                Assert.Fail($"HANG: only {Volatile.Read(ref _reportedCount)} of {count} records were reported within {bound}; " +
                            $"unreported (first 20): {string.Join(",", missing)}");
            }

            await Task.Delay(20);
        }
    }

    private void Report(RecordOutcome outcome, DeliveryResult? result, Exception? error)
    {
        if (outcome.AddReport() == 1)
        {
            outcome.Result = error is null ? result : null;
            outcome.Error = error as KafkaException;
            outcome.UnexpectedError = error is null or KafkaException ? null : error;
            Interlocked.Increment(ref _reportedCount);
        }

        _reported.Enqueue(outcome);
    }

    private async Task<FaultOutcome> RunCoreAsync(FaultCase @case, ITestOutputHelper output)
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(Brokers);
        var topic = CreateSpreadTopic(cluster, "fault-" + new string([.. @case.Name.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-')]));
        var proxy = KafkaProxy.Start(cluster);
        try
        {
            return await RunThroughProxyAsync(@case, cluster, proxy, topic, output);
        }
        finally
        {
            await proxy.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private async Task<FaultOutcome> RunThroughProxyAsync(FaultCase @case, MockCluster cluster, KafkaProxy proxy, string topic, ITestOutputHelper output)
    {
        var context = new FaultContext(cluster, proxy, topic, this);
        @case.Setup?.Invoke(context);

        var options = BaseOptions(proxy.BootstrapServers);
        options = @case.Configure?.Invoke(options) ?? options;
        // The mock does not check an idempotent producer's sequences: a batch pipelined behind one it refused
        // would be stored and acknowledged there, where a real broker answers OUT_OF_ORDER_SEQUENCE_NUMBER and
        // the producer resends it. The proxy answers what a real broker would; Check leaves the mock's copy out.
        proxy.EnforceSequenceRules = options.EnableIdempotence;
        var logger = new ListLogger();
        var producer = new ProducerBuilder<string, string>(options).SetLogger(logger).SetCloseTimeout(TimeSpan.FromSeconds(15)).Build();
        var reportBound = options.DeliveryTimeout + options.RequestTimeout + TimeSpan.FromSeconds(15);
        try
        {
            for (var i = 0; i < @case.Records; i++)
            {
                if (i == @case.FaultAt && @case.Fault is not null)
                {
                    await @case.Fault(context).WaitAsync(TimeSpan.FromSeconds(60));
                }

                if (i == @case.HealAt && @case.Heal is not null)
                {
                    await @case.Heal(context).WaitAsync(TimeSpan.FromSeconds(60));
                }

                Send(producer, topic, @case.Name, i);
                if (i % 10 == 9 && @case.PauseEvery10 > TimeSpan.Zero)
                {
                    await Task.Delay(@case.PauseEvery10);
                }
            }

            // Faults left in place (e.g. pushed errors not consumed yet) stay until the records are reported.
            try
            {
                await producer.FlushAsync().WaitAsync(reportBound);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"HANG: FlushAsync did not complete within {reportBound}.");
            }

            await WaitForReportsAsync(@case.Records, reportBound);
        }
        finally
        {
            try
            {
                await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                Assert.Fail("HANG: DisposeAsync did not complete within 30 s.");
            }
        }

        HealAll(cluster, topic);
        HealAll(proxy);
        // Read through the proxy, whose ports the brokers advertise; it judges only Produce requests.
        var log = ReadLog(proxy.BootstrapServers, topic);
        var oracleProblems = options.EnableIdempotence ? proxy.Oracle.Check(Acknowledged(topic, _records)) : null;
        var outcome = new FaultOutcome(_records, log, proxy.Oracle.Report(), oracleProblems);
        output.WriteLine(Summary(@case, outcome));
        // What the oracle did not simply store, to explain copies in the log and oracle problems.
        foreach (var judged in outcome.Oracle.Batches.Where(b => b.Verdict != BatchVerdict.Appended).Take(60))
        {
            output.WriteLine(judged.ToString());
        }

        // The producer's own account (retries, splits, epoch bumps), to tell which of its decisions made a copy.
        foreach (var entry in logger.Entries.Take(80))
        {
            output.WriteLine(entry.ToString());
        }
        Assert.Empty(proxy.Errors);
        Check(@case, outcome);
        return outcome;
    }

    private void Send(IProducer<string, string> producer, string topic, string caseName, int i)
    {
        var key = i % 3 == 0 ? null : $"k{i % 17}";
        var value = $"{caseName}#{i:D6}";
        var outcome = new RecordOutcome { Index = i, Key = key, Value = value, Awaited = i % 2 == 0 };
        _records.Add(outcome);
        Interlocked.Increment(ref _sent);
        var record = new ProducerRecord<string, string>(topic, key, value);
        try
        {
            if (outcome.Awaited)
            {
                var task = producer.ProduceAsync(record).AsTask();
                _ = task.ContinueWith(
                    t => Report(outcome, t.IsCompletedSuccessfully ? t.Result : null, t.IsCompletedSuccessfully ? null : t.Exception!.InnerException),
                    TaskScheduler.Default);
            }
            else
            {
                producer.Produce(record, report => Report(outcome, report.IsSuccess ? report.Result : null, report.Error));
            }
        }
        catch (Exception e)
        {
            // A synchronous throw is the record's report too.
            Report(outcome, null, e);
        }
    }

    /// <summary>The invariants, with messages that name the records concerned.</summary>
    public static void Check(FaultCase @case, FaultOutcome outcome)
    {
        var problems = new List<string>();
        void Problem(string text)
        {
            if (problems.Count < 25)
            {
                problems.Add(text);
            }
        }

        var log = WithoutRefusedCopies(outcome);
        var where = new Dictionary<string, List<ConsumedRecord>>();
        foreach (var (_, records) in log)
        {
            foreach (var r in records)
            {
                var value = r.Value is null ? "<null>" : Encoding.UTF8.GetString(r.Value);
                if (!where.TryGetValue(value, out var list))
                {
                    where[value] = list = [];
                }

                list.Add(r);
            }
        }

        foreach (var r in outcome.Records)
        {
            var reports = r.Reports;
            if (reports != 1)
            {
                Problem($"#{r.Index}: {reports} reports (expected exactly 1).");
            }

            if (r.UnexpectedError is not null)
            {
                Problem($"#{r.Index}: failed with a non-Kafka exception {r.UnexpectedError.GetType().Name}: {r.UnexpectedError.Message}");
                continue;
            }

            where.TryGetValue(r.Value, out var copies);
            if (r.Result is { } result)
            {
                var stored = log.TryGetValue(result.Partition, out var part)
                    ? part.FirstOrDefault(c => c.Offset == result.Offset)
                    : null;
                if (stored is null || stored.Value is null || Encoding.UTF8.GetString(stored.Value) != r.Value)
                {
                    Problem($"#{r.Index}: acknowledged at [{result.Partition}]@{result.Offset} but the log has " +
                            (stored is null ? "nothing there" : $"'{(stored.Value is null ? "<null>" : Encoding.UTF8.GetString(stored.Value))}'") +
                            $"; copies of it in the log: {Describe(copies)}.");
                }
                else if (r.Key is not null && (stored.Key is null || Encoding.UTF8.GetString(stored.Key) != r.Key))
                {
                    Problem($"#{r.Index}: key differs in the log.");
                }

                if (@case.MustFail?.Invoke(r.Index) == true)
                {
                    Problem($"#{r.Index}: succeeded, but this case expects it to fail.");
                }
            }
            else if (r.Error is { } error)
            {
                if (@case.MustSucceed?.Invoke(r.Index) == true || @case.AllowedFailure?.Invoke(error) != true)
                {
                    Problem($"#{r.Index}: failed with {error.GetType().Name} (code {error.ErrorCode}, retriable {error.IsRetriable}, [{error.Partition}]): {error.Message}");
                }
            }

            if (r.Result is null && copies is null && r.Error is null && reports > 0)
            {
                Problem($"#{r.Index}: not in the log and reported neither success nor failure.");
            }

            if (@case.LogCheck == LogCheck.Strict && copies is { Count: > 1 })
            {
                Problem($"#{r.Index}: {copies.Count} copies in the log: {Describe(copies)}.");
            }
        }

        if (@case.LogCheck != LogCheck.NoLossOnly)
        {
            // Acknowledged records of one partition, ordered by (first) offset, must be in send order.
            long FirstOffset(RecordOutcome r) =>
                where.TryGetValue(r.Value, out var c) ? c.Where(x => x.Partition == r.Result!.Value.Partition).Min(x => x.Offset) : r.Result!.Value.Offset;
            foreach (var group in outcome.Records.Where(r => r.Result is not null).GroupBy(r => r.Result!.Value.Partition))
            {
                var ordered = group.Select(r => (Record: r, Offset: FirstOffset(r))).OrderBy(x => x.Offset).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    if (ordered[i].Record.Index < ordered[i - 1].Record.Index)
                    {
                        Problem($"partition {group.Key}: #{ordered[i - 1].Record.Index} @{ordered[i - 1].Offset} is before #{ordered[i].Record.Index} @{ordered[i].Offset} (send order reversed).");
                    }
                }
            }
        }

        foreach (var p in outcome.OracleProblems ?? [])
        {
            Problem("oracle: " + p);
        }

        Assert.True(problems.Count == 0, Summary(@case, outcome) + Environment.NewLine + string.Join(Environment.NewLine, problems));
        @case.Verify?.Invoke(outcome);
    }

    /// <summary>The log read back, without the batches the mock stored but the producer was told a real broker
    /// refused (<see cref="JudgedBatch.CorrectedTo"/>): a real broker's log would not have them.</summary>
    private static Dictionary<int, IReadOnlyList<ConsumedRecord>> WithoutRefusedCopies(FaultOutcome outcome)
    {
        var refused = outcome.Oracle.Batches.Where(b => b.CorrectedTo != 0 && b.TestBrokerOffset >= 0)
            .SelectMany(b => Enumerable.Range(0, b.Batch.RecordCount).Select(i => (b.Batch.Partition, b.TestBrokerOffset + i)))
            .ToHashSet();
        return outcome.Log.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<ConsumedRecord>)[.. kv.Value.Where(r => !refused.Contains((r.Partition, r.Offset)))]);
    }

    /// <summary>One line of counts: records, reports, copies the mock stored, and the oracle's verdicts.</summary>
    public static string Summary(FaultCase @case, FaultOutcome outcome)
    {
        var failed = outcome.Records.Count(r => r.Error is not null);
        var duplicates = outcome.Log.Values.SelectMany(l => l).GroupBy(r => r.Value is null ? "" : Convert.ToBase64String(r.Value)).Count(g => g.Count() > 1);
        var refusedCopies = outcome.Log.Values.Sum(l => l.Count) - WithoutRefusedCopies(outcome).Values.Sum(l => l.Count);
        var oracle = outcome.OracleProblems is null ? "oracle skipped (idempotence off)" : $"oracle {outcome.OracleProblems.Count} problems";
        return $"{@case.Name}: {outcome.Records.Count} records, {outcome.Succeeded} acknowledged, {failed} failed, " +
               $"{outcome.Log.Values.Sum(l => l.Count)} in the log ({refusedCopies} of them in batches the mock stored and the producer was told a real broker refused), " +
               $"{duplicates} values the mock stored several times; {oracle}; {outcome.Oracle}.";
    }

    private static string Describe(List<ConsumedRecord>? copies) =>
        copies is null ? "none" : string.Join(", ", copies.Select(c => $"[{c.Partition}]@{c.Offset}"));
}
