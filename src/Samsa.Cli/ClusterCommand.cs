using System.CommandLine;
using System.Globalization;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Samsa.Testing.Tls;

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

        var rtt = new Option<int>("--rtt")
        {
            Description = "Round-trip time added by every broker, in milliseconds (the mock's own latency).",
            HelpName = "MS",
        };
        rtt.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--rtt must be >= 0.");
            }
        });
        var proxy = new Option<bool>("--proxy")
        {
            Description = "Put a proxy in front of the brokers that judges idempotence as a real broker would " +
                "(the mock does not de-duplicate) and injects network faults; BOOTSTRAP then names the proxy.",
        };

        var tls = new Option<bool>("--tls")
        {
            Description = "Put TLS in front of every broker (stunnel, i.e. OpenSSL; Debian package stunnel4) with a throwaway CA; " +
                "BOOTSTRAP then names the TLS ports, and stderr gives the CA and client certificate files and a ready client.properties.",
        };
        var tlsClientAuth = new Option<bool>("--tls-client-auth")
        {
            Description = "With --tls: require a client certificate signed by the throwaway CA (mTLS).",
        };

        var command = new Command("cluster",
            "Run librdkafka's mock cluster in this process until Ctrl+C or SIGTERM. The first stdout line is " +
            "'BOOTSTRAP host:port,...' (with --tls, 'CLIENT-CONFIG path' follows: a client.properties for it); " +
            "a description follows on stderr. Commands are then read from stdin, one " +
            "per line; each prints 'ok: <command>' or an error on stderr:" + Environment.NewLine +
            ClusterConsole.Help);
        command.Options.Add(brokers);
        command.Options.Add(topics);
        command.Options.Add(rtt);
        var untilStdinCloses = new Option<bool>("--until-stdin-closes")
        {
            Description = "Also stop when stdin ends, e.g. when the process that started the cluster exits.",
        };
        command.Options.Add(proxy);
        command.Options.Add(untilStdinCloses);
        command.Options.Add(tls);
        command.Options.Add(tlsClientAuth);
        command.Validators.Add(r =>
        {
            if (r.GetValue(tls) && r.GetValue(proxy))
            {
                r.AddError("--tls and --proxy cannot be combined.");
            }

            if (r.GetValue(tlsClientAuth) && !r.GetValue(tls))
            {
                r.AddError("--tls-client-auth needs --tls.");
            }
        });
        command.SetAction((parseResult, ct) => RunAsync(
            context, parseResult.GetValue(brokers), parseResult.GetValue(topics) ?? [], parseResult.GetValue(rtt), parseResult.GetValue(proxy),
            parseResult.GetValue(untilStdinCloses),
            parseResult.GetValue(tls) ? new TlsFrontOptions { RequireClientCertificate = parseResult.GetValue(tlsClientAuth) } : null));
        return command;
    }

    // Where the throwaway PKI's files are. The passwords are the test PKI's own, generated for this run: a client
    // needs them to open the files.
    private static void DescribeTls(CliContext context, TlsFront front)
    {
        var c = front.Certificates;
        var config = front.WriteClientProperties(front.Options.RequireClientCertificate);
        context.Out($"CLIENT-CONFIG {config}");
        context.Error(
            $"samsa cluster: TLS by stunnel (OpenSSL); throwaway certificates in {c.Directory}:\n" +
            $"  CA certificate (PEM):               {c.CaPath}\n" +
            $"  CA trust store (PKCS12):            {c.TruststorePkcs12Path} (password {c.StorePassword})\n" +
            $"  client certificate chain (PEM):     {c.ClientCertificatePath}\n" +
            $"  client key (PKCS#8 PEM):            {c.ClientKeyPath}\n" +
            $"  client key, encrypted (PKCS#8 PEM): {c.ClientEncryptedKeyPath} (password {c.KeyPassword})\n" +
            $"  client key store (PKCS12):          {c.ClientKeystorePkcs12Path} (password {c.StorePassword})\n" +
            $"  Java client settings:               {config}");
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

    private static async Task<int> RunAsync(CliContext context, int brokers, string[] topics, int rttMs, bool withProxy, bool untilStdinCloses, TlsFrontOptions? tls)
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

        for (var b = 1; b <= brokers && rttMs > 0; b++)
        {
            cluster.SetBrokerRoundTripTime(b, TimeSpan.FromMilliseconds(rttMs));
        }

        TlsFront? front;
        try
        {
            front = tls is null ? null : TlsFront.Start(cluster, tls);
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException($"cannot start the TLS front: {e.Message}");
        }

        using var frontScope = front;
        var proxy = withProxy ? KafkaProxy.Start(cluster) : null;
        try
        {
            var bootstrap = front?.BootstrapServers ?? proxy?.BootstrapServers ?? cluster.BootstrapServers;
            context.Out($"BOOTSTRAP {bootstrap}");
            context.Error($"samsa cluster: librdkafka {MockCluster.NativeVersion} mock, {cluster.BrokerCount} brokers at {cluster.BootstrapServers}" +
                (proxy is null ? "" : $", through the proxy at {proxy.BootstrapServers}") +
                (front is null ? "" : $", through TLS at {front.BootstrapServers}" + (tls!.RequireClientCertificate ? " (client certificates required)" : "")) +
                (rttMs > 0 ? $"; rtt {rttMs} ms" : "") +
                (topics.Length > 0 ? $"; topics {string.Join(", ", topics)}" : "") + ". Ctrl+C to stop.");
            if (front is not null)
            {
                DescribeTls(context, front);
            }

            var console = new ClusterConsole(context, cluster, proxy);
            // Not awaited once cancelled: a console's ReadLine may not observe cancellation. The console
            // stops touching the cluster before it is disposed (ClusterConsole.Stop).
            var consoleRun = console.RunAsync();
            var cancelled = Task.Delay(Timeout.Infinite, context.Cancellation);
            // WhenAny never throws: a cancelled delay just ends the wait.
            await Task.WhenAny(untilStdinCloses ? [consoleRun, cancelled] : [cancelled]).ConfigureAwait(false);

            console.Stop();
        }
        finally
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync().ConfigureAwait(false);
            }
        }

        context.Error("samsa cluster: stopped.");
        return ExitCodes.Success;
    }
}
