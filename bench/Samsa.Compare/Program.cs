using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Samsa.Compare;
using Samsa.IntegrationTests.Infrastructure;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// ------------------------------------------------------------------ arguments
int[] sizes = [100];
string[] codecs = ["none"];
string[] paths = ["callback", "await"];
int[] rtts = [0];
int[] partitionCounts = [6];
string? preset = null;
var rounds = 3;
long? records = null;
double? seconds = null;
long maxRecords = 5_000_000;
var warmup = 20_000;
var window = 20_000;
var sampleEvery = 64;
var cli = ClusterProcess.DefaultCliPath();
var output = "compare-results";
var observeMeter = false;
var observeTracer = false;
var rootSpans = false;
for (var a = 0; a < args.Length; a++)
{
    string Next() => a + 1 < args.Length ? args[++a] : throw new ArgumentException($"{args[a]} needs a value");
    switch (args[a])
    {
        case "--full": sizes = [100, 1000]; codecs = ["none", "gzip", "snappy", "lz4", "zstd"]; break;
        case "--matrix" or "--quick": preset = args[a][2..]; break;
        case "--sizes": sizes = Next().Split(',').Select(int.Parse).ToArray(); break;
        case "--codecs": codecs = Next().Split(',').Select(s => s.Trim().ToLowerInvariant()).ToArray(); break;
        case "--paths": paths = Next().Split(',').Select(s => s.Trim().ToLowerInvariant()).ToArray(); break;
        case "--rtt": rtts = Next().Split(',').Select(int.Parse).ToArray(); break;
        case "--partitions": partitionCounts = Next().Split(',').Select(int.Parse).ToArray(); break;
        case "--rounds": rounds = int.Parse(Next()); break;
        case "--records": records = long.Parse(Next()); break;
        case "--seconds": seconds = double.Parse(Next()); break;
        case "--max-records": maxRecords = long.Parse(Next()); break;
        case "--warmup": warmup = int.Parse(Next()); break;
        case "--window": window = int.Parse(Next()); break;
        case "--sample-every": sampleEvery = int.Parse(Next()); break;
        case "--cli": cli = Next(); break;
        case "--out": output = Next(); break;
        case "--observe": observeMeter = observeTracer = true; break;
        case "--observe-meter": observeMeter = true; break;
        case "--observe-tracer": observeTracer = true; break;
        case "--root-spans": rootSpans = true; break;
        case "-h" or "--help":
            Console.WriteLine("""
                Samsa vs Confluent.Kafka, alternating A B A B against a mock cluster per cell (samsa cluster, 3 brokers, own process).
                  --sizes 100,1000        value sizes in bytes (default 100)
                  --codecs none,lz4       none,gzip,snappy,lz4,zstd (default none)
                  --paths callback,await  (default both)
                  --rtt 0,10              round trip added by every broker, ms (default 0)
                  --partitions 6,300      partitions of each run's topic (default 6)
                  --matrix                the whole matrix of issue 9 (54 cells; the options above are ignored), 1 s per run
                  --quick                 8 cells of it for development, 0.3 s per run
                  --rounds N              rounds per client and cell (default 3)
                  --records N             measured records per run (default 500000, unless --seconds, --matrix or --quick)
                  --seconds S             instead, send for S seconds per run, then wait for the acks
                  --max-records N         cap of a run sent for --seconds (default 5000000)
                  --warmup N              records sent first in each run, not counted (default 20000)
                  --window N              ProduceAsync records outstanding (default 20000)
                  --sample-every N        callback path: latency of 1 record in N (default 64)
                  --full                  sizes 100,1000 x all five codecs
                  --cli PATH              Samsa.Cli.dll (default: the one built with this project)
                  --out PREFIX            writes PREFIX.json and PREFIX.md (default compare-results)
                  --observe               Samsa runs under the OpenTelemetry SDK: a MeterProvider on the Samsa meter (every
                                          instrument aggregated) and a TracerProvider on the Samsa source that samples nothing
                  --observe-meter, --observe-tracer   only one of the two
                  --root-spans            Samsa runs with samsa.tracing.root.spans=true: its records, produced under no
                                          activity, are offered to the tracer (each a root span)
                """);
            return 0;
        default: throw new ArgumentException($"unknown argument {args[a]} (see --help)");
    }
}

