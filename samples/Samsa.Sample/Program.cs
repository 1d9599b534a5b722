// Samsa producer benchmark against an embedded cluster (librdkafka's mock, 3 brokers, in this process).
//   dotnet run --project samples/Samsa.Sample -c Release -- [--records N] [--record-size S] [--keys K]
//       [--acks all|1|0] [--compression none|gzip|snappy|lz4|zstd] [--mode callback|await] [--timeout SECONDS]
// Exit codes: 0 every record acknowledged; 1 some record failed, went unreported or the run timed out; 2 bad arguments.
using System.Diagnostics;
using System.Globalization;
using Samsa;
using Samsa.Sample;
using Samsa.Testing;

const string Topic = "demo";
const int Partitions = 6;
const int Window = 10_000;

BenchmarkArgs options;
try
{
    var parsed = BenchmarkArgs.Parse(args);
    if (parsed is null)
    {
        Console.WriteLine(BenchmarkArgs.Usage);
        return 0;
    }

    options = parsed;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Samsa.Sample: {e.Message}");
    Console.Error.WriteLine();
    Console.Error.WriteLine(BenchmarkArgs.Usage);
    return 2;
}

// Keys and the value are made once, so that the figures measure the producer, not the benchmark.
string?[] keys = options.Keys == 0 ? [null] : new string?[options.Keys];
for (var k = 0; k < options.Keys; k++)
{
    keys[k] = string.Create(CultureInfo.InvariantCulture, $"key-{k}");
}

var value = new byte[options.RecordSize];
new Random(42).NextBytes(value);

using var cluster = MockCluster.Start(3);
cluster.CreateTopic(Topic, Partitions);

Console.WriteLine($"Samsa.Sample: {options.Records:N0} records of {options.RecordSize} B, {(options.Keys == 0 ? "no keys" : $"{options.Keys} keys")}, " +
    $"acks={options.AcksName}, compression={options.Compression.ToString().ToLowerInvariant()}, mode={options.Mode.ToString().ToLowerInvariant()}");
Console.WriteLine($"cluster: librdkafka {MockCluster.NativeVersion} mock, {cluster.BrokerCount} brokers at {cluster.BootstrapServers}; topic '{Topic}' with {Partitions} partitions");

var producerOptions = new ProducerOptions
{
    BootstrapServers = cluster.BootstrapServers.Split(','),
    ClientId = "samsa-sample",
    Acks = options.Acks,
    CompressionType = options.Compression,
};

// A hung producer must not hang the sample: report what happened by then and fail.
using var watchdog = new Timer(
    _ =>
    {
        Console.Error.WriteLine($"Samsa.Sample: timed out after {options.Timeout.TotalSeconds:F0} s " +
            $"({Counters.Acknowledged:N0} acknowledged, {Counters.Failed:N0} failed of {options.Records:N0}).");
        Environment.Exit(1);
    },
    null,
    options.Timeout,
    Timeout.InfiniteTimeSpan);

var producer = new ProducerBuilder<string, byte[]>(producerOptions)
    .SetCloseTimeout(TimeSpan.FromSeconds(5))
    .Build();
await using (producer.ConfigureAwait(false))
{
    // One record first, outside the measurement: metadata, connections and the JIT warm up.
    try
    {
        await producer.ProduceAsync(new ProducerRecord<string, byte[]>(Topic, keys[0], value)).ConfigureAwait(false);
    }
    catch (KafkaException e)
    {
        Console.Error.WriteLine($"Samsa.Sample: the warm-up record failed: {e.Message}");
        return 1;
    }

    var process = Process.GetCurrentProcess();
    GC.Collect();
    process.Refresh();
    var cpuBefore = process.TotalProcessorTime;
    var allocatedBefore = GC.GetTotalAllocatedBytes(true);
    var stopwatch = Stopwatch.StartNew();

    if (options.Mode == ProduceMode.Callback)
    {
        Action<DeliveryReport> handler = Counters.OnDelivery;
        for (var i = 0; i < options.Records; i++)
        {
            producer.Produce(new ProducerRecord<string, byte[]>(Topic, keys[i % keys.Length], value), handler);
        }
    }
    else
    {
        // Up to Window records outstanding, awaited in the order they were produced.
        var window = new ValueTask<DeliveryResult>[Math.Min(Window, options.Records)];
        for (var i = 0; i < options.Records; i++)
        {
            var slot = i % window.Length;
            if (i >= window.Length)
            {
                await Counters.AwaitOne(window[slot]).ConfigureAwait(false);
            }

            // Each ValueTask in the window is awaited exactly once, in order, as CA2012 asks.
#pragma warning disable CA2012
            window[slot] = producer.ProduceAsync(new ProducerRecord<string, byte[]>(Topic, keys[i % keys.Length], value));
#pragma warning restore CA2012
        }

        var outstanding = Math.Min(options.Records, window.Length);
        for (var j = 0; j < outstanding; j++)
        {
            await Counters.AwaitOne(window[(options.Records - outstanding + j) % window.Length]).ConfigureAwait(false);
        }
    }

    await producer.FlushAsync().ConfigureAwait(false);

    stopwatch.Stop();
    var allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
    process.Refresh();
    var cpu = process.TotalProcessorTime - cpuBefore;
    watchdog.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    var acknowledged = Counters.Acknowledged;
    var failed = Counters.Failed;
    var unreported = options.Records - acknowledged - failed;
    var seconds = stopwatch.Elapsed.TotalSeconds;
    var c = CultureInfo.InvariantCulture;
    Console.WriteLine(string.Create(c, $"records:            {options.Records}"));
    Console.WriteLine(string.Create(c, $"errors:             {failed}{(unreported != 0 ? $" (and {unreported} never reported)" : "")}"));
    Console.WriteLine(string.Create(c, $"elapsed:            {seconds:F3} s"));
    Console.WriteLine(string.Create(c, $"records/s:          {options.Records / seconds:F0}"));
    Console.WriteLine(string.Create(c, $"MB/s (values):      {(double)options.Records * options.RecordSize / 1e6 / seconds:F2}"));
    Console.WriteLine(string.Create(c, $"CPU seconds:        {cpu.TotalSeconds:F3} ({cpu.TotalMicroseconds / options.Records:F2} µs/record; whole process, the mock brokers included)"));
    Console.WriteLine(string.Create(c, $"allocated/record:   {(double)allocated / options.Records:F1} B (managed heap)"));
    if (Counters.FirstError is { } error)
    {
        Console.Error.WriteLine($"first error: {error.GetType().Name} ({error.ErrorCode}): {error.Message}");
    }

    return failed == 0 && unreported == 0 ? 0 : 1;
}
