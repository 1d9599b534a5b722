using System.Diagnostics;
using Confluent.Kafka;
using CK = Confluent.Kafka;
using SamsaCompression = Samsa.CompressionType;

namespace Samsa.Compare;

/// <summary>One cell of a comparison: what is sent, and to which cluster (broker round trip, partitions of the topic).</summary>
internal sealed record Cell(string Path, int ValueSize, string Codec, int RttMs, int Partitions)
{
    public override string ToString() => $"{Path,-8} {ValueSize,5} B {Codec,-6} {RttMs,2} ms {Partitions,3} p";
}

/// <summary>
/// How much each run sends. <see cref="Records"/> fixes the measured count; otherwise a run sends for
/// <see cref="Seconds"/> (at most <see cref="MaxRecords"/>), then waits for what is still in flight, so cells
/// from 0.05 to 3+ M records/s all take about as long.
/// </summary>
internal sealed record RunSettings(long? Records, double Seconds, long MaxRecords, int Warmup, int Window, int SampleEvery, bool RootSpans)
{
    /// <summary>The most records a run may send; the latency samples are preallocated for that many.</summary>
    public long Limit => Records ?? MaxRecords;

    /// <summary>The timestamp after which a timed run stops sending; never, for a fixed count.</summary>
    public long Deadline(long start) => Records is null ? start + (long)(Seconds * Stopwatch.Frequency) : long.MaxValue;

    /// <summary>Whether record <paramref name="i"/> is sent; the clock is read once per 1024 records only.</summary>
    public bool SendMore(long i, long deadline) => i < Limit && ((i & 1023) != 0 || Stopwatch.GetTimestamp() < deadline);
}

internal sealed record RunConfig(Cell Cell, RunSettings Settings, string Bootstrap);

internal sealed record RunResult(string Client, string Path, int ValueSize, string Codec, int RttMs, int Partitions, int Round, string Topic,
    long Records, double RecordsPerSec, double MBPerSec, double CpuUsPerRecord, double AllocBytesPerRecord, double P50Ms, double P99Ms,
    long LatencySamples, long Errors, long QueueFullRetries, double Seconds);

/// <summary>
/// Counters and latency samples of one run, all preallocated before the measurement. Callback path: one
/// record in <see cref="RunConfig.SampleEvery"/> gets its own handler (prebuilt here, bound to its sample
/// index); the others share one handler, so the harness allocates nothing per record. Await path: every
/// record's latency, observed when the in-order loop awaits it (an upper bound by the head-of-line wait).
/// </summary>
internal sealed class RunState
{
    public readonly long[] Starts;
    public readonly long[] Latencies;
    public long Acked;
    public long Failed;
    public long QueueFull;
    public string? FirstError;

    public RunState(int samples)
    {
        Starts = new long[samples];
        Latencies = new long[samples];
        Array.Fill(Latencies, -1L);
    }

    public void Ok() => Interlocked.Increment(ref Acked);

    public void Fail(string message)
    {
        Interlocked.Increment(ref Failed);
        Interlocked.CompareExchange(ref FirstError, message, null);
    }

    public void Sample(int index, bool ok, string? error)
    {
        if (ok)
        {
            Latencies[index] = Stopwatch.GetTimestamp() - Starts[index];
            Ok();
        }
        else
        {
            Fail(error ?? "unknown error");
        }
    }

