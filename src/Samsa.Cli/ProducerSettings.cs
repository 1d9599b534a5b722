using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Samsa.Testing;

namespace Samsa.Cli;

/// <summary>
/// The producer options shared by <c>produce</c> and <c>perf</c>, and how they merge into
/// <see cref="ProducerOptions"/>: explicit options override <c>-X</c>, which overrides <c>--producer.config</c>.
/// </summary>
internal sealed class ProducerSettings
{
    /// <summary>Partitions of the topic created on the embedded cluster.</summary>
    public const int EmbeddedPartitions = 6;

    /// <summary>Brokers of the embedded cluster.</summary>
    public const int EmbeddedBrokers = 3;

    public Option<string?> BootstrapServer { get; } = new("--bootstrap-server", "-b", "--broker-list")
    {
        Description = "Kafka brokers, HOST:PORT[,HOST:PORT...]. Without it (and without bootstrap.servers in -X or " +
            $"--producer.config), an embedded {EmbeddedBrokers}-broker mock cluster is started and the topic is created with {EmbeddedPartitions} partitions.",
        HelpName = "HOST:PORT[,...]",
    };

    public Option<string[]> ProducerProperty { get; } = new("--producer-property", "-X")
    {
        Description = "A producer config setting in Java form, e.g. -X linger.ms=10 (repeatable; any producer key).",
        HelpName = "key=value",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public Option<FileInfo> ProducerConfig { get; } = new("--producer.config")
    {
        Description = "A Java .properties file of producer settings. -X and the explicit options override it.",
        HelpName = "FILE",
    };

    public Option<string?> Acks { get; } = new("--acks", "--request-required-acks")
    {
        Description = "Acknowledgements the leader waits for: 0, 1 or all (producer default: all). --request-required-acks is kafka-console-producer's name.",
    };

    public Option<string?> Compression { get; } = new("--compression")
    {
        Description = "Compression codec: none, gzip, snappy, lz4 or zstd (producer default: none).",
    };

    /// <summary>kafka-console-producer's <c>--compression-codec</c>: as <see cref="Compression"/>, and gzip when given without a value.</summary>
    public Option<string?> CompressionCodec { get; } = new("--compression-codec")
    {
        Description = "kafka-console-producer's name for --compression: none, gzip, snappy, lz4 or zstd; gzip when given without a value.",
        Arity = ArgumentArity.ZeroOrOne,
        HelpName = "CODEC",
    };

    /// <summary>kafka-producer-perf-test's <c>--producer-props k=v [k=v ...]</c> (perf only: it takes every following key=value).</summary>
    public Option<string[]> ProducerProps { get; } = new("--producer-props")
    {
        Description = "kafka-producer-perf-test's form of -X: one or more key=value producer settings after one flag.",
        HelpName = "key=value",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    public Option<int?> LingerMs { get; } = new("--linger-ms")
    {
        Description = "linger.ms: how long to wait to fill a batch (producer default: 5).",
        HelpName = "N",
    };

    public Option<int?> BatchSize { get; } = new("--batch-size")
    {
        Description = "batch.size in bytes (producer default: 16384).",
        HelpName = "N",
    };

    public Option<string> LogLevel { get; } = new("--log-level")
    {
        Description = "The producer's log on stderr from this level up: trace, debug, information, warning, error, critical or none. " +
            "At warning (the default) a broker that cannot be reached is reported within seconds, not only when records time out.",
        HelpName = "LEVEL",
        DefaultValueFactory = _ => "warning",
    };

    public ProducerSettings(bool withBatchingOptions, bool withProducerProps = false)
    {
        WithBatchingOptions = withBatchingOptions;
        WithProducerProps = withProducerProps;
        Acks.AcceptOnlyFromAmong("0", "1", "all", "-1");
        Compression.AcceptOnlyFromAmong("none", "gzip", "snappy", "lz4", "zstd");
        CompressionCodec.AcceptOnlyFromAmong("none", "gzip", "snappy", "lz4", "zstd");
        ProducerProperty.Validators.Add(result => RequireKeyValue(result, "-X/--producer-property"));
        ProducerProps.Validators.Add(result => RequireKeyValue(result, "--producer-props"));
        LingerMs.Validators.Add(result => NotNegative(result, LingerMs));
        BatchSize.Validators.Add(result => NotNegative(result, BatchSize));
        ProducerConfig.AcceptExistingOnly();
        LogLevel.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && !StderrLog.LevelNames.Contains(result.Tokens[0].Value, StringComparer.OrdinalIgnoreCase))
            {
                result.AddError($"--log-level must be one of {string.Join(", ", StderrLog.LevelNames)}; got '{result.Tokens[0].Value}'.");
            }
        });
    }

    private bool WithBatchingOptions { get; }

    private bool WithProducerProps { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(BootstrapServer);
        command.Options.Add(Acks);
        command.Options.Add(Compression);
        command.Options.Add(CompressionCodec);
        if (WithBatchingOptions)
        {
            command.Options.Add(LingerMs);
            command.Options.Add(BatchSize);
        }

        command.Options.Add(ProducerProperty);
        if (WithProducerProps)
        {
            command.Options.Add(ProducerProps);
        }

        command.Options.Add(ProducerConfig);
        command.Options.Add(LogLevel);
    }

    /// <summary>Adds a "must be key=value" validator (also used for --header).</summary>
    public static void RequireKeyValue(OptionResult result, string name)
    {
        foreach (var token in result.Tokens)
        {
            var eq = token.Value.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                result.AddError($"{name} expects key=value, got '{token.Value}'.");
                return;
            }
        }
    }

    private static void NotNegative(OptionResult result, Option<int?> option)
    {
        if (result.Tokens.Count > 0 && result.GetValueOrDefault<int?>() is < 0)
        {
            result.AddError($"{option.Name} must not be negative.");
        }
    }

    /// <summary>
    /// Merges file, -X and explicit options (in rising precedence) into Java properties, and parses them
    /// (unknown keys and bad values throw <see cref="ConfigException"/> here, before any cluster starts).
    /// </summary>
    public ResolvedSettings Resolve(ParseResult parseResult, string clientId)
    {
        var properties = new List<KeyValuePair<string, string>> { new("client.id", clientId) };

        if (parseResult.GetValue(ProducerConfig) is { } file)
        {
            try
            {
                properties.AddRange(JavaProperties.Load(file.FullName));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                throw new UsageException($"cannot read --producer.config '{file.FullName}': {e.Message}");
            }
        }

        var settings = parseResult.GetValue(ProducerProperty) ?? [];
        if (WithProducerProps)
        {
            settings = [.. settings, .. parseResult.GetValue(ProducerProps) ?? []];
        }

        foreach (var kv in settings)
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            properties.Add(new(kv[..eq].Trim(), kv[(eq + 1)..].Trim()));
        }

        void Explicit(string key, string? value)
        {
            if (value is not null)
            {
                properties.Add(new(key, value));
            }
        }

        Explicit(ProducerConfigKeys.BootstrapServers, parseResult.GetValue(BootstrapServer));
        Explicit("acks", parseResult.GetValue(Acks));
        if (parseResult.GetResult(CompressionCodec) is { } codec)
        {
            Explicit("compression.type", codec.Tokens.Count == 0 ? "gzip" : codec.Tokens[0].Value);
        }

        Explicit("compression.type", parseResult.GetValue(Compression));
        if (WithBatchingOptions)
        {
            Explicit("linger.ms", parseResult.GetValue(LingerMs)?.ToString(CultureInfo.InvariantCulture));
            Explicit("batch.size", parseResult.GetValue(BatchSize)?.ToString(CultureInfo.InvariantCulture));
        }

        var options = ProducerOptions.FromProperties(properties);

        // Only an absent bootstrap setting means "use the embedded cluster". An empty one is a script whose variable
        // was not set: producing into a throwaway cluster would lose its records silently. librdkafka's name for it
        // (metadata.broker.list) counts as given too.
        var bootstrapKey = properties.LastOrDefault(p => LibrdkafkaConfigKeys.JavaKeyOf(p.Key) == ProducerConfigKeys.BootstrapServers).Key;
        if (bootstrapKey is not null && options.BootstrapServers.Count == 0)
        {
            var named = bootstrapKey == ProducerConfigKeys.BootstrapServers ? bootstrapKey : $"{bootstrapKey} (librdkafka's bootstrap.servers)";
            throw new UsageException(
                $"the bootstrap servers are empty (--bootstrap-server, or {named} in -X or --producer.config): " +
                "give HOST:PORT[,HOST:PORT...], or leave the option out entirely to use the embedded cluster.");
        }

        return new ResolvedSettings(options, options.BootstrapServers.Count > 0, StderrLog.ParseLevel(parseResult.GetValue(LogLevel) ?? "warning"));
    }
}

