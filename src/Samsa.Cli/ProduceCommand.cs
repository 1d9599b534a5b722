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
        var property = new Option<string[]>("--property")
        {
            Description = "kafka-console-producer's line reader settings, K=V (repeatable): parse.key=true with key.separator (default tab), " +
                "parse.headers=true with headers.delimiter (default tab), headers.separator (default ,) and headers.key.separator (default :), " +
                "null.marker (a part equal to it is null), ignore.error=true (a line missing a separator goes as it is). " +
                "A line is HEADERS<headers.delimiter>KEY<key.separator>VALUE.",
            HelpName = "K=V",
            Arity = ArgumentArity.ZeroOrMore,
        };
        property.Validators.Add(r => ProducerSettings.RequireKeyValue(r, "--property"));
        var format = new Option<string>("--format")
        {
            Description = "line: each line is a record's value (see --key-separator, --property). json: each line is one object " +
                "{\"key\": string|null, \"value\": string|null, \"headers\": {\"name\": string|null}, \"partition\": N, \"timestamp\": ms}, " +
                "every field optional; a line that is not such an object fails alone.",
            DefaultValueFactory = _ => "line",
        };
        format.AcceptOnlyFromAmong("line", "json");

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
        command.Options.Add(property);
        command.Options.Add(format);
        settings.AddTo(command);

        command.SetAction((parseResult, ct) => RunAsync(context, new Args(
            parseResult.GetValue(topic)!,
            parseResult.GetValue(file),
            CreateFormat(parseResult.GetValue(format)!, parseResult.GetValue(keySeparator), parseResult.GetValue(property) ?? []),
            parseResult.GetValue(header) ?? [],
            parseResult.GetValue(partition),
            parseResult.GetValue(sync),
            settings.Resolve(parseResult, "samsa-produce"))));
        return command;
    }

    private sealed record Args(string Topic, FileInfo? File, LineFormat Format, string[] Headers, int? Partition, bool Sync, ResolvedSettings Settings);

    /// <summary>The line format from --format, --key-separator and the console producer's --property settings.</summary>
    private static LineFormat CreateFormat(string format, string? keySeparator, string[] properties)
    {
        var settings = new Dictionary<string, string>(TextLineFormat.Defaults, StringComparer.Ordinal);
        foreach (var kv in properties)
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            var name = kv[..eq].Trim();
            if (!settings.ContainsKey(name))
            {
                throw new UsageException($"--property {name} is not a line reader setting; known: {string.Join(", ", TextLineFormat.Defaults.Keys)}.");
            }

            settings[name] = kv[(eq + 1)..];
        }

        bool Flag(string name) => settings[name].Trim().ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            var other => throw new UsageException($"--property {name} must be true or false, got '{other}'."),
        };

        var parseKey = Flag("parse.key");
        var parseHeaders = Flag("parse.headers");
        var ignoreError = Flag("ignore.error");
        foreach (var name in new[] { "key.separator", "headers.delimiter", "headers.separator", "headers.key.separator" })
        {
            if (settings[name].Length == 0)
            {
                throw new UsageException($"--property {name} must not be empty.");
            }
        }

        if (format == "json")
        {
            if (keySeparator is not null || properties.Length > 0)
            {
                throw new UsageException("--format json reads key, value and headers from each JSON line: --key-separator and --property do not apply.");
            }

            return new JsonLineFormat();
        }

        // --key-separator SEP is the short form of --property parse.key=true --property key.separator=SEP.
        var separator = keySeparator ?? (parseKey ? settings["key.separator"] : null);
        var nullMarker = settings["null.marker"].Length == 0 ? null : settings["null.marker"];
        return new TextLineFormat(separator, parseHeaders, settings["headers.delimiter"], settings["headers.separator"], settings["headers.key.separator"], nullMarker, ignoreError);
    }

    // The record's own headers (from its line), then the --header ones; the shared instance when the line has none.
    private static Headers? WithHeaders(Headers? fixedHeaders, List<(string Key, string? Value)>? own)
    {
        if (own is null || own.Count == 0)
        {
            return fixedHeaders;
        }

        var headers = new Headers();
        foreach (var (key, value) in own)
        {
            headers.Add(key, value);
        }

        foreach (var h in fixedHeaders ?? [])
        {
            headers.Add(h.Key, h.Value);
        }

        return headers;
    }

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
                if (!args.Format.TryParse(line, out var parsed, out var parseError))
                {
                    failed++;
                    context.Error($"samsa: line {lineNumber}: {parseError}.");
                    continue;
                }

                var record = new ProducerRecord<string, string>(args.Topic, parsed.Key, parsed.Value)
                {
                    Headers = WithHeaders(headers, parsed.Headers),
                    Partition = parsed.Partition ?? args.Partition,
                    Timestamp = parsed.TimestampMs is { } ms ? new Timestamp(ms, TimestampType.CreateTime) : default,
                };

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
