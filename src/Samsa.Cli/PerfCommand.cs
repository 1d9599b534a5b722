using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Samsa.Cli;

/// <summary>How perf hands records to the producer.</summary>
internal enum PerfMode
{
    /// <summary><c>Produce(record, handler)</c>: never waits for a record.</summary>
    Callback,

    /// <summary><c>ProduceAsync</c> with up to <see cref="PerfCommand.AwaitWindow"/> records outstanding.</summary>
    Await,
}

/// <summary>
/// <c>samsa perf</c>: a producer throughput and latency benchmark (the CLI's counterpart of
/// kafka-producer-perf-test).
/// </summary>
/// <remarks>
/// Latency is ack time minus send time, both <see cref="Stopwatch"/> timestamps, recorded into a
/// preallocated <see cref="LatencyHistogram"/>. Callback mode: a shared handler cannot tell records
/// apart, so each record borrows a <see cref="Probe"/> (its send timestamp plus a delegate bound once to
/// it) from a pool preallocated before the measurement starts, and gives it back in its handler; nothing
/// is allocated per record. When more than <see cref="MaxProbes"/> records are outstanding, the extra ones
/// use a shared handler and are counted but not timed (shown as "latency samples"). Await mode: up to
/// <see cref="AwaitWindow"/> records are outstanding and awaited in send order, so a record's latency is
/// measured when the loop observes its completion (an upper bound, by at most the head-of-line wait).
/// Before the measurement, one record (metadata, connections) and then <c>--warmup</c> seconds of records (the JIT)
/// are sent, flushed and not counted. The embedded cluster runs in a child process (see
/// <see cref="ClusterChildProcess"/>), so the CPU and allocation figures are this process's: the producer and the
/// benchmark's own small loop.
/// </remarks>
internal static class PerfCommand
{
    public const int AwaitWindow = 10_000;
    public const int MaxProbes = 1 << 18;

    // Long enough for the runtime's tiered JIT to have recompiled the produce path's hot methods with full
    // optimisation: it waits for call counts and for a quiet moment in JIT activity (about 2 s measured here).
    private const double DefaultWarmupSeconds = 3;