if (paths.Any(p => p is not ("callback" or "await")) || codecs.Any(c => c is not ("none" or "gzip" or "snappy" or "lz4" or "zstd"))
    || rtts.Any(r => r < 0) || partitionCounts.Any(p => p < 1) || rounds < 1 || records < 1 || seconds <= 0 || maxRecords < 1
    || window < 1 || sampleEvery < 1)
{
    Console.Error.WriteLine("bad arguments (see --help)");
    return 2;
}

// ------------------------------------------------------------------ Confluent's librdkafka
string librdkafka;
try
{
    librdkafka = ConfluentLoader.EnsureLoaded();
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"FAIL: {e.Message}");
    return 3;
}

Console.WriteLine($"Confluent.Kafka {typeof(Confluent.Kafka.Library).Assembly.GetName().Version}, librdkafka {Confluent.Kafka.Library.VersionString} (Library.VersionString), Samsa {typeof(Samsa.ProducerOptions).Assembly.GetName().Version}");
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}");

var cells = preset switch
{
    "matrix" => Matrix.Full(),
    "quick" => Matrix.Quick(),
    _ => (from size in sizes from codec in codecs from rtt in rtts from partitions in partitionCounts from path in paths
          select new Cell(path, size, codec, rtt, partitions)).ToList(),
};

// A fixed count by default, as the published figures were taken; a time budget for the presets, so that the
// matrix's cells (0.05 to 3+ M records/s) all take about as long and the whole matrix fits in 15 minutes.
var timed = records is null && (seconds is not null || preset is not null);
var settings = new RunSettings(timed ? null : records ?? 500_000, seconds ?? (preset == "quick" ? 0.3 : 1.0), maxRecords, warmup, window, sampleEvery, rootSpans);
Console.WriteLine((timed ? $"{settings.Seconds:0.##} s of sending per run (at most {maxRecords:N0} records), then the acks" : $"{settings.Records:N0} records per run")
    + $" (+{warmup:N0} warm-up), 1000 keys, acks=all, idempotent, linger 5 ms, {rounds} rounds, A B A B; {cells.Count} cells, a fresh cluster for each");

// What an application under OpenTelemetry attaches; Confluent.Kafka has no instruments, so only Samsa pays for it.
var observe = observeMeter || observeTracer;
using var meterProvider = observeMeter
    ? OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(Samsa.SamsaTelemetry.MeterName).AddInMemoryExporter(new List<OpenTelemetry.Metrics.Metric>()).Build()
    : null;
using var tracerProvider = observeTracer
    ? OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddSource(Samsa.SamsaTelemetry.ActivitySourceName).SetSampler(new OpenTelemetry.Trace.AlwaysOffSampler()).Build()
    : null;
if (observe)
{
    Console.WriteLine($"Samsa observed: OpenTelemetry{(observeMeter ? " MeterProvider (Samsa meter)" : "")}{(observeTracer ? " TracerProvider (Samsa source, AlwaysOffSampler)" : "")}{(rootSpans ? "; samsa.tracing.root.spans=true" : "")}");
}

