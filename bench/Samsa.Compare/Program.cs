using System.Globalization;
using System.Text;
using System.Text.Json;
using Samsa.Compare;
using Samsa.IntegrationTests.Infrastructure;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// ------------------------------------------------------------------ arguments
int[] sizes = [100];
string[] codecs = ["none"];
string[] paths = ["callback", "await"];
var rounds = 3;
long records = 500_000;
var warmup = 20_000;
var window = 20_000;
var sampleEvery = 64;
var cli = ClusterProcess.DefaultCliPath();
var output = "compare-results";
for (var a = 0; a < args.Length; a++)
{
    string Next() => a + 1 < args.Length ? args[++a] : throw new ArgumentException($"{args[a]} needs a value");
    switch (args[a])
    {
        case "--full": sizes = [100, 1000]; codecs = ["none", "gzip", "snappy", "lz4", "zstd"]; break;
        case "--sizes": sizes = Next().Split(',').Select(int.Parse).ToArray(); break;
        case "--codecs": codecs = Next().Split(',').Select(s => s.Trim().ToLowerInvariant()).ToArray(); break;
        case "--paths": paths = Next().Split(',').Select(s => s.Trim().ToLowerInvariant()).ToArray(); break;
        case "--rounds": rounds = int.Parse(Next()); break;
        case "--records": records = long.Parse(Next()); break;
        case "--warmup": warmup = int.Parse(Next()); break;
        case "--window": window = int.Parse(Next()); break;
        case "--sample-every": sampleEvery = int.Parse(Next()); break;
        case "--cli": cli = Next(); break;
        case "--out": output = Next(); break;
        case "-h" or "--help":
            Console.WriteLine("""
                Samsa vs Confluent.Kafka, alternating A B A B against one mock cluster (samsa cluster, 3 brokers, own process).
                  --sizes 100,1000        value sizes in bytes (default 100)
                  --codecs none,lz4       none,gzip,snappy,lz4,zstd (default none)
                  --paths callback,await  (default both)
                  --rounds N              rounds per client and configuration (default 3)
                  --records N             measured records per run (default 500000)
                  --warmup N              records sent first in each run, not counted (default 20000)
                  --window N              ProduceAsync records outstanding (default 20000)
                  --sample-every N        callback path: latency of 1 record in N (default 64)
                  --full                  sizes 100,1000 x all five codecs
                  --cli PATH              Samsa.Cli.dll (default: the one built with this project)
                  --out PREFIX            writes PREFIX.json and PREFIX.md (default compare-results)
                """);
            return 0;
        default: throw new ArgumentException($"unknown argument {args[a]} (see --help)");
    }
}

if (paths.Any(p => p is not ("callback" or "await")) || codecs.Any(c => c is not ("none" or "gzip" or "snappy" or "lz4" or "zstd")) || rounds < 1 || records < 1 || window < 1 || sampleEvery < 1)
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

var configs = (from size in sizes from codec in codecs from path in paths select (path, size, codec)).ToList();
var topicCount = configs.Count * rounds * 2;
var topics = Enumerable.Range(0, topicCount).Select(i => $"bench-{i}").ToArray();

using var cluster = ClusterProcess.Start(cli, topics.Select(t => t + ":6"));
Console.WriteLine($"cluster: {cluster.BootstrapServers} ({topicCount} topics of 6 partitions)");
Console.WriteLine($"{records:N0} records per run (+{warmup:N0} warm-up), 1000 keys, acks=all, idempotent, linger 5 ms, {rounds} rounds, A B A B");

var results = new List<RunResult>();
var next = 0;
foreach (var (path, size, codec) in configs)
{
    var run = new RunConfig(path, size, codec, records, warmup, window, sampleEvery, cluster.BootstrapServers);
    for (var r = 1; r <= rounds; r++)
    {
        foreach (var client in new[] { "Samsa", "Confluent" })
        {
            var topic = topics[next++];
            var res = client == "Samsa" ? await Runners.SamsaAsync(run, r, topic) : await Runners.ConfluentAsync(run, r, topic);
            results.Add(res);
            Console.WriteLine($"  {path,-8} {size,5} B {codec,-6} round {r} {client,-9}: {res.RecordsPerSec,12:N0} rec/s {res.CpuUsPerRecord,7:F2} µs/rec {res.AllocBytesPerRecord,8:F1} B/rec p99 {res.P99Ms,8:F2} ms  errors {res.Errors}{(res.QueueFullRetries > 0 ? $"  queue-full retries {res.QueueFullRetries}" : "")}");
        }
    }
}

