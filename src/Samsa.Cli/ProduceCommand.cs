using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace Samsa.Cli;

/// <summary><c>samsa produce</c>: one record per line of a file or stdin.</summary>
internal static class ProduceCommand
{
    public static Command Create(CliContext context)
    {
        var settings = new ProducerSettings(withBatchingOptions: true);
        var topic = new Option<string>("--topic", "-t") { Description = "The topic to produce to.", Required = true };
        var file = new Argument<FileInfo>("FILE")
        {
            Description = "Read lines from this file (UTF-8); without it, from stdin. Each line is one record; the line ending is not part of it.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        file.AcceptExistingOnly();
        var keySeparator = new Option<string?>("--key-separator")
        {
            Description = "Split each line at the first SEP: the text before it is the key, the rest the value. " +
                "A line without SEP is NOT sent: it counts as failed (its line number is printed) and the exit code is 1. " +
                "Without this option records have no key.",
            HelpName = "SEP",
        };
        keySeparator.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.Tokens[0].Value.Length == 0)
            {
                r.AddError("--key-separator must not be empty.");
            }
        });
        var header = new Option<string[]>("--header", "-H")
        {
            Description = "A header added to every record, K=V (value UTF-8; repeatable, duplicates allowed).",
            HelpName = "K=V",
            Arity = ArgumentArity.ZeroOrMore,
        };
        header.Validators.Add(r => ProducerSettings.RequireKeyValue(r, "--header"));
        var partition = new Option<int?>("--partition", "-p")
        {
            Description = "Send every record to this partition (default: by key, or sticky spreading without a key).",
            HelpName = "N",
        };
        partition.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.GetValueOrDefault<int?>() is < 0)
            {
                r.AddError("--partition must not be negative.");
            }
        });
        var sync = new Option<bool>("--sync")
        {
            Description = "Wait for each record to be acknowledged before sending the next (slow; strict order of errors).",
        };

        var command = new Command("produce",
            "Produce one record per line of FILE (or stdin). A summary (sent, failed, elapsed) goes to stderr; " +
            "each failed record prints its line number and error. Exit code 0 only when every record was acknowledged, " +
            "1 when some failed, 2 for bad arguments or configuration.");
        command.Options.Add(topic);
        command.Arguments.Add(file);
        command.Options.Add(keySeparator);
        command.Options.Add(header);
        command.Options.Add(partition);
        command.Options.Add(sync);
        settings.AddTo(command);

        command.SetAction((parseResult, ct) => RunAsync(context, new Args(
            parseResult.GetValue(topic)!,
            parseResult.GetValue(file),
            parseResult.GetValue(keySeparator),
            parseResult.GetValue(header) ?? [],
            parseResult.GetValue(partition),
            parseResult.GetValue(sync),
            settings.Resolve(parseResult, "samsa-produce"))));
        return command;
    }

    private sealed record Args(string Topic, FileInfo? File, string? KeySeparator, string[] Headers, int? Partition, bool Sync, ResolvedSettings Settings);

    private static async Task<int> RunAsync(CliContext context, Args args)
    {
        Headers? headers = null;
        if (args.Headers.Length > 0)
        {
            // One instance shared by every record: the producer serializes headers on the calling thread
            // and never changes them.
            headers = new Headers();
            foreach (var h in args.Headers)
            {
                var eq = h.IndexOf('=', StringComparison.Ordinal);
                headers.Add(h[..eq], h[(eq + 1)..]);
            }
        }

        TextReader input;
        if (args.File is { } f)
        {
            try
            {
                input = new StreamReader(f.FullName, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read '{f.FullName}': {e.Message}");
            }
        }
        else
        {
            input = context.Stdin;
        }

        var (options, cluster) = args.Settings.Connect(context, args.Topic);
        using var clusterScope = cluster;
        using var inputScope = args.File is null ? null : input;

        long lines = 0, produced = 0, acknowledged = 0, failed = 0;
        var stopwatch = Stopwatch.StartNew();
        var producer = new ProducerBuilder<string, string>(options).Build();
        await using (producer.ConfigureAwait(false))
        {
            var ct = context.Cancellation;
            while (!ct.IsCancellationRequested)
            {
                string? line;
                try
                {
                    line = await input.ReadLineAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                if (line is null)
                {
                    break;
                }

                var lineNumber = ++lines;
                string? key = null;
                var value = line;
                if (args.KeySeparator is { } sep)
                {
                    var at = line.IndexOf(sep, StringComparison.Ordinal);
                    if (at < 0)
                    {
                        failed++;
                        context.Error($"samsa: line {lineNumber}: no key separator '{sep}' found; line not sent.");
                        continue;
                    }

                    key = line[..at];
                    value = line[(at + sep.Length)..];
                }

                var record = new ProducerRecord<string, string>(args.Topic, key, value) { Headers = headers };
                if (args.Partition is { } p)
                {
                    record = record with { Partition = p };
                }

                produced++;
                if (args.Sync)
                {
                    try
                    {
                        await producer.ProduceAsync(record, CancellationToken.None).ConfigureAwait(false);
                        acknowledged++;
                    }
                    catch (KafkaException e)
                    {
                        failed++;
                        context.Error($"samsa: line {lineNumber}: {e.Message}");
                    }
                }
                else
                {
                    producer.Produce(record, report =>
                    {
                        if (report.IsSuccess)
                        {
                            Interlocked.Increment(ref acknowledged);
                        }
                        else
                        {
                            Interlocked.Increment(ref failed);
                            context.Error($"samsa: line {lineNumber}: {report.Error!.Message}");
                        }
                    });
                }
            }

            await producer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }

        stopwatch.Stop();
        var acked = Interlocked.Read(ref acknowledged);
        var fail = Interlocked.Read(ref failed);
        var unreported = produced - acked - (fail - (lines - produced));
        var interrupted = context.Cancellation.IsCancellationRequested ? " (interrupted)" : "";
        context.Error(string.Create(CultureInfo.InvariantCulture,
            $"samsa produce: {acked} records sent, {fail} failed{(unreported > 0 ? $", {unreported} unacknowledged" : "")}, " +
            $"{lines} lines read, {stopwatch.Elapsed.TotalSeconds:F3} s{interrupted}."));
        return fail == 0 && unreported == 0 && acked == lines
            ? ExitCodes.Success
            : ExitCodes.Failed;
    }
}