/// <summary>
/// Parsed producer options; <see cref="HasBootstrap"/> false means "use the embedded cluster". <see cref="LogLevel"/>
/// is the lowest level of the producer's log that goes to stderr.
/// </summary>
internal sealed record ResolvedSettings(ProducerOptions Options, bool HasBootstrap, LogLevel LogLevel)
{
    /// <summary>The producer's loggers: its events from <see cref="LogLevel"/> up, on the command's stderr.</summary>
    public ILoggerFactory Log(CliContext context) => new StderrLog(context, LogLevel);

    /// <summary>
    /// Starts the embedded cluster when no bootstrap servers were given (and says so on stderr), and
    /// returns the final options. The caller disposes the returned cluster (null when not started).
    /// </summary>
    /// <param name="context">The command's I/O.</param>
    /// <param name="topic">Created on the embedded cluster.</param>
    /// <param name="inChildProcess">
    /// Run the cluster as <c>samsa cluster</c> in a child process when this is a real <c>samsa</c> process
    /// (<see cref="CliContext.CanStartChildProcesses"/>), so that the mock brokers' CPU and memory are not counted
    /// as the producer's.
    /// </param>
    public (ProducerOptions Options, IDisposable? Cluster) Connect(CliContext context, string topic, bool inChildProcess = false)
    {
        var connected = ConnectCore(context, topic, inChildProcess);
        context.ProducerOptionsObserver?.Invoke(connected.Options);
        return connected;
    }