var results = new List<RunResult>();
var elapsed = Stopwatch.StartNew();
for (var n = 0; n < cells.Count; n++)
{
    var cell = cells[n];
    // A cluster per cell: its own round trip, and the batches the mock keeps (up to ~5 MB per partition) are
    // freed after each cell instead of piling up over the whole matrix. A fresh topic per run.
    var topics = Enumerable.Range(0, rounds * 2).Select(i => $"bench-{n}-{i}").ToArray();
    using var cluster = ClusterProcess.Start(cli, topics.Select(t => $"{t}:{cell.Partitions}"), cell.RttMs);
    var run = new RunConfig(cell, settings, cluster.BootstrapServers);
    var next = 0;
    for (var r = 1; r <= rounds; r++)
    {
        foreach (var client in new[] { "Samsa", "Confluent" })
        {
            var topic = topics[next++];
            var res = client == "Samsa" ? await Runners.SamsaAsync(run, r, topic) : await Runners.ConfluentAsync(run, r, topic);
            results.Add(res);
            Console.WriteLine($"  {cell} round {r} {client,-9}: {res.RecordsPerSec,10:N0} rec/s {res.MBPerSec,7:F1} MB/s {res.CpuUsPerRecord,6:F2} µs/rec {res.AllocBytesPerRecord,7:F1} B/rec p99 {res.P99Ms,7:F2} ms  {res.Records,9:N0} rec  errors {res.Errors}{(res.QueueFullRetries > 0 ? $"  queue-full retries {res.QueueFullRetries}" : "")}");
        }
    }

    Console.WriteLine($"cell {n + 1}/{cells.Count} done, {elapsed.Elapsed:mm\\:ss} elapsed");
}

