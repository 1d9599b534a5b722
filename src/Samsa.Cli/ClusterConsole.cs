using System.Globalization;
using Samsa.Testing;
using Samsa.Testing.Proxy;

namespace Samsa.Cli;

/// <summary>
/// The stdin commands of <c>samsa cluster</c>: faults to apply to the running cluster (and its proxy), one per
/// line, so that a script or a person can break things while a producer runs.
/// </summary>
internal sealed class ClusterConsole(CliContext context, MockCluster cluster, KafkaProxy? proxy)
{
    /// <summary>The command list, for the command's help.</summary>
    public const string Help =
        "  rtt <broker|all> <ms>                 round-trip time added by the mock broker(s)\n" +
        "  down <broker> / up <broker>           close a broker's connections and refuse new ones / undo\n" +
        "  leader <topic> <partition> <broker>   move a partition's leadership\n" +
        "  With --proxy (or a SASL front) only:\n" +
        "  latency <broker|all> <ms>             latency the proxy adds to every answer\n" +
        "  drop-response <api> <n>               swallow the answers to the next n requests of an API (e.g. Produce)\n" +
        "  close-after <api>                     close the connection of the next request of an API before its answer\n" +
        "  stall <broker|all> <ms>               stop forwarding the broker's traffic for a while\n" +
        "  oracle                                print the idempotence oracle's summary on stdout ('ORACLE ...')\n" +
        "  transactions                          print the transaction oracle's transactions on stdout ('TRANSACTIONS ...')\n" +
        "  fence <transactional-id>              fence the producer running with that id, as a new one would ('FENCED ...')\n" +
        "  With --sasl-plain/--sasl-scram only:\n" +
        "  sasl                                  print the SASL front's counters on stdout ('SASL ...')";

    private readonly Lock _gate = new();
    private bool _stopped;

    /// <summary>Executes commands until stdin ends or <see cref="Stop"/>.</summary>
    public async Task RunAsync()
    {
        try
        {
            while (await context.Stdin.ReadLineAsync(context.Cancellation).ConfigureAwait(false) is { } line)
            {
                lock (_gate)
                {
                    if (_stopped)
                    {
                        return;
                    }

                    Execute(line.Trim());
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>After this returns, no command touches the cluster or the proxy again.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
        }
    }

    private void Execute(string line)
    {
        if (line.Length == 0 || line.StartsWith('#'))
        {
            return;
        }

        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        try
        {
            switch (words[0].ToLowerInvariant())
            {
                case "rtt" when words.Length == 3:
                    foreach (var b in Brokers(words[1]))
                    {
                        cluster.SetBrokerRoundTripTime(b, Millis(words[2]));
                    }

                    break;
                case "down" when words.Length == 2:
                    cluster.SetBrokerDown(Broker(words[1]));
                    break;
                case "up" when words.Length == 2:
                    cluster.SetBrokerUp(Broker(words[1]));
                    break;
                case "leader" when words.Length == 4:
                    cluster.SetPartitionLeader(words[1], Number(words[2], "partition"), Broker(words[3]));
                    break;
                case "latency" when words.Length == 3:
                    Proxy().SetLatency(words[1] == "all" ? -1 : Broker(words[1]), Millis(words[2]));
                    break;
                case "drop-response" when words.Length == 3:
                    Proxy().DropResponses(Api(words[1]), Number(words[2], "count"));
                    break;
                case "close-after" when words.Length == 2:
                    Proxy().CloseAfterNextRequest(Api(words[1]));
                    break;
                case "stall" when words.Length == 3:
                    Proxy().Stall(words[1] == "all" ? -1 : Broker(words[1]), Millis(words[2]));
                    break;
                case "oracle" when words.Length == 1:
                    PrintOracle();
                    break;
                case "transactions" when words.Length == 1:
                    PrintTransactions();
                    break;
                case "fence" when words.Length == 2:
                    // Commands run one at a time on this console's thread; the fence is two short requests to the mock.
                    var (producerId, epoch) = Proxy().FenceAsync(words[1], context.Cancellation).GetAwaiter().GetResult();
                    context.Out($"FENCED {words[1]}: now producer id {producerId}, epoch {epoch}");
                    break;
                case "sasl" when words.Length == 1:
                    var front = Proxy().Sasl ?? throw new FormatException("this command needs a SASL front: start with --sasl-plain or --sasl-scram.");
                    context.Out($"SASL authentications {front.Authentications}, re-authentications {front.Reauthentications}, failed {front.FailedAuthentications}, " +
                        $"expired-session closures {front.ExpiredSessionClosures}, violations {front.Violations.Count}");
                    break;
                default:
                    throw new FormatException($"unknown command or wrong number of arguments: '{line}'. The commands are:{Environment.NewLine}{Help}");
            }

            context.Error($"samsa cluster: ok: {line}");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            context.Error($"samsa cluster: {e.Message}");
        }
    }

    private void PrintOracle()
    {
        var report = Proxy().Oracle.Report();
        context.Out($"ORACLE {report}");
        foreach (var b in report.Batches.Where(b => b.IsViolation))
        {
            context.Out($"ORACLE-VIOLATION {b}");
        }
    }

    private void PrintTransactions()
    {
        var report = Proxy().Transactions.Report();
        context.Out($"TRANSACTIONS {report}");
        foreach (var t in report.Transactions)
        {
            context.Out($"TRANSACTION {t}");
        }

        foreach (var v in report.Violations)
        {
            context.Out($"TRANSACTION-VIOLATION {v}");
        }
    }

    private KafkaProxy Proxy() => proxy ?? throw new FormatException("this command needs the proxy: start with --proxy.");

    private int Broker(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1 && id <= cluster.BrokerCount
            ? id
            : throw new FormatException($"broker must be 1..{cluster.BrokerCount}, got '{text}'.");

    private IEnumerable<int> Brokers(string text) => text == "all" ? Enumerable.Range(1, cluster.BrokerCount) : [Broker(text)];

    private static TimeSpan Millis(string text) => TimeSpan.FromMilliseconds(Number(text, "milliseconds"));

    private static int Number(string text, string what) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"{what} must be a number >= 0, got '{text}'.");

    /// <summary>A name (any case) or a number; any API key may be named by number, not only those with a name.</summary>
    private static KafkaApiKey Api(string text) =>
        Enum.TryParse<KafkaApiKey>(text, ignoreCase: true, out var key) && !text.Contains(',', StringComparison.Ordinal) ? key
        : throw new FormatException($"unknown API '{text}': a name such as Produce or Metadata, or a number.");
}