    private (ProducerOptions Options, IDisposable? Cluster) ConnectCore(CliContext context, string topic, bool inChildProcess)
    {
        if (HasBootstrap)
        {
            return (Options, null);
        }

        if (inChildProcess && context.CanStartChildProcesses && ClusterChildProcess.SelfCommand() is { } self)
        {
            var child = ClusterChildProcess.Start(self, ProducerSettings.EmbeddedBrokers, topic, ProducerSettings.EmbeddedPartitions);
            context.Error($"samsa: no --bootstrap-server given: started an embedded mock cluster in a child process ({ProducerSettings.EmbeddedBrokers} brokers " +
                $"at {child.BootstrapServers}) with topic '{topic}' ({ProducerSettings.EmbeddedPartitions} partitions); the figures are this process's, the producer's alone.");
            return (Options with { BootstrapServers = child.BootstrapServers.Split(',') }, child);
        }

        var cluster = MockCluster.Start(ProducerSettings.EmbeddedBrokers);
        try
        {
            cluster.CreateTopic(topic, ProducerSettings.EmbeddedPartitions);
        }
        catch
        {
            cluster.Dispose();
            throw;
        }

        context.Error($"samsa: no --bootstrap-server given: started an embedded mock cluster (librdkafka {MockCluster.NativeVersion}, " +
            $"{cluster.BrokerCount} brokers at {cluster.BootstrapServers}) with topic '{topic}' ({ProducerSettings.EmbeddedPartitions} partitions)" +
            (inChildProcess ? " in this process: its CPU time and allocations are counted with the producer's." : "."));
        return (Options with { BootstrapServers = cluster.BootstrapServers.Split(',') }, cluster);
    }
}
