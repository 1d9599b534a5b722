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
        var transactionalId = new Option<string?>("--transactional-id")
        {
            Description = "Produce in transactions with this transactional.id: every --transaction-size lines are one transaction, " +
                "committed (read_committed consumers see them) or, if a record of it fails, aborted (they never see them). " +
                "The summary gives the committed count; the exit code is 1 if any transaction aborted.",
            HelpName = "ID",
        };
        transactionalId.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.Tokens[0].Value))
            {
                r.AddError("--transactional-id must not be empty.");
            }
        });
        var transactionSize = new Option<int?>("--transaction-size")
        {
            Description = $"Lines per transaction with --transactional-id (default {DefaultTransactionSize}).",
            HelpName = "N",
        };
        transactionSize.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--transaction-size must be at least 1.");
            }
        });

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
        command.Options.Add(transactionalId);
        command.Options.Add(transactionSize);
        command.Validators.Add(r =>
        {
            if (r.GetResult(transactionSize) is { Implicit: false } && r.GetResult(transactionalId) is null or { Implicit: true })
            {
                r.AddError("--transaction-size needs --transactional-id.");
            }
        });
        settings.AddTo(command);

        command.SetAction((parseResult, ct) => RunAsync(context, new Args(
            parseResult.GetValue(topic)!,
            parseResult.GetValue(file),
            CreateFormat(parseResult.GetValue(format)!, parseResult.GetValue(keySeparator), parseResult.GetValue(property) ?? []),
            parseResult.GetValue(header) ?? [],
            parseResult.GetValue(partition),
            parseResult.GetValue(sync),
            Transactional(settings.Resolve(parseResult, "samsa-produce"), parseResult.GetValue(transactionalId)),
            parseResult.GetValue(transactionSize) ?? DefaultTransactionSize)));
        return command;
    }

    /// <summary>Lines per transaction unless --transaction-size says otherwise.</summary>
    public const int DefaultTransactionSize = 1000;

    private sealed record Args(string Topic, FileInfo? File, LineFormat Format, string[] Headers, int? Partition, bool Sync, ResolvedSettings Settings, int TransactionSize);

    /// <summary>--transactional-id wins over a transactional.id given with -X or --producer.config.</summary>
    private static ResolvedSettings Transactional(ResolvedSettings settings, string? transactionalId) =>
        transactionalId is null ? settings : settings with { Options = settings.Options with { TransactionalId = transactionalId } };

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

        if (options.TransactionalId is not null)
        {
            return await RunTransactionalAsync(context, args, options, input, headers).ConfigureAwait(false);
        }

        long lines = 0, produced = 0, acknowledged = 0, failed = 0;
        var stopwatch = Stopwatch.StartNew();
        var producer = new ProducerBuilder<string, string>(options).SetLoggerFactory(args.Settings.Log(context)).Build();
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

    /// <summary>
    /// <c>--transactional-id</c>: every <see cref="Args.TransactionSize"/> lines are one transaction. It commits once all its
    /// records are acknowledged (the commit flushes first). When a record of it fails, or the commit says the transaction
    /// must abort, it is aborted, counted, and the following lines go on in a new transaction. A fatal error (fenced by a
    /// newer producer with the same id, or the id not authorized) ends the run. Ctrl+C aborts the open transaction.
    /// </summary>
    private static async Task<int> RunTransactionalAsync(CliContext context, Args args, ProducerOptions options, TextReader input, Headers? headers)
    {
        long lines = 0, notSent = 0, committed = 0, committedTransactions = 0, abortedTransactions = 0, abortedRecords = 0;
        long failedInTransaction = 0;
        var fatal = false;
        var stopwatch = Stopwatch.StartNew();
        var ct = context.Cancellation;
        var producer = new ProducerBuilder<string, string>(options).SetLoggerFactory(args.Settings.Log(context)).Build();
        await using (producer.ConfigureAwait(false))
        {
            try
            {
                await producer.InitTransactionsAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KafkaException or OperationCanceledException)
            {
                context.Error($"samsa: InitTransactions with transactional.id '{options.TransactionalId}' failed: {e.Message}");
                return ExitCodes.Failed;
            }

            long linesInTransaction = 0, recordsInTransaction = 0, firstLine = 0;

            // Ends the open transaction; false when the producer cannot go on.
            async Task<bool> EndTransactionAsync()
            {
                var range = $"lines {firstLine}-{lines}";
                var records = recordsInTransaction;
                linesInTransaction = recordsInTransaction = 0;
                if (records == 0)
                {
                    return true; // every line of it was skipped: nothing was begun
                }

                if (Interlocked.Exchange(ref failedInTransaction, 0) == 0 && !ct.IsCancellationRequested)
                {
                    try
                    {
                        await producer.CommitTransactionAsync(CancellationToken.None).ConfigureAwait(false);
                        committedTransactions++;
                        committed += records;
                        return true;
                    }
                    catch (KafkaException e) when (!e.IsFatal)
                    {
                        context.Error($"samsa: the transaction of {range} cannot commit: {e.Message}");
                    }
                    catch (KafkaException e)
                    {
                        context.Error($"samsa: the transaction of {range} failed, and the producer cannot go on: {e.Message}");
                        abortedTransactions++;
                        abortedRecords += records;
                        return false;
                    }
                }

                try
                {
                    await producer.AbortTransactionAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (KafkaException e)
                {
                    context.Error($"samsa: aborting the transaction of {range} failed: {e.Message}");
                    abortedTransactions++;
                    abortedRecords += records;
                    return false;
                }

                abortedTransactions++;
                abortedRecords += records;
                context.Error($"samsa: aborted the transaction of {range} ({records} records): none of them becomes visible to read_committed consumers.");
                return true;
            }

            while (!fatal)
            {
                string? line;
                try
                {
                    line = ct.IsCancellationRequested ? null : await input.ReadLineAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    line = null;
                }

                if (line is null)
                {
                    break;
                }

                var lineNumber = ++lines;
                linesInTransaction++;
                if (!TryMakeRecord(context, args, line, lineNumber, headers, out var record))
                {
                    notSent++;
                }
                else
                {
                    if (recordsInTransaction++ == 0)
                    {
                        producer.BeginTransaction();
                        firstLine = lineNumber;
                    }

                    if (args.Sync)
                    {
                        try
                        {
                            await producer.ProduceAsync(record, CancellationToken.None).ConfigureAwait(false);
                        }
                        catch (KafkaException e)
                        {
                            if (Interlocked.Increment(ref failedInTransaction) == 1)
                            {
                                context.Error($"samsa: line {lineNumber}: {e.Message}");
                            }
                        }
                    }
                    else
                    {
                        producer.Produce(record, report =>
                        {
                            // The first failure says why; the transaction's later records fail for the same reason.
                            if (!report.IsSuccess && Interlocked.Increment(ref failedInTransaction) == 1)
                            {
                                context.Error($"samsa: line {lineNumber}: {report.Error!.Message}");
                            }
                        });
                    }
                }

                if (linesInTransaction == args.TransactionSize)
                {
                    fatal = !await EndTransactionAsync().ConfigureAwait(false);
                }
            }

            if (!fatal && recordsInTransaction > 0)
            {
                fatal = !await EndTransactionAsync().ConfigureAwait(false); // the last, shorter transaction; aborted on Ctrl+C
            }
        }

        stopwatch.Stop();
        var interrupted = ct.IsCancellationRequested ? " (interrupted)" : "";
        context.Error(string.Create(CultureInfo.InvariantCulture,
            $"samsa produce: {committed} records committed in {committedTransactions} transactions, " +
            $"{abortedTransactions} transactions aborted ({abortedRecords} records), {notSent} lines not sent, " +
            $"{lines} lines read, {stopwatch.Elapsed.TotalSeconds:F3} s{interrupted}."));
        return abortedTransactions == 0 && notSent == 0 && !fatal && committed == lines
            ? ExitCodes.Success
            : ExitCodes.Failed;
    }

    /// <summary>The record for one input line; false (and the reason on stderr) when the line does not parse.</summary>
    private static bool TryMakeRecord(CliContext context, Args args, string line, long lineNumber, Headers? headers, out ProducerRecord<string, string> record)
    {
        if (!args.Format.TryParse(line, out var parsed, out var parseError))
        {
            context.Error($"samsa: line {lineNumber}: {parseError}.");
            record = default;
            return false;
        }

        record = new ProducerRecord<string, string>(args.Topic, parsed.Key, parsed.Value)
        {
            Headers = WithHeaders(headers, parsed.Headers),
            Partition = parsed.Partition ?? args.Partition,
            Timestamp = parsed.TimestampMs is { } ms ? new Timestamp(ms, TimestampType.CreateTime) : default,
        };
        return true;
    }
}