// ------------------------------------------------------------------ summary
static double Median(IEnumerable<double> values)
{
    var v = values.OrderBy(x => x).ToArray();
    return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

var summary = new List<Dictionary<string, object>>();
var md = new StringBuilder();
md.AppendLine($"librdkafka {librdkafka}; {(observe ? "Samsa under OpenTelemetry (meter on every instrument, tracer sampling nothing); " : "")}{(rootSpans ? "samsa.tracing.root.spans=true; " : "")}{(timed ? $"{settings.Seconds:0.##} s of sending per run" : $"{settings.Records:N0} records per run")}, {rounds} rounds, medians over rounds; " +
    "S = Samsa, C = Confluent.Kafka, ratio = Samsa records/s ÷ Confluent records/s.").AppendLine();
md.AppendLine("| path | value | codec | rtt | partitions | records/s S | records/s C | **ratio** | MB/s S | MB/s C | CPU µs/rec S | CPU µs/rec C | alloc B/rec S | alloc B/rec C | p99 ms S | p99 ms C | errors S/C |");
md.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
Console.WriteLine();
Console.WriteLine($"{"cell",-36} {"client",-9} {"records/s",10} {"MB/s",7} {"µs/rec",6} {"B/rec",7} {"p99 ms",7} {"errors",6}");
foreach (var cell in cells)
{
    var med = new Dictionary<string, (double Rps, double Mbps, double Cpu, double Alloc, double P99, long Errors)>();
    foreach (var client in new[] { "Samsa", "Confluent" })
    {
        var rs = results.Where(x => x.Client == client && x.Path == cell.Path && x.ValueSize == cell.ValueSize && x.Codec == cell.Codec
            && x.RttMs == cell.RttMs && x.Partitions == cell.Partitions).ToList();
        med[client] = (Median(rs.Select(x => x.RecordsPerSec)), Median(rs.Select(x => x.MBPerSec)), Median(rs.Select(x => x.CpuUsPerRecord)),
            Median(rs.Select(x => x.AllocBytesPerRecord)), Median(rs.Select(x => x.P99Ms)), rs.Sum(x => x.Errors));
        var m = med[client];
        Console.WriteLine($"{cell,-36} {client,-9} {m.Rps,10:N0} {m.Mbps,7:F1} {m.Cpu,6:F2} {m.Alloc,7:F1} {m.P99,7:F2} {m.Errors,6}");
    }

    var s = med["Samsa"];
    var c = med["Confluent"];
    var ratio = (Rps: s.Rps / c.Rps, Cpu: s.Cpu / c.Cpu, Alloc: s.Alloc / c.Alloc, P99: s.P99 / c.P99);
    Console.WriteLine($"{cell,-36} {"ratio",-9} {ratio.Rps,9:F2}x {"",7} {ratio.Cpu,5:F2}x {ratio.Alloc,6:F2}x {ratio.P99,6:F2}x");
    md.AppendLine($"| {cell.Path} | {cell.ValueSize} B | {cell.Codec} | {cell.RttMs} ms | {cell.Partitions} | {s.Rps:N0} | {c.Rps:N0} | **{ratio.Rps:F2}×** | " +
        $"{s.Mbps:F1} | {c.Mbps:F1} | {s.Cpu:F2} | {c.Cpu:F2} | {s.Alloc:F1} | {c.Alloc:F1} | {s.P99:F2} | {c.P99:F2} | {s.Errors}/{c.Errors} |");

    var speedTarget = cell.Path == "callback" ? 2.0 : 3.0;
    var allocTarget = cell.Path == "callback" ? 8.0 : 16.0;
    var targets = new Dictionary<string, bool>
    {
        [$"records/s >= {speedTarget}x Confluent"] = ratio.Rps >= speedTarget,
        ["records/s >= 2x Confluent (issue 9, every cell)"] = ratio.Rps >= 2.0,
        ["CPU <= 0.5 us/record"] = s.Cpu <= 0.5,
        [$"allocated <= {allocTarget} B/record"] = s.Alloc <= allocTarget,
        ["no errors"] = s.Errors == 0,
    };
    var missed = targets.Where(t => !t.Value).Select(t => t.Key).ToList();
    Console.WriteLine($"    targets: {(missed.Count == 0 ? "all met" : "NOT met: " + string.Join("; ", missed))}");

    summary.Add(new Dictionary<string, object>
    {
        ["path"] = cell.Path, ["value_size"] = cell.ValueSize, ["codec"] = cell.Codec, ["rtt_ms"] = cell.RttMs, ["partitions"] = cell.Partitions,
        ["samsa"] = new { records_per_sec = s.Rps, mb_per_sec = s.Mbps, cpu_us_per_record = s.Cpu, alloc_bytes_per_record = s.Alloc, p99_ms = s.P99, errors = s.Errors },
        ["confluent"] = new { records_per_sec = c.Rps, mb_per_sec = c.Mbps, cpu_us_per_record = c.Cpu, alloc_bytes_per_record = c.Alloc, p99_ms = c.P99, errors = c.Errors },
        ["ratio"] = new { records_per_sec = ratio.Rps, cpu = ratio.Cpu, alloc = ratio.Alloc, p99 = ratio.P99 },
        ["targets"] = targets,
    });
}

md.AppendLine().AppendLine("Allocated bytes are the managed heap only (GC.GetTotalAllocatedBytes): librdkafka's native allocations are not counted for Confluent.Kafka.");
var json = JsonSerializer.Serialize(new
{
    librdkafka,
    dotnet = Environment.Version.ToString(),
    cores = Environment.ProcessorCount,
    settings = new
    {
        mode = preset ?? "custom", observed = observe, root_spans = rootSpans, records = settings.Records, seconds = timed ? settings.Seconds : (double?)null, max_records = maxRecords,
        warmup, window, sample_every = sampleEvery, rounds, keys = 1000, acks = "all", idempotence = true, linger_ms = 5, brokers = 3,
        mb_per_sec = "values only, 10^6 bytes", duration_seconds = elapsed.Elapsed.TotalSeconds,
    },
    summary,
    runs = results,
}, new JsonSerializerOptions { WriteIndented = true });
File.WriteAllText(output + ".json", json);
File.WriteAllText(output + ".md", md.ToString());
Console.WriteLine($"\nwrote {Path.GetFullPath(output + ".json")} and {output}.md");
Console.WriteLine("Allocated bytes: managed heap only; librdkafka's native allocations are not counted for Confluent.Kafka.");
return results.Any(r => r.Errors > 0) ? 1 : 0;