    // Warm-up sends in rounds of this many records (fewer when paced), checking the time between rounds.
    private const int WarmupRound = 100_000;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    public static Command Create(CliContext context)
    {
        var settings = new ProducerSettings(withBatchingOptions: true, withProducerProps: true);
        var topic = new Option<string>("--topic", "-t") { Description = "The topic to produce to.", Required = true };
        var numRecords = new Option<long>("--num-records", "-n") { Description = "How many records to produce.", Required = true, HelpName = "N" };
        numRecords.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() <= 0)
            {
                r.AddError("--num-records must be positive.");
            }
        });
        var recordSize = new Option<int>("--record-size", "-s") { Description = "Value size in bytes (random bytes, the same for every record). Give this or --payload-file.", HelpName = "S" };
        recordSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--record-size must not be negative.");
            }
        });
        var throughput = new Option<double>("--throughput")
        {
            Description = "Limit to R records/s (paced by sleeping, not spinning); -1 = unlimited.",
            DefaultValueFactory = _ => -1,
            HelpName = "R",
        };
        throughput.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<double>();
            if (v != -1 && !(v > 0))
            {
                r.AddError("--throughput must be positive, or -1 for unlimited.");
            }
        });
        var keys = new Option<int>("--keys")
        {
            Description = "Cycle through K distinct keys \"key-{i % K}\"; 0 = records without a key.",
            DefaultValueFactory = _ => 0,
            HelpName = "K",
        };
        keys.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--keys must not be negative.");
            }
        });
        var mode = new Option<string>("--mode")
        {
            Description = "callback: Produce with one shared delivery handler (latency via pooled per-record probes); " +
                $"await: ProduceAsync with up to {AwaitWindow} records outstanding.",
            DefaultValueFactory = _ => "callback",
        };
        mode.AcceptOnlyFromAmong("callback", "await");
        var warmup = new Option<double>("--warmup")
        {
            Description = "Seconds of sending before the measurement starts, flushed and not counted, so that the figures show the " +
                "steady state of a long-running service rather than the JIT compiling the produce path; 0 = none.",
            DefaultValueFactory = _ => DefaultWarmupSeconds,
            HelpName = "SECONDS",
        };
        warmup.Validators.Add(r =>
        {
            if (!(r.GetValueOrDefault<double>() >= 0))
            {
                r.AddError("--warmup must not be negative.");
            }
        });
        var payloadFile = new Option<FileInfo>("--payload-file")
        {
            Description = "Take values from this UTF-8 file instead of random bytes: it is split at --payload-delimiter, empty " +
                "payloads are dropped, and each record takes one at random (kafka-producer-perf-test's option). Give this or --record-size.",
            HelpName = "FILE",
        };
        payloadFile.AcceptExistingOnly();
        var payloadDelimiter = new Option<string>("--payload-delimiter")
        {
            Description = "What separates the payloads of --payload-file (default: a line break).",
            DefaultValueFactory = _ => "\n",
            HelpName = "DELIMITER",
        };
        var printMetrics = new Option<bool>("--print-metrics")
        {
            Description = "At the end, print the producer's final counters and state, and every instrument of the Samsa meter, as " +
                "kafka-producer-perf-test prints its metrics (name : value lines; with --json, a \"metrics\" object).",
        };
        var observe = new Option<bool>("--observe")
        {
            Description = "Run under observation, as an application with OpenTelemetry does: a listener takes every measurement of the " +
                "Samsa meter, and a tracer that samples nothing listens to the Samsa activity source (measures what that costs).",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object instead of the human output on stdout: records, errors, seconds, " +
                "records_per_sec, mb_per_sec, latency_ms {avg, p50, p95, p99, p999, max}, cpu_seconds, allocated_bytes, " +
                "resident_before_producer_bytes, peak_resident_bytes (the process's working set before the producer was built, and its peak), buffer_memory.",
        };

        var command = new Command("perf",
            "Producer benchmark: records/s, MB/s (values, 10^6 bytes) and ack latency percentiles, with progress every 2 s. " +
            "Exit code 0 when every record was acknowledged.");
        command.Options.Add(topic);
        command.Options.Add(numRecords);
        command.Options.Add(recordSize);
        command.Options.Add(throughput);
        command.Options.Add(keys);
        command.Options.Add(mode);
        command.Options.Add(warmup);
        command.Options.Add(json);
        command.Options.Add(payloadFile);
        command.Options.Add(payloadDelimiter);
        command.Options.Add(printMetrics);
        command.Options.Add(observe);
        settings.AddTo(command);
        command.Validators.Add(r =>
        {
            var sized = r.GetResult(recordSize) is not null;
            var payloads = r.GetResult(payloadFile) is not null;
            if (sized == payloads)
            {
                r.AddError(sized
                    ? "give --record-size or --payload-file, not both."
                    : "give --record-size S (random values of S bytes) or --payload-file FILE (values taken from the file).");
            }
        });

        command.SetAction((parseResult, ct) => RunAsync(context, new Args(
            parseResult.GetValue(topic)!,
            parseResult.GetValue(numRecords),
            Values(parseResult.GetValue(recordSize), parseResult.GetValue(payloadFile), parseResult.GetValue(payloadDelimiter)!),
            parseResult.GetValue(throughput),
            parseResult.GetValue(keys),
            parseResult.GetValue(mode) == "await" ? PerfMode.Await : PerfMode.Callback,
            TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
            parseResult.GetValue(json),
            parseResult.GetValue(printMetrics),
            parseResult.GetValue(observe),
            settings.Resolve(parseResult, "samsa-perf"))));
        return command;
    }

    private sealed record Args(string Topic, long NumRecords, byte[][] Values, double Throughput, int Keys, PerfMode Mode, TimeSpan Warmup, bool Json, bool PrintMetrics, bool Observe, ResolvedSettings Settings)
    {
        /// <summary>The mean value size, for MB/s.</summary>
        public int RecordSize { get; } = Values.Length == 0 ? 0 : (int)Math.Round(Values.Average(v => (double)v.Length));
    }

    /// <summary>The values records take: one random array of <paramref name="size"/> bytes, or the payloads of <paramref name="file"/>.</summary>
    private static byte[][] Values(int size, FileInfo? file, string delimiter)
    {
        if (file is null)
        {
            var value = new byte[size];
            new Random(42).NextBytes(value);
            return [value];
        }

        // As Kafka's tool, "\n" on the command line means a line break.
        delimiter = delimiter.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal);
        string text;
        try
        {
            text = File.ReadAllText(file.FullName, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read --payload-file '{file.FullName}': {e.Message}");
        }

        if (delimiter == "\n")
        {
            text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        }

        var payloads = text.Split(delimiter).Where(p => p.Length > 0).Select(Encoding.UTF8.GetBytes).ToArray();
        return payloads.Length > 0 ? payloads : throw new UsageException($"--payload-file '{file.FullName}' holds no payload (split at '{delimiter.Replace("\n", "\\n", StringComparison.Ordinal)}').");
    }

    private static async Task<int> RunAsync(CliContext context, Args args)
    {
        var (options, cluster) = args.Settings.Connect(context, args.Topic, inChildProcess: true);
        using var clusterScope = cluster;

        // Keys and the value are made once, so that the figures measure the producer, not the benchmark.
        var keys = new string?[Math.Max(1, args.Keys)];
        for (var k = 0; k < args.Keys; k++)
        {
            keys[k] = string.Create(CultureInfo.InvariantCulture, $"key-{k}");
        }

        var value = args.Values;

        var ct = context.Cancellation;
        var run = new PerfRun(args.Mode == PerfMode.Callback ? (int)Math.Min(args.NumRecords, MaxProbes) : 0);
        // What the process holds before the producer exists: the runtime and the benchmark's own probes.
        var residentBeforeProducer = Environment.WorkingSet;
        using var meter = args.PrintMetrics || args.Observe ? new MeterCollector(unsampledTracer: args.Observe) : null;
        var producer = new ProducerBuilder<string, byte[]>(options).SetLoggerFactory(args.Settings.Log(context)).SetCloseTimeout(TimeSpan.FromSeconds(5)).Build();
        await using (producer.ConfigureAwait(false))
        {
            await producer.ProduceAsync(new ProducerRecord<string, byte[]>(args.Topic, keys[0], value[0]), ct).ConfigureAwait(false);
            var warmedUp = await WarmUpAsync(context, producer, args, keys, value, ct).ConfigureAwait(false);

            if (!args.Json)
            {
                context.Out(string.Create(CultureInfo.InvariantCulture,
                    $"samsa perf: {args.NumRecords} records of {args.RecordSize} B to '{args.Topic}', {(args.Keys == 0 ? "no keys" : $"{args.Keys} keys")}, " +
                    $"mode={args.Mode.ToString().ToLowerInvariant()}, warm-up {args.Warmup.TotalSeconds:0.#} s ({warmedUp} records, not counted), acks={AcksName(options.Acks)}, compression={options.CompressionType.ToString().ToLowerInvariant()}, " +
                    $"throughput={(args.Throughput > 0 ? args.Throughput.ToString(CultureInfo.InvariantCulture) + " records/s" : "unlimited")}"));
            }

            var process = Process.GetCurrentProcess();
            GC.Collect();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(true);
            var start = Stopwatch.GetTimestamp();
            var progress = args.Json ? null : new Progress(context, run, args.RecordSize, start);
            using var timer = progress is null ? null : new Timer(static s => ((Progress)s!).Report(), progress, ProgressInterval, ProgressInterval);

            var sent = await SendAsync(producer, args, keys, value, run, args.NumRecords, start, ct).ConfigureAwait(false);
            try
            {
                await producer.FlushAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            var allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            progress?.Finish();

            var result = new PerfResult(sent, run.Acknowledged, run.Failed, elapsed.TotalSeconds, args.RecordSize, run.Histogram, cpu.TotalSeconds, allocated,
                residentBeforeProducer, process.PeakWorkingSet64, options.BufferMemory);
            var metrics = args.PrintMetrics ? new MetricsReport(options.ClientId ?? "samsa-perf").AddRun(result).AddHealth(producer.GetHealth()) : null;
            if (metrics is not null)
            {
                meter!.AddTo(metrics);
            }
            if (args.Json)
            {
                context.Out(result.ToJson(metrics));
            }
            else
            {
                result.WriteHuman(context);
                metrics?.Write(context);
            }

            if (run.FirstError is { } error)
            {
                context.Error($"samsa perf: first error: {error.GetType().Name} ({error.ErrorCode}): {error.Message}");
            }

            if (ct.IsCancellationRequested)
            {
                context.Error($"samsa perf: interrupted after {sent} of {args.NumRecords} records.");
            }

            return run.Failed == 0 && run.Acknowledged == sent && sent == args.NumRecords ? ExitCodes.Success : ExitCodes.Failed;
        }
    }

    /// <summary>Sends for <see cref="Args.Warmup"/>, flushes, and returns how many records were sent.</summary>
    private static async Task<long> WarmUpAsync(CliContext context, IProducer<string, byte[]> producer, Args args, string?[] keys, byte[][] value, CancellationToken ct)
    {
        if (args.Warmup <= TimeSpan.Zero)
        {
            return 0;
        }

        var round = args.Throughput > 0 ? (int)Math.Clamp(args.Throughput / 10, 1, WarmupRound) : WarmupRound;
        var run = new PerfRun(args.Mode == PerfMode.Callback ? Math.Min(round, MaxProbes) : 0);
        var until = Stopwatch.GetTimestamp() + (long)(args.Warmup.TotalSeconds * Stopwatch.Frequency);
        long sent = 0;
        do
        {
            sent += await SendAsync(producer, args, keys, value, run, round, Stopwatch.GetTimestamp(), ct).ConfigureAwait(false);
        }
        while (Stopwatch.GetTimestamp() < until && !ct.IsCancellationRequested);

        await producer.FlushAsync(ct).ConfigureAwait(false);
        if (run.FirstError is { } error)
        {
            context.Error($"samsa perf: a warm-up record failed: {error.GetType().Name} ({error.ErrorCode}): {error.Message}");
        }

        return sent;
    }

    /// <summary>Sends <paramref name="count"/> records the way <paramref name="args"/> says, counting into <paramref name="run"/>; returns how many were sent (fewer when cancelled).</summary>
    private static async Task<long> SendAsync(IProducer<string, byte[]> producer, Args args, string?[] keys, byte[][] values, PerfRun run, long count, long start, CancellationToken ct)
    {
        // One value, or one of the payloads at random (seeded, so that runs send the same sequence).
        var pick = values.Length > 1 ? new Random(7) : null;
        long sent = 0;
        var pacer = new Pacer(args.Throughput, start);
        try
        {
            if (args.Mode == PerfMode.Callback)
            {
                for (; sent < count && !ct.IsCancellationRequested; sent++)
                {
                    var record = new ProducerRecord<string, byte[]>(args.Topic, keys[sent % keys.Length], pick is null ? values[0] : values[pick.Next(values.Length)]);
                    var probe = run.Rent();
                    if (probe is null)
                    {
                        producer.Produce(record, run.UntimedHandler);
                    }
                    else
                    {
                        probe.Start = Stopwatch.GetTimestamp();
                        producer.Produce(record, probe.Handler);
                    }

                    if (pacer.Enabled)
                    {
                        await pacer.WaitAsync(sent + 1, ct).ConfigureAwait(false);
                    }
                }
            }
            else
            {
                var windowSize = (int)Math.Min(AwaitWindow, count);
                var window = new ValueTask<DeliveryResult>[windowSize];
                var starts = new long[windowSize];
                for (; sent < count && !ct.IsCancellationRequested; sent++)
                {
                    var slot = (int)(sent % windowSize);
                    if (sent >= windowSize)
                    {
                        await run.AwaitOne(window[slot], starts[slot]).ConfigureAwait(false);
                    }

                    starts[slot] = Stopwatch.GetTimestamp();
                    // Each ValueTask in the window is awaited exactly once, in order.
#pragma warning disable CA2012
                    window[slot] = producer.ProduceAsync(new ProducerRecord<string, byte[]>(args.Topic, keys[sent % keys.Length], pick is null ? values[0] : values[pick.Next(values.Length)]), CancellationToken.None);
#pragma warning restore CA2012
                    if (pacer.Enabled)
                    {
                        await pacer.WaitAsync(sent + 1, ct).ConfigureAwait(false);
                    }
                }

                var outstanding = Math.Min(sent, windowSize);
                for (var j = 0L; j < outstanding; j++)
                {
                    var slot = (int)((sent - outstanding + j) % windowSize);
                    await run.AwaitOne(window[slot], starts[slot]).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Interrupted while pacing: report what was sent.
        }

        return sent;
    }

    private static string AcksName(Acks acks) => acks switch
    {
        Acks.All => "all",
        Acks.None => "0",
        _ => ((short)acks).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Sleeps when ahead of the target rate; never spins.</summary>
    private sealed class Pacer(double recordsPerSecond, long start)
    {
        private static readonly long MinSleepTicks = Stopwatch.Frequency / 1000; // 1 ms

        public bool Enabled { get; } = recordsPerSecond > 0;

        public Task WaitAsync(long sent, CancellationToken ct)
        {
            var due = start + (long)(sent / recordsPerSecond * Stopwatch.Frequency);
            var ahead = due - Stopwatch.GetTimestamp();
            return ahead < MinSleepTicks
                ? Task.CompletedTask
                : Task.Delay(TimeSpan.FromSeconds(ahead / (double)Stopwatch.Frequency), ct);
        }
    }
}

/// <summary>A record's send timestamp and a handler bound to it once; reused through <see cref="PerfRun"/>'s pool.</summary>
internal sealed class Probe
{
    public Probe(PerfRun run) => Handler = report => run.OnTimed(this, report);

    public long Start;

    public Action<DeliveryReport> Handler { get; }
}

/// <summary>The counters, the histogram and the probe pool of one perf run.</summary>
internal sealed class PerfRun
{
    private readonly Lock _poolLock = new();
    private readonly Probe[] _pool;
    private int _free;
    private long _acknowledged;
    private long _failed;
    private KafkaException? _firstError;

    public PerfRun(int probes)
    {
        _pool = new Probe[probes];
        for (var i = 0; i < probes; i++)
        {
            _pool[i] = new Probe(this);
        }

        _free = probes;
        UntimedHandler = OnUntimed;
    }

    public LatencyHistogram Histogram { get; } = new();

    public Action<DeliveryReport> UntimedHandler { get; }

    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public long Failed => Interlocked.Read(ref _failed);

    public KafkaException? FirstError => Volatile.Read(ref _firstError);

    public Probe? Rent()
    {
        lock (_poolLock)
        {
            return _free == 0 ? null : _pool[--_free];
        }
    }

    public void OnTimed(Probe probe, DeliveryReport report)
    {
        var start = probe.Start;
        lock (_poolLock)
        {
            _pool[_free++] = probe;
        }

        if (report.IsSuccess)
        {
            Histogram.RecordSince(start);
            Interlocked.Increment(ref _acknowledged);
        }
        else
        {
            Fail(report.Error!);
        }
    }

    public async ValueTask AwaitOne(ValueTask<DeliveryResult> pending, long start)
    {
        try
        {
            await pending.ConfigureAwait(false);
            Histogram.RecordSince(start);
            Interlocked.Increment(ref _acknowledged);
        }
        catch (KafkaException e)
        {
            Fail(e);
        }
    }

    private void OnUntimed(DeliveryReport report)
    {
        if (report.IsSuccess)
        {
            Interlocked.Increment(ref _acknowledged);
        }
        else
        {
            Fail(report.Error!);
        }
    }

    private void Fail(KafkaException error)
    {
        Interlocked.Increment(ref _failed);
        Interlocked.CompareExchange(ref _firstError, error, null);
    }
}

/// <summary>Progress every 2 s: a live line on a terminal, plain lines otherwise.</summary>
internal sealed class Progress(CliContext context, PerfRun run, int recordSize, long start)
{
    private readonly Lock _gate = new();
    private long _lastTimestamp = start;
    private long _lastAcked;
    private long _lastLatencyCount;
    private long _lastLatencySum;
    private int _lastWidth;
    private bool _finished;

    public void Report()
    {
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            var now = Stopwatch.GetTimestamp();
            var acked = run.Acknowledged;
            var latencyCount = run.Histogram.Count;
            var latencySum = run.Histogram.SumMicros;
            var seconds = (now - _lastTimestamp) / (double)Stopwatch.Frequency;
            var rate = seconds > 0 ? (acked - _lastAcked) / seconds : 0;
            var samples = latencyCount - _lastLatencyCount;
            var avgMs = samples > 0 ? (latencySum - _lastLatencySum) / (double)samples / 1000 : 0;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{acked,12:N0} records acked, {rate,12:N1} records/s ({rate * recordSize / 1e6,8:F2} MB/s), {avgMs,9:F2} ms avg latency, {run.Failed} errors");
            (_lastTimestamp, _lastAcked, _lastLatencyCount, _lastLatencySum) = (now, acked, latencyCount, latencySum);

            if (context.StdoutIsTerminal)
            {
                var padding = Math.Max(0, _lastWidth - line.Length);
                _lastWidth = line.Length;
                context.Out("\r" + line + new string(' ', padding), newLine: false);
            }
            else
            {
                context.Out(line);
            }
        }
    }

    public void Finish()
    {
        lock (_gate)
        {
            _finished = true;
            if (context.StdoutIsTerminal && _lastWidth > 0)
            {
                context.Out("");
            }
        }
    }
}

/// <summary>The figures of a finished run, as text or as one JSON object.</summary>
internal sealed record PerfResult(long Records, long Acknowledged, long Errors, double Seconds, int RecordSize, LatencyHistogram Latency, double CpuSeconds, long AllocatedBytes,
    long ResidentBeforeProducerBytes, long PeakResidentBytes, long BufferMemory)
{
    public double RecordsPerSecond => Seconds > 0 ? Acknowledged / Seconds : 0;

    public double MegabytesPerSecond => RecordsPerSecond * RecordSize / 1e6;

    public string ToJson(MetricsReport? metrics = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("records", Records);
            w.WriteNumber("errors", Errors);
            w.WriteNumber("seconds", Math.Round(Seconds, 6));
            w.WriteNumber("records_per_sec", Math.Round(RecordsPerSecond, 1));
            w.WriteNumber("mb_per_sec", Math.Round(MegabytesPerSecond, 3));
            w.WriteStartObject("latency_ms");
            w.WriteNumber("avg", Math.Round(Latency.AverageMs, 3));
            w.WriteNumber("p50", Latency.PercentileMs(0.50));
            w.WriteNumber("p95", Latency.PercentileMs(0.95));
            w.WriteNumber("p99", Latency.PercentileMs(0.99));
            w.WriteNumber("p999", Latency.PercentileMs(0.999));
            w.WriteNumber("max", Latency.MaxMs);
            w.WriteEndObject();
            w.WriteNumber("cpu_seconds", Math.Round(CpuSeconds, 3));
            w.WriteNumber("allocated_bytes", AllocatedBytes);
            w.WriteNumber("resident_before_producer_bytes", ResidentBeforeProducerBytes);
            w.WriteNumber("peak_resident_bytes", PeakResidentBytes);
            w.WriteNumber("buffer_memory", BufferMemory);
            if (metrics is not null)
            {
                w.WriteStartObject("metrics");
                foreach (var (name, value) in metrics.Metrics)
                {
                    w.WriteNumber(name, value);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public void WriteHuman(CliContext context)
    {
        var c = CultureInfo.InvariantCulture;
        var unacknowledged = Records - Acknowledged - Errors;
        context.Out(string.Create(c, $"records:          {Records:N0} sent, {Acknowledged:N0} acknowledged, {Errors:N0} errors{(unacknowledged > 0 ? $", {unacknowledged:N0} never reported" : "")}"));
        context.Out(string.Create(c, $"elapsed:          {Seconds:F3} s"));
        context.Out(string.Create(c, $"throughput:       {RecordsPerSecond:N1} records/s, {MegabytesPerSecond:F2} MB/s"));
        context.Out(string.Create(c,
            $"latency (ms):     avg {Latency.AverageMs:F2}, p50 {Latency.PercentileMs(0.50):F2}, p95 {Latency.PercentileMs(0.95):F2}, " +
            $"p99 {Latency.PercentileMs(0.99):F2}, p99.9 {Latency.PercentileMs(0.999):F2}, max {Latency.MaxMs:F2} ({Latency.Count:N0} samples)"));
        context.Out(string.Create(c,
            $"cpu:              {CpuSeconds:F3} s ({(Records > 0 ? CpuSeconds * 1e6 / Records : 0):F2} µs/record, this process)"));
        context.Out(string.Create(c,
            $"allocated:        {AllocatedBytes:N0} B ({(Records > 0 ? (double)AllocatedBytes / Records : 0):F1} B/record, managed heap)"));
        context.Out(string.Create(c,
            $"resident memory:  {PeakResidentBytes / 1048576.0:F1} MiB at most, {ResidentBeforeProducerBytes / 1048576.0:F1} MiB before the producer was built " +
            $"(buffer.memory {BufferMemory / 1048576.0:F1} MiB)"));
    }
}