    public (double P50, double P99, long Count) Percentiles()
    {
        var values = Latencies.Where(v => v >= 0).ToArray();
        if (values.Length == 0)
        {
            return (double.NaN, double.NaN, 0);
        }

        Array.Sort(values);
        double Ms(double q) => values[Math.Min(values.Length - 1, (int)Math.Ceiling(q * values.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        return (Ms(0.50), Ms(0.99), values.Length);
    }

    public void WaitForAll(long expected)
    {
        var deadline = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
        while (Volatile.Read(ref Acked) + Volatile.Read(ref Failed) < expected && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(1);
        }
    }
}

/// <summary>Process CPU time, managed allocations and wall time around the measured part of a run.</summary>
internal readonly struct Meter
{
    private readonly TimeSpan _cpu;
    private readonly long _allocated;
    private readonly long _start;

    private Meter(TimeSpan cpu, long allocated, long start) => (_cpu, _allocated, _start) = (cpu, allocated, start);

    public static Meter Start()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        var cpu = p.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(true);
        return new Meter(cpu, allocated, Stopwatch.GetTimestamp());
    }

    public (double Seconds, double CpuSeconds, long Allocated) Stop()
    {
        var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(true) - _allocated;
        using var p = Process.GetCurrentProcess();
        return (seconds, (p.TotalProcessorTime - _cpu).TotalSeconds, allocated);
    }
}

internal static class Runners
{
    private static readonly string[] Keys = Enumerable.Range(0, 1000).Select(i => $"key-{i}").ToArray();

    private static byte[] Value(int size)
    {
        var v = new byte[size];
        new Random(42).NextBytes(v);
        return v;
    }

    private static RunResult Result(string client, Cell c, int round, string topic, long records, RunState s, (double Seconds, double CpuSeconds, long Allocated) m)
    {
        var (p50, p99, n) = s.Percentiles();
        if (s.FirstError is not null)
        {
            Console.Error.WriteLine($"  {client}: {s.Failed} errors, first: {s.FirstError}");
        }

        var rps = s.Acked / m.Seconds;
        // MB/s of values only (keys are 5-7 bytes), in 10^6 bytes.
        return new RunResult(client, c.Path, c.ValueSize, c.Codec, c.RttMs, c.Partitions, round, topic, records,
            rps, rps * c.ValueSize / 1e6, m.CpuSeconds * 1e6 / records, (double)m.Allocated / records, p50, p99, n, s.Failed, s.QueueFull, m.Seconds);
    }

    // ---------------------------------------------------------------- Samsa

    private static SamsaCompression SamsaCodec(string codec) => codec switch
    {
        "none" => SamsaCompression.None,
        "gzip" => SamsaCompression.Gzip,
        "snappy" => SamsaCompression.Snappy,
        "lz4" => SamsaCompression.Lz4,
        "zstd" => SamsaCompression.Zstd,
        _ => throw new ArgumentException($"unknown codec {codec}"),
    };

    public static async Task<RunResult> SamsaAsync(RunConfig run, int round, string topic)
    {
        var (c, settings) = (run.Cell, run.Settings);
        var options = new ProducerOptions
        {
            BootstrapServers = run.Bootstrap.Split(','),
            ClientId = "samsa-compare",
            Acks = Acks.All,
            EnableIdempotence = true,
            Linger = TimeSpan.FromMilliseconds(5),
            CompressionType = SamsaCodec(c.Codec),
            RootSpans = settings.RootSpans,
        };
        var value = Value(c.ValueSize);
        var producer = new ProducerBuilder<string, byte[]>(options).SetCloseTimeout(TimeSpan.FromSeconds(10)).Build();
        await using (producer)
        {
            // Warm-up (metadata, connections, JIT), not counted.
            var warm = new RunState(0);
            Action<DeliveryReport> warmHandler = r => { if (r.IsSuccess) { warm.Ok(); } else { warm.Fail(r.Error!.Message); } };
            for (var i = 0; i < settings.Warmup; i++)
            {
                producer.Produce(new ProducerRecord<string, byte[]>(topic, Keys[i % 1000], value), warmHandler);
            }

            await producer.FlushAsync();
            warm.WaitForAll(settings.Warmup);

            RunState s;
            (double, double, long) m;
            long records;
            if (c.Path == "callback")
            {
                var samples = (int)((settings.Limit + settings.SampleEvery - 1) / settings.SampleEvery);
                s = new RunState(samples);
                var state = s;
                Action<DeliveryReport> shared = r => { if (r.IsSuccess) { state.Ok(); } else { state.Fail(r.Error!.Message); } };
                var probes = new Action<DeliveryReport>[samples];
                for (var j = 0; j < samples; j++)
                {
                    var index = j;
                    probes[j] = r => state.Sample(index, r.IsSuccess, r.Error?.Message);
                }

                var meter = Meter.Start();
                var deadline = settings.Deadline(Stopwatch.GetTimestamp());
                long i = 0;
                for (; settings.SendMore(i, deadline); i++)
                {
                    var record = new ProducerRecord<string, byte[]>(topic, Keys[i % 1000], value);
                    if (i % settings.SampleEvery == 0)
                    {
                        var j = (int)(i / settings.SampleEvery);
                        s.Starts[j] = Stopwatch.GetTimestamp();
                        producer.Produce(record, probes[j]);
                    }
                    else
                    {
                        producer.Produce(record, shared);
                    }
                }

                records = i;
                await producer.FlushAsync();
                s.WaitForAll(records);
                m = meter.Stop();
            }
            else
            {
                s = new RunState((int)settings.Limit);
                var window = new ValueTask<DeliveryResult>[settings.Window];
                var meter = Meter.Start();
                var deadline = settings.Deadline(Stopwatch.GetTimestamp());
                long i = 0;
                for (; settings.SendMore(i, deadline); i++)
                {
                    var slot = (int)(i % settings.Window);
                    if (i >= settings.Window)
                    {
                        // Awaited inline: this method's state machine is boxed once, not once per record.
                        var k = i - settings.Window;
                        try
                        {
                            await window[slot];
                            s.Latencies[k] = Stopwatch.GetTimestamp() - s.Starts[k];
                            s.Ok();
                        }
                        catch (KafkaException e)
                        {
                            s.Fail(e.Message);
                        }
                    }

                    s.Starts[i] = Stopwatch.GetTimestamp();
#pragma warning disable CA2012 // awaited exactly once, in order
                    window[slot] = producer.ProduceAsync(new ProducerRecord<string, byte[]>(topic, Keys[i % 1000], value));
#pragma warning restore CA2012
                }

                records = i;
                for (var k = Math.Max(0, i - settings.Window); k < i; k++)
                {
                    try
                    {
                        await window[(int)(k % settings.Window)];
                        s.Latencies[k] = Stopwatch.GetTimestamp() - s.Starts[k];
                        s.Ok();
                    }
                    catch (KafkaException e)
                    {
                        s.Fail(e.Message);
                    }
                }

                m = meter.Stop();
            }

            return Result("Samsa", c, round, topic, records, s, m);
        }
    }

    // ---------------------------------------------------------------- Confluent.Kafka

    private static Confluent.Kafka.CompressionType ConfluentCodec(string codec) => codec switch
    {
        "none" => Confluent.Kafka.CompressionType.None,
        "gzip" => Confluent.Kafka.CompressionType.Gzip,
        "snappy" => Confluent.Kafka.CompressionType.Snappy,
        "lz4" => Confluent.Kafka.CompressionType.Lz4,
        "zstd" => Confluent.Kafka.CompressionType.Zstd,
        _ => throw new ArgumentException($"unknown codec {codec}"),
    };

    public static async Task<RunResult> ConfluentAsync(RunConfig run, int round, string topic)
    {
        var (c, settings) = (run.Cell, run.Settings);
        var config = new ProducerConfig
        {
            BootstrapServers = run.Bootstrap,
            ClientId = "confluent-compare",
            Acks = Confluent.Kafka.Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            CompressionType = ConfluentCodec(c.Codec),
        };
        var value = Value(c.ValueSize);
        using var producer = new Confluent.Kafka.ProducerBuilder<string, byte[]>(config).Build();

        var warm = new RunState(0);
        Action<DeliveryReport<string, byte[]>> warmHandler = r => { if (r.Error.IsError) { warm.Fail(r.Error.Reason); } else { warm.Ok(); } };
        for (var i = 0; i < settings.Warmup; i++)
        {
            ProduceWithRetry(producer, topic, new CK.Message<string, byte[]> { Key = Keys[i % 1000], Value = value }, warmHandler, warm);
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        warm.WaitForAll(settings.Warmup);

        RunState s;
        (double, double, long) m;
        long records;
        if (c.Path == "callback")
        {
            var samples = (int)((settings.Limit + settings.SampleEvery - 1) / settings.SampleEvery);
            s = new RunState(samples);
            var state = s;
            Action<DeliveryReport<string, byte[]>> shared = r => { if (r.Error.IsError) { state.Fail(r.Error.Reason); } else { state.Ok(); } };
            var probes = new Action<DeliveryReport<string, byte[]>>[samples];
            for (var j = 0; j < samples; j++)
            {
                var index = j;
                probes[j] = r => state.Sample(index, !r.Error.IsError, r.Error.Reason);
            }

            var meter = Meter.Start();
            var deadline = settings.Deadline(Stopwatch.GetTimestamp());
            long i = 0;
            for (; settings.SendMore(i, deadline); i++)
            {
                // Confluent's API takes a Message object per record (its own cost, as in any application).
                var message = new CK.Message<string, byte[]> { Key = Keys[i % 1000], Value = value };
                if (i % settings.SampleEvery == 0)
                {
                    var j = (int)(i / settings.SampleEvery);
                    s.Starts[j] = Stopwatch.GetTimestamp();
                    ProduceWithRetry(producer, topic, message, probes[j], s);
                }
                else
                {
                    ProduceWithRetry(producer, topic, message, shared, s);
                }
            }

            records = i;
            producer.Flush(TimeSpan.FromSeconds(120));
            s.WaitForAll(records);
            m = meter.Stop();
        }
        else
        {
            s = new RunState((int)settings.Limit);
            var window = new Task<DeliveryResult<string, byte[]>>[settings.Window];
            var meter = Meter.Start();
            var deadline = settings.Deadline(Stopwatch.GetTimestamp());
            long i = 0;
            for (; settings.SendMore(i, deadline); i++)
            {
                var slot = (int)(i % settings.Window);
                if (i >= settings.Window)
                {
                    var k = i - settings.Window;
                    try
                    {
                        await window[slot];
                        s.Latencies[k] = Stopwatch.GetTimestamp() - s.Starts[k];
                        s.Ok();
                    }
                    catch (ProduceException<string, byte[]> e)
                    {
                        s.Fail(e.Error.Reason);
                    }
                }

                s.Starts[i] = Stopwatch.GetTimestamp();
                window[slot] = producer.ProduceAsync(topic, new CK.Message<string, byte[]> { Key = Keys[i % 1000], Value = value });
            }

            records = i;
            for (var k = Math.Max(0, i - settings.Window); k < i; k++)
            {
                try
                {
                    await window[(int)(k % settings.Window)];
                    s.Latencies[k] = Stopwatch.GetTimestamp() - s.Starts[k];
                    s.Ok();
                }
                catch (ProduceException<string, byte[]> e)
                {
                    s.Fail(e.Error.Reason);
                }
            }

            m = meter.Stop();
        }

        return Result("Confluent", c, round, topic, records, s, m);
    }

    /// <summary>librdkafka's queue holds 100,000 messages by default; when full, wait briefly and retry, as an application must.</summary>
    private static void ProduceWithRetry(CK.IProducer<string, byte[]> producer, string topic, CK.Message<string, byte[]> message,
        Action<DeliveryReport<string, byte[]>> handler, RunState s)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message, handler);
                return;
            }
            catch (ProduceException<string, byte[]> e) when (e.Error.Code == CK.ErrorCode.Local_QueueFull)
            {
                s.QueueFull++;
                Thread.Sleep(1);
            }
        }
    }
}
