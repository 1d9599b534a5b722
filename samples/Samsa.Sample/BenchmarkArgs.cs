using System.Globalization;

namespace Samsa.Sample;

internal enum ProduceMode
{
    Callback,
    Await,
}

/// <summary>The sample's command line, parsed by hand. Bad input throws <see cref="ArgumentException"/>.</summary>
internal sealed record BenchmarkArgs
{
    public const string Usage = """
        Usage: dotnet run --project samples/Samsa.Sample -c Release -- [options]
        Produces records to topic 'demo' (6 partitions) of an embedded 3-broker mock cluster and reports throughput.

          --records N          records to produce (default 200000)
          --record-size S      value size in bytes (default 100)
          --keys K             distinct keys "key-{i % K}" (default 1000; 0 sends null keys)
          --acks all|1|0       acknowledgement level (default all)
          --compression C      none|gzip|snappy|lz4|zstd (default none)
          --mode callback|await
                               Produce with one shared delivery handler, or ProduceAsync with up to
                               10000 outstanding (default callback)
          --timeout SECONDS    give up (exit 1) if the run takes longer (default 300)
          -h, --help           show this help

        Exit codes: 0 every record acknowledged; 1 a record failed or the run timed out; 2 bad arguments.
        """;

    public int Records { get; init; } = 200_000;

    public int RecordSize { get; init; } = 100;

    public int Keys { get; init; } = 1000;

    public Acks Acks { get; init; } = Acks.All;

    public CompressionType Compression { get; init; } = CompressionType.None;

    public ProduceMode Mode { get; init; } = ProduceMode.Callback;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(300);

    public string AcksName => Acks switch
    {
        Acks.All => "all",
        Acks.Leader => "1",
        _ => "0",
    };

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "--records", "--record-size", "--keys", "--acks", "--compression", "--mode", "--timeout",
    };

    /// <summary>The parsed arguments, or null when help was asked for.</summary>
    public static BenchmarkArgs? Parse(IReadOnlyList<string> args)
    {
        var result = new BenchmarkArgs();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                return null;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{arg}'; options start with --.");
            }

            // Both "--name value" and "--name=value".
            string name;
            string? value;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg;
                value = i + 1 < args.Count ? args[++i] : null;
            }

            if (!Known.Contains(name))
            {
                throw new ArgumentException($"unknown option '{name}'.");
            }

            if (value is null)
            {
                throw new ArgumentException($"{name} needs a value.");
            }

            if (!seen.Add(name))
            {
                throw new ArgumentException($"{name} is given more than once.");
            }

            result = name switch
            {
                "--records" => result with { Records = ParseInt(name, value, 1, int.MaxValue) },
                "--record-size" => result with { RecordSize = ParseInt(name, value, 0, 1_000_000) },
                "--keys" => result with { Keys = ParseInt(name, value, 0, 10_000_000) },
                "--acks" => result with { Acks = ParseAcks(value) },
                "--compression" => result with { Compression = ParseCompression(value) },
                "--mode" => result with { Mode = ParseMode(value) },
                "--timeout" => result with { Timeout = TimeSpan.FromSeconds(ParseInt(name, value, 1, 86_400)) },
                _ => throw new ArgumentException($"unknown option '{name}'."),
            };
        }

        return result;
    }

    private static int ParseInt(string name, string text, int min, int max)
    {
        // Digits, optionally grouped with '_' or ',' (200_000, 200,000).
        var digits = text.Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        if (digits.Length == 0
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            || parsed < min
            || parsed > max)
        {
            throw new ArgumentException($"{name} must be a whole number from {min} to {max}; got '{text}'.");
        }

        return (int)parsed;
    }

    private static Acks ParseAcks(string text) => text.ToLowerInvariant() switch
    {
        "all" or "-1" => Acks.All,
        "1" => Acks.Leader,
        "0" => Acks.None,
        _ => throw new ArgumentException($"--acks must be all, 1 or 0; got '{text}'."),
    };

    private static CompressionType ParseCompression(string text) => text.ToLowerInvariant() switch
    {
        "none" => CompressionType.None,
        "gzip" => CompressionType.Gzip,
        "snappy" => CompressionType.Snappy,
        "lz4" => CompressionType.Lz4,
        "zstd" => CompressionType.Zstd,
        _ => throw new ArgumentException($"--compression must be none, gzip, snappy, lz4 or zstd; got '{text}'."),
    };

    private static ProduceMode ParseMode(string text) => text.ToLowerInvariant() switch
    {
        "callback" => ProduceMode.Callback,
        "await" => ProduceMode.Await,
        _ => throw new ArgumentException($"--mode must be callback or await; got '{text}'."),
    };
}
