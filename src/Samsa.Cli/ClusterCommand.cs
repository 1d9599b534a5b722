using System.CommandLine;
using System.Globalization;
using Samsa.Testing;

namespace Samsa.Cli;

/// <summary><c>samsa cluster</c>: an in-process mock cluster for local testing, until Ctrl+C or SIGTERM.</summary>
internal static class ClusterCommand
{
    public static Command Create(CliContext context)
    {
        var brokers = new Option<int>("--brokers")
        {
            Description = "Number of brokers (ids 1..N).",
            DefaultValueFactory = _ => 3,
            HelpName = "N",
        };
        brokers.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 64)
            {
                r.AddError("--brokers must be between 1 and 64.");
            }
        });
        var topics = new Option<string[]>("--topic", "-t")
        {
            Description = "Create a topic, NAME:PARTITIONS (repeatable). Other topics are auto-created with 4 partitions on first use.",
            HelpName = "NAME:PARTITIONS",
            Arity = ArgumentArity.ZeroOrMore,
        };
        topics.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (!TryParseTopic(token.Value, out _, out _))
                {
                    r.AddError($"--topic expects NAME:PARTITIONS with PARTITIONS >= 1, got '{token.Value}'.");
                    return;
                }
            }
        });

        var command = new Command("cluster",
            "Run librdkafka's mock cluster in this process until Ctrl+C or SIGTERM. The first stdout line is " +
            "'BOOTSTRAP host:port,...'; a description follows on stderr.");
        command.Options.Add(brokers);
        command.Options.Add(topics);
        command.SetAction((parseResult, ct) => RunAsync(context, parseResult.GetValue(brokers), parseResult.GetValue(topics) ?? []));
        return command;
    }

    private static bool TryParseTopic(string text, out string name, out int partitions)
    {
        var colon = text.LastIndexOf(':');
        name = colon > 0 ? text[..colon] : "";
        partitions = 0;
        return colon > 0
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out partitions)
            && partitions >= 1;
    }

    private static async Task<int> RunAsync(CliContext context, int brokers, string[] topics)
    {
        using var cluster = MockCluster.Start(brokers);
        foreach (var t in topics)
        {
            _ = TryParseTopic(t, out var name, out var partitions); // validated by the parser
            try
            {
                cluster.CreateTopic(name, partitions);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException($"cannot create topic '{name}': {e.Message}");
            }
        }

        context.Out($"BOOTSTRAP {cluster.BootstrapServers}");
        context.Error($"samsa cluster: librdkafka {MockCluster.NativeVersion} mock, {cluster.BrokerCount} brokers at {cluster.BootstrapServers}" +
            (topics.Length > 0 ? $"; topics {string.Join(", ", topics)}" : "") + ". Ctrl+C to stop.");

        try
        {
            await Task.Delay(Timeout.Infinite, context.Cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        context.Error("samsa cluster: stopped.");
        return ExitCodes.Success;
    }
}