// ------------------------------------------------------------------ summary
static double Median(IEnumerable<double> values)
{
    var v = values.OrderBy(x => x).ToArray();
    return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
}

var summary = new List<Dictionary<string, object>>();
var md = new StringBuilder();
md.AppendLine($"librdkafka {librdkafka}; {records:N0} records/run, {rounds} rounds, medians over rounds.").AppendLine();
md.AppendLine("| path | value | codec | client | records/s | CPU µs/record | alloc B/record | p99 ms | errors |");
md.AppendLine("|---|---:|---|---|---:|---:|---:|---:|---:|");
Console.WriteLine();
Console.WriteLine($"{"path",-8} {"value",6} {"codec",-6} {"client",-9} {"records/s",12} {"µs/rec",8} {"B/rec",9} {"p99 ms",8} {"errors",6}");
foreach (var (path, size, codec) in configs)
{
    var med = new Dictionary<string, (double Rps, double Cpu, double Alloc, double P99, long Errors)>();
    foreach (var client in new[] { "Samsa", "Confluent" })
    {
        var rs = results.Where(x => x.Client == client && x.Path == path && x.ValueSize == size && x.Codec == codec).ToList();
        med[client] = (Median(rs.Select(x => x.RecordsPerSec)), Median(rs.Select(x => x.CpuUsPerRecord)), Median(rs.Select(x => x.AllocBytesPerRecord)), Median(rs.Select(x => x.P99Ms)), rs.Sum(x => x.Errors));
        var m = med[client];
        Console.WriteLine($"{path,-8} {size,6} {codec,-6} {client,-9} {m.Rps,12:N0} {m.Cpu,8:F2} {m.Alloc,9:F1} {m.P99,8:F2} {m.Errors,6}");
        md.AppendLine($"| {path} | {size} B | {codec} | {client} | {m.Rps:N0} | {m.Cpu:F2} | {m.Alloc:F1} | {m.P99:F2} | {m.Errors} |");
    }

    var s = med["Samsa"];
    var c = med["Confluent"];
    var ratio = (Rps: s.Rps / c.Rps, Cpu: s.Cpu / c.Cpu, Alloc: s.Alloc / c.Alloc, P99: s.P99 / c.P99);
    Console.WriteLine($"{path,-8} {size,6} {codec,-6} {"ratio",-9} {ratio.Rps,11:F2}x {ratio.Cpu,7:F2}x {ratio.Alloc,8:F2}x {ratio.P99,7:F2}x");
    md.AppendLine($"| {path} | {size} B | {codec} | **Samsa/Confluent** | **{ratio.Rps:F2}×** | {ratio.Cpu:F2}× | {ratio.Alloc:F2}× | {ratio.P99:F2}× | |");

    var speedTarget = path == "callback" ? 2.0 : 3.0;
    var allocTarget = path == "callback" ? 8.0 : 16.0;
    var targets = new Dictionary<string, bool>
    {
        [$"records/s >= {speedTarget}x Confluent"] = ratio.Rps >= speedTarget,
        ["CPU <= 0.5 us/record"] = s.Cpu <= 0.5,
        [$"allocated <= {allocTarget} B/record"] = s.Alloc <= allocTarget,
        ["no errors"] = s.Errors == 0,
    };
    foreach (var (name, met) in targets)
    {
        Console.WriteLine($"    target {name}: {(met ? "met" : "NOT met")}");
    }

    summary.Add(new Dictionary<string, object>
    {
        ["path"] = path, ["value_size"] = size, ["codec"] = codec,
        ["samsa"] = new { records_per_sec = s.Rps, cpu_us_per_record = s.Cpu, alloc_bytes_per_record = s.Alloc, p99_ms = s.P99, errors = s.Errors },
        ["confluent"] = new { records_per_sec = c.Rps, cpu_us_per_record = c.Cpu, alloc_bytes_per_record = c.Alloc, p99_ms = c.P99, errors = c.Errors },
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
    settings = new { records, warmup, window, sample_every = sampleEvery, rounds, keys = 1000, acks = "all", idempotence = true, linger_ms = 5, brokers = 3, partitions = 6 },
    summary,
    runs = results,
}, new JsonSerializerOptions { WriteIndented = true });
File.WriteAllText(output + ".json", json);
File.WriteAllText(output + ".md", md.ToString());
Console.WriteLine($"\nwrote {Path.GetFullPath(output + ".json")} and {output}.md");
Console.WriteLine("Allocated bytes: managed heap only; librdkafka's native allocations are not counted for Confluent.Kafka.");
return results.Any(r => r.Errors > 0) ? 1 : 0;
