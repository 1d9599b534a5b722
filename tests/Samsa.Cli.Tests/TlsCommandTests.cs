using Samsa.Cli;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.IntegrationTests.Security;
using Samsa.Testing;
using Samsa.Testing.Tls;

namespace Samsa.Cli.Tests;

/// <summary>The CLI over TLS: <c>samsa cluster --tls</c>, and Java client.properties with ssl.* keys for produce and perf.</summary>
public sealed class TlsCommandTests
{
    [StunnelFact]
    public async Task ClusterWithTlsAndClientAuthServesProduceAndPerfThroughItsClientProperties()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var cts = new CancellationTokenSource();
        var cluster = CliApp.RunAsync(["cluster", "--brokers", "2", "--topic", "secure:2", "--tls", "--tls-client-auth"], TextReader.Null, output, error, cancellationToken: cts.Token);
        int exitCode;
        try
        {
            var lines = await WaitForLinesAsync(output, 2, cluster);
            Assert.StartsWith("BOOTSTRAP 127.0.0.1:", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("CLIENT-CONFIG ", lines[1], StringComparison.Ordinal);
            var bootstrap = lines[0]["BOOTSTRAP ".Length..].Trim();
            var config = lines[1]["CLIENT-CONFIG ".Length..].Trim();
            var folder = Path.GetDirectoryName(config)!;
            foreach (var file in new[] { "ca.pem", "truststore.p12", "client.pem", "client.key", "client-encrypted.key", "client.p12" })
            {
                Assert.Contains(Path.Combine(folder, file), error.ToString(), StringComparison.Ordinal);
                Assert.True(File.Exists(Path.Combine(folder, file)), file);
            }

            Assert.Contains("security.protocol=SSL", await File.ReadAllTextAsync(config), StringComparison.Ordinal);

            var produce = await Cli.RunWithInputAsync("a\nb\nc\n", "produce", "--producer.config", config, "-t", "secure", "--partition", "1");
            Assert.True(produce.ExitCode == 0, produce.All);
            var perf = await Cli.RunAsync("perf", "--producer.config", config, "--topic", "perf-secure", "--num-records", "2000", "--record-size", "50", "--warmup", "0", "--json");
            Assert.True(perf.ExitCode == 0, perf.All);
            Assert.Contains("\"errors\":0", perf.Stdout.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

            // Read back through the same TLS front with Confluent's consumer, as an independent TLS client.
            var reader = new Dictionary<string, string>
            {
                ["security.protocol"] = "SSL",
                ["ssl.ca.location"] = Path.Combine(folder, "ca.pem"),
                ["ssl.certificate.location"] = Path.Combine(folder, "client.pem"),
                ["ssl.key.location"] = Path.Combine(folder, "client.key"),
            };
            var read = RecordReader.ReadAll(bootstrap, "secure", 3, security: reader);
            Assert.Equal(["a", "b", "c"], read.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
            Assert.All(read, r => Assert.Equal(1, r.Partition));
            Assert.True(RecordReader.ReadAll(bootstrap, "perf-secure", 2000, security: reader).Count >= 2000);
        }
        finally
        {
            // Awaited even when the test fails: stopping the cluster stops stunnel and deletes the certificates.
            await cts.CancelAsync();
            exitCode = await cluster.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(0, exitCode);
    }

    [StunnelFact]
    public async Task ClusterWithTlsAndSaslServesSaslSslThroughItsClientPropertiesAndTheJaasLine()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var cts = new CancellationTokenSource();
        var cluster = CliApp.RunAsync(["cluster", "--brokers", "1", "--topic", "sasl-ssl:1", "--tls", "--sasl-scram", "SHA-256:lee:lee-secret"], TextReader.Null, output, error, cancellationToken: cts.Token);
        int exitCode;
        try
        {
            var lines = await WaitForLinesAsync(output, 2, cluster);
            var config = lines[1]["CLIENT-CONFIG ".Length..].Trim();
            var text = await File.ReadAllTextAsync(config);
            Assert.Contains("security.protocol=SASL_SSL", text, StringComparison.Ordinal);
            Assert.Contains("sasl.mechanism=SCRAM-SHA-256", text, StringComparison.Ordinal);
            Assert.DoesNotContain("lee-secret", text + output + error, StringComparison.Ordinal);
            Assert.Contains("SASL_SSL: SCRAM-SHA-256", error.ToString(), StringComparison.Ordinal);

            var produce = await Cli.RunWithInputAsync("a\nb\n", "produce", "--producer.config", config, "-t", "sasl-ssl",
                "-X", "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"lee\" password=\"lee-secret\";");
            Assert.True(produce.ExitCode == 0, produce.All);

            var reader = new Dictionary<string, string>
            {
                ["security.protocol"] = "SASL_SSL",
                ["ssl.ca.location"] = Path.Combine(Path.GetDirectoryName(config)!, "ca.pem"),
                ["sasl.mechanism"] = "SCRAM-SHA-256",
                ["sasl.username"] = "lee",
                ["sasl.password"] = "lee-secret",
            };
            var read = RecordReader.ReadAll(lines[0]["BOOTSTRAP ".Length..].Trim(), "sasl-ssl", 2, security: reader);
            Assert.Equal(["a", "b"], read.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
        }
        finally
        {
            await cts.CancelAsync();
            exitCode = await cluster.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(0, exitCode);
    }

    [StunnelFact]
    public async Task JavaClientPropertiesWithEverySslKindWork()
    {
        using var mock = MockCluster.Start(1);
        using var front = TlsFront.Start(mock, new TlsFrontOptions { RequireClientCertificate = true });
        var pki = front.Certificates;
        // As a Java client's file would have it, Java-only keys at their defaults included.
        var properties = Path.Combine(pki.Directory, "java-client.properties");
        await File.WriteAllTextAsync(properties, $"""
            # Java client settings
            bootstrap.servers={front.BootstrapServers}
            security.protocol=SSL
            ssl.truststore.type=PKCS12
            ssl.truststore.location={pki.TruststorePkcs12Path}
            ssl.keystore.type=PKCS12
            ssl.keystore.location={pki.ClientKeystorePkcs12Path}
            ssl.keystore.password={pki.StorePassword}
            ssl.key.password={pki.StorePassword}
            ssl.endpoint.identification.algorithm=https
            ssl.enabled.protocols=TLSv1.2,TLSv1.3
            ssl.protocol=TLSv1.3
            ssl.keymanager.algorithm=SunX509
            ssl.trustmanager.algorithm=PKIX
            key.serializer=org.apache.kafka.common.serialization.StringSerializer
            value.serializer=org.apache.kafka.common.serialization.StringSerializer
            """);

        // The trust store password comes on the command line, overriding nothing in the file.
        var run = await Cli.RunWithInputAsync("x\ny\n", "produce", "--producer.config", properties, "-X", $"ssl.truststore.password={pki.StorePassword}", "-t", "java");
        Assert.True(run.ExitCode == 0, run.All);
    }

    [StunnelFact]
    public async Task RefusalsAndBadStoresSayWhyWithoutSecretsOrStackTraces()
    {
        using var mock = MockCluster.Start(1);
        using var front = TlsFront.Start(mock, new TlsFrontOptions { RequireClientCertificate = true });
        var pki = front.Certificates;

        // No client certificate: the broker refuses; every line fails with the reason, exit code 1.
        var refused = await Cli.RunWithInputAsync("x\n", "produce", "-b", front.BootstrapServers, "-t", "t",
            "-X", "security.protocol=SSL", "-X", "ssl.truststore.type=PEM", "-X", $"ssl.truststore.location={pki.CaPath}", "-X", "max.block.ms=10000");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("requires TLS client authentication (mTLS)", refused.All, StringComparison.Ordinal);
        refused.AssertNoStackTrace();

        // A wrong key store password: a configuration error, before anything connects; the password is not echoed.
        const string WrongPassword = "wrong-password-1234";
        var bad = await Cli.RunWithInputAsync("x\n", "produce", "-b", front.BootstrapServers, "-t", "t",
            "-X", "security.protocol=SSL", "-X", "ssl.keystore.type=PKCS12", "-X", $"ssl.keystore.location={pki.ClientKeystorePkcs12Path}",
            "-X", $"ssl.keystore.password={WrongPassword}");
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
        Assert.Contains("ssl.keystore.password", bad.All, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongPassword, bad.All, StringComparison.Ordinal);
        bad.AssertNoStackTrace();
    }

    private static async Task<string[]> WaitForLinesAsync(SyncStringWriter output, int count, Task<int> running)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !running.IsCompleted)
        {
            var lines = output.ToString().Split('\n');
            if (lines.Length > count)
            {
                return lines;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"samsa cluster did not print {count} lines (exit: {(running.IsCompleted ? running.Result.ToString(System.Globalization.CultureInfo.InvariantCulture) : "running")}): {output}");
        return [];
    }
}
