using System.CommandLine;
using System.Globalization;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Samsa.Testing.Security;
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

        var saslPlain = new Option<string[]>("--sasl-plain")
        {
            Description = "Put a SASL front before the brokers (SASL_PLAINTEXT; SASL_SSL with --tls) and let USER log in with PLAIN (repeatable); BOOTSTRAP then names the front.",
            HelpName = "USER:PASSWORD",
            Arity = ArgumentArity.ZeroOrMore,
        };
        saslPlain.Validators.Add(r => ValidateCredentials(r, scram: false));
        var saslScram = new Option<string[]>("--sasl-scram")
        {
            Description = "As --sasl-plain, with SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable).",
            HelpName = "SHA-256|SHA-512:USER:PASSWORD",
            Arity = ArgumentArity.ZeroOrMore,
        };
        saslScram.Validators.Add(r => ValidateCredentials(r, scram: true));
        var sessionLifetime = new Option<int>("--sasl-session-lifetime")
        {
            Description = "With a SASL front: sessions last this long, as a broker's connections.max.reauth.ms (clients must re-authenticate, KIP-368); 0: forever.",
            HelpName = "MS",
        };
        sessionLifetime.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--sasl-session-lifetime must be >= 0.");
            }
        });

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
        command.Options.Add(saslPlain);
        command.Options.Add(saslScram);
        command.Options.Add(sessionLifetime);
        command.Validators.Add(r =>
        {
            if (r.GetValue(sessionLifetime) > 0 && (r.GetValue(saslPlain) ?? []).Length + (r.GetValue(saslScram) ?? []).Length == 0)
            {
                r.AddError("--sasl-session-lifetime needs --sasl-plain or --sasl-scram.");
            }

            if (r.GetValue(tlsClientAuth) && !r.GetValue(tls))
            {
                r.AddError("--tls-client-auth needs --tls.");
            }
        });
        command.SetAction((parseResult, ct) => RunAsync(
            context, parseResult.GetValue(brokers), parseResult.GetValue(topics) ?? [], parseResult.GetValue(rtt), parseResult.GetValue(proxy),
            parseResult.GetValue(untilStdinCloses),
            parseResult.GetValue(tls) ? new TlsFrontOptions { RequireClientCertificate = parseResult.GetValue(tlsClientAuth) } : null,
            Front(parseResult.GetValue(saslPlain) ?? [], parseResult.GetValue(saslScram) ?? [], parseResult.GetValue(sessionLifetime))));
        return command;
    }

    private static void ValidateCredentials(System.CommandLine.Parsing.OptionResult result, bool scram)
    {
        foreach (var token in result.Tokens)
        {
            if (!TryParseCredential(token.Value, scram, out _, out _, out _))
            {
                // The value holds a password: the message does not repeat it.
                result.AddError(scram
                    ? "--sasl-scram expects SHA-256:USER:PASSWORD or SHA-512:USER:PASSWORD."
                    : "--sasl-plain expects USER:PASSWORD with a non-empty user.");
                return;
            }
        }
    }

    private static bool TryParseCredential(string text, bool scram, out string mechanism, out string user, out string password)
    {
        mechanism = "PLAIN";
        user = password = "";
        if (scram)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return false;
            }

            mechanism = text[..colon].ToUpperInvariant() switch
            {
                "SHA-256" or "SCRAM-SHA-256" => "SCRAM-SHA-256",
                "SHA-512" or "SCRAM-SHA-512" => "SCRAM-SHA-512",
                _ => "",
            };
            text = text[(colon + 1)..];
            if (mechanism.Length == 0)
            {
                return false;
            }
        }

        // The user name ends at the first ':'; the password may contain more.
        var separator = text.IndexOf(':', StringComparison.Ordinal);
        if (separator <= 0)
        {
            return false;
        }

        user = text[..separator];
        password = text[(separator + 1)..];
        return true;
    }

    private static SaslFront? Front(string[] plain, string[] scram, int sessionLifetimeMs)
    {
        if (plain.Length == 0 && scram.Length == 0)
        {
            return null;
        }

        var front = new SaslFront { SessionLifetime = TimeSpan.FromMilliseconds(sessionLifetimeMs) };
        foreach (var entry in plain)
        {
            _ = TryParseCredential(entry, scram: false, out _, out var user, out var password); // validated by the parser
            front.AddPlainUser(user, password);
        }

        foreach (var entry in scram)
        {
            _ = TryParseCredential(entry, scram: true, out var mechanism, out var user, out var password);
            front.AddScramUser(mechanism, user, password);
        }

        return front;
    }

    // Users and mechanisms only: the passwords were given on the command line and are not printed back.
    private static string DescribeSasl(SaslFront front) =>
        string.Join(", ", front.EnabledMechanisms) + (front.SessionLifetime > TimeSpan.Zero ? $", sessions of {front.SessionLifetime.TotalMilliseconds:0} ms" : "");

    // Where the throwaway PKI's files are. The passwords are the test PKI's own, generated for this run: a client
    // needs them to open the files.
    private static void DescribeTls(CliContext context, TlsFront front, SaslFront? sasl)
    {
        var c = front.Certificates;
        var config = front.WriteClientProperties(front.Options.RequireClientCertificate);
        if (sasl is not null)
        {
            // SASL_SSL; the credentials are the ones given on the command line, so the file names the mechanism only.
            var text = File.ReadAllText(config).Replace("security.protocol=SSL\n", "security.protocol=SASL_SSL\n", StringComparison.Ordinal);
            File.WriteAllText(config, text + $"sasl.mechanism={sasl.EnabledMechanisms[0]}\n# sasl.jaas.config=... username=\"<USER>\" password=\"<PASSWORD>\"; (as given to --sasl-*)\n");
        }

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

    private static async Task<int> RunAsync(CliContext context, int brokers, string[] topics, int rttMs, bool withProxy, bool untilStdinCloses, TlsFrontOptions? tls, SaslFront? sasl)
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

        // The proxy (with its SASL front) sits next to the brokers, TLS in front of it: client -> TLS -> SASL -> mock.
        var proxy = withProxy || sasl is not null ? KafkaProxy.Start(cluster, sasl) : null;
        TlsFront? front = null;
        try
        {
            try
            {
                front = tls is null ? null : TlsFront.Start(cluster, tls, proxy);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException($"cannot start the TLS front: {e.Message}");
            }

            var bootstrap = front?.BootstrapServers ?? proxy?.BootstrapServers ?? cluster.BootstrapServers;
            context.Out($"BOOTSTRAP {bootstrap}");
            context.Error($"samsa cluster: librdkafka {MockCluster.NativeVersion} mock, {cluster.BrokerCount} brokers at {cluster.BootstrapServers}" +
                (proxy is null ? "" : $", through the proxy at {proxy.BootstrapServers}") +
                (front is null ? "" : $", through TLS at {front.BootstrapServers}" + (tls!.RequireClientCertificate ? " (client certificates required)" : "")) +
                (sasl is null ? "" : $"; {(front is null ? "SASL_PLAINTEXT" : "SASL_SSL")}: {DescribeSasl(sasl)}") +
                (rttMs > 0 ? $"; rtt {rttMs} ms" : "") +
                (topics.Length > 0 ? $"; topics {string.Join(", ", topics)}" : "") + ". Ctrl+C to stop.");
            if (front is not null)
            {
                DescribeTls(context, front, sasl);
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
            // TLS first: it gives the brokers' advertised ports back to the proxy, which gives them back to the brokers.
            front?.Dispose();
            if (proxy is not null)
            {
                await proxy.DisposeAsync().ConfigureAwait(false);
            }
        }

        context.Error("samsa cluster: stopped.");
        return ExitCodes.Success;
    }
}
