using System.Diagnostics;
using Confluent.Kafka;
using CK = Confluent.Kafka;
using SamsaCompression = Samsa.CompressionType;

namespace Samsa.Compare;

internal sealed record RunConfig(string Path, int ValueSize, string Codec, long Records, int Warmup, int Window, int SampleEvery, string Bootstrap);

internal sealed record RunResult(string Client, string Path, int ValueSize, string Codec, int Round, string Topic,
    double RecordsPerSec, double CpuUsPerRecord, double AllocBytesPerRecord, double P50Ms, double P99Ms,
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

    private static RunResult Result(string client, RunConfig c, int round, string topic, RunState s, (double Seconds, double CpuSeconds, long Allocated) m)
    {
        var (p50, p99, n) = s.Percentiles();
        if (s.FirstError is not null)
        {
            Console.Error.WriteLine($"  {client}: {s.Failed} errors, first: {s.FirstError}");
        }

        return new RunResult(client, c.Path, c.ValueSize, c.Codec, round, topic,
            s.Acked / m.Seconds, m.CpuSeconds * 1e6 / c.Records, (double)m.Allocated / c.Records, p50, p99, n, s.Failed, s.QueueFull, m.Seconds);
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

    public static async Task<RunResult> SamsaAsync(RunConfig c, int round, string topic)
    {
        var options = new ProducerOptions
        {
            BootstrapServers = c.Bootstrap.Split(','),
            ClientId = "samsa-compare",
            Acks = Acks.All,
            EnableIdempotence = true,
            Linger = TimeSpan.FromMilliseconds(5),
            CompressionType = SamsaCodec(c.Codec),
        };
        var value = Value(c.ValueSize);
        var producer = new ProducerBuilder<string, byte[]>(options).SetCloseTimeout(TimeSpan.FromSeconds(10)).Build();
        await using (producer)
        {
            // Warm-up (metadata, connections, JIT), not counted.
            var warm = new RunState(0);
            Action<DeliveryReport> warmHandler = r => { if (r.IsSuccess) { warm.Ok(); } else { warm.Fail(r.Error!.Message); } };
            for (var i = 0; i < c.Warmup; i++)
            {
                producer.Produce(new ProducerRecord<string, byte[]>(topic, Keys[i % 1000], value), warmHandler);
            }

            await producer.FlushAsync();
            warm.WaitForAll(c.Warmup);

            RunState s;
            (double, double, long) m;
            if (c.Path == "callback")
            {
                var samples = (int)((c.Records + c.SampleEvery - 1) / c.SampleEvery);
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
                for (long i = 0; i < c.Records; i++)
                {
                    var record = new ProducerRecord<string, byte[]>(topic, Keys[i % 1000], value);
                    if (i % c.SampleEvery == 0)
                    {
                        var j = (int)(i / c.SampleEvery);
                        s.Starts[j] = Stopwatch.GetTimestamp();
                        producer.Produce(record, probes[j]);
                    }
                    else
                    {
                        producer.Produce(record, shared);
                    }
                }

                await producer.FlushAsync();
                s.WaitForAll(c.Records);
                m = meter.Stop();
            }
            else
            {
                s = new RunState((int)c.Records);
                var window = new ValueTask<DeliveryResult>[c.Window];
                var meter = Meter.Start();
                long i = 0;
                for (; i < c.Records; i++)
                {
                    var slot = (int)(i % c.Window);
                    if (i >= c.Window)
                    {
                        // Awaited inline: this method's state machine is boxed once, not once per record.
                        var k = i - c.Window;
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

                for (var k = Math.Max(0, i - c.Window); k < i; k++)
                {
                    try
                    {
                        await window[(int)(k % c.Window)];
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

            return Result("Samsa", c, round, topic, s, m);
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

    public static async Task<RunResult> ConfluentAsync(RunConfig c, int round, string topic)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = c.Bootstrap,
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
        for (var i = 0; i < c.Warmup; i++)
        {
            ProduceWithRetry(producer, topic, new CK.Message<string, byte[]> { Key = Keys[i % 1000], Value = value }, warmHandler, warm);
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        warm.WaitForAll(c.Warmup);

        RunState s;
        (double, double, long) m;
        if (c.Path == "callback")
        {
            var samples = (int)((c.Records + c.SampleEvery - 1) / c.SampleEvery);
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
            for (long i = 0; i < c.Records; i++)
            {
                // Confluent's API takes a Message object per record (its own cost, as in any application).
                var message = new CK.Message<string, byte[]> { Key = Keys[i % 1000], Value = value };
                if (i % c.SampleEvery == 0)
                {
                    var j = (int)(i / c.SampleEvery);
                    s.Starts[j] = Stopwatch.GetTimestamp();
                    ProduceWithRetry(producer, topic, message, probes[j], s);
                }
                else
                {
                    ProduceWithRetry(producer, topic, message, shared, s);
                }
            }

            producer.Flush(TimeSpan.FromSeconds(120));
            s.WaitForAll(c.Records);
            m = meter.Stop();
        }
        else
        {
            s = new RunState((int)c.Records);
            var window = new Task<DeliveryResult<string, byte[]>>[c.Window];
            var meter = Meter.Start();
            long i = 0;
            for (; i < c.Records; i++)
            {
                var slot = (int)(i % c.Window);
                if (i >= c.Window)
                {
                    var k = i - c.Window;
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

            for (var k = Math.Max(0, i - c.Window); k < i; k++)
            {
                try
                {
                    await window[(int)(k % c.Window)];
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

        return Result("Confluent", c, round, topic, s, m);
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
