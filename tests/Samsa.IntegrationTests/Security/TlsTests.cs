using Samsa.Testing.Tls;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// Samsa over TLS against a real OpenSSL server (stunnel in front of the mock cluster): every way of giving the
/// trust store and the client certificate, and each way a handshake is refused, which must fail the producer at
/// once with an <see cref="SslAuthenticationException"/> that says what to fix.
/// </summary>
public sealed class TlsTests
{
    [StunnelFact]
    public async Task PemTruststoreFileAcrossThreeBrokers()
    {
        using var bed = TlsTestBed.Start(brokers: 3);
        await bed.ProduceAndReadBackAsync(bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath)));
    }

    [StunnelFact]
    public async Task Pkcs12Truststore()
    {
        using var bed = TlsTestBed.Start();
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PKCS12"), ("ssl.truststore.location", bed.Pki.TruststorePkcs12Path), ("ssl.truststore.password", bed.Pki.StorePassword)));
    }

    [StunnelFact]
    public async Task Pkcs12TruststoreUnderJavasDefaultTypeJks()
    {
        // Java's default ssl.truststore.type is JKS, and Java 9+ reads a PKCS12 file given as JKS.
        using var bed = TlsTestBed.Start();
        await bed.ProduceAndReadBackAsync(bed.Settings(("ssl.truststore.location", bed.Pki.TruststorePkcs12Path), ("ssl.truststore.password", bed.Pki.StorePassword)));
    }

    [StunnelFact]
    public async Task InlinePemTruststoreFromAPropertiesFile()
    {
        // KIP-651's inline form, written as Java users do: the PEM continued over lines with backslashes.
        using var bed = TlsTestBed.Start();
        var continued = string.Join(" \\\n    ", bed.Pki.CaPem.Trim().Split('\n'));
        var text = $"""
            bootstrap.servers={bed.Front.BootstrapServers}
            security.protocol=SSL
            ssl.truststore.type=PEM
            ssl.truststore.certificates={continued}
            max.block.ms=15000
            """;
        await bed.ProduceAndReadBackAsync(JavaProperties.Parse(text));
    }

    [StunnelFact]
    public async Task AdvertisedHostNameIsVerifiedAndSentAsSni()
    {
        // "localhost" is a DNS name: it is sent as SNI and matched against the certificate's DNS names.
        using var bed = TlsTestBed.Start(new TlsFrontOptions { AdvertisedHost = "localhost", Certificates = new() { ServerNames = ["localhost"] } });
        await bed.ProduceAndReadBackAsync(bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath)));
    }

    [StunnelFact]
    public async Task Tls12OnlyAndChosenCipherSuite()
    {
        using var bed = TlsTestBed.Start();
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath),
            ("ssl.enabled.protocols", "TLSv1.2"), ("ssl.cipher.suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")));
    }

    [StunnelFact]
    public async Task Tls13CipherSuite()
    {
        using var bed = TlsTestBed.Start();
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath),
            ("ssl.protocol", "TLSv1.3"), ("ssl.cipher.suites", "TLS_AES_256_GCM_SHA384")));
    }

    [StunnelFact]
    public async Task MutualTlsWithInlinePemKeystore()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath),
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", bed.Pki.ClientCertificatePem), ("ssl.keystore.key", bed.Pki.ClientKeyPem)));
    }

    [StunnelFact]
    public async Task MutualTlsWithInlineEncryptedPkcs8Key()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath),
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", bed.Pki.ClientCertificatePem),
            ("ssl.keystore.key", bed.Pki.ClientEncryptedKeyPem), ("ssl.key.password", bed.Pki.KeyPassword)));
    }

    [StunnelFact]
    public async Task MutualTlsWithPemKeystoreFileAndEncryptedKey()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath),
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.location", bed.Pki.ClientKeystorePemPath), ("ssl.key.password", bed.Pki.KeyPassword)));
    }

    [StunnelFact]
    public async Task MutualTlsWithPkcs12Keystore()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true }, brokers: 3);
        await bed.ProduceAndReadBackAsync(bed.Settings(
            ("ssl.truststore.type", "PKCS12"), ("ssl.truststore.location", bed.Pki.TruststorePkcs12Path), ("ssl.truststore.password", bed.Pki.StorePassword),
            ("ssl.keystore.type", "PKCS12"), ("ssl.keystore.location", bed.Pki.ClientKeystorePkcs12Path), ("ssl.keystore.password", bed.Pki.StorePassword)));
    }

    [StunnelFact]
    public async Task MutualTlsWithoutAClientCertificateIsRefusedAndSaysSo()
    {
        // TLS 1.3: the broker checks the client certificate after the client thinks the handshake is done, and
        // refuses with an alert on the first exchange.
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        var error = await bed.ProduceRefusedAsync(bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath)));
        Assert.Contains("certificate required", error.Message, StringComparison.Ordinal);
        Assert.Contains("requires TLS client authentication (mTLS)", error.Message, StringComparison.Ordinal);
        Assert.Contains("ssl.keystore.location", error.Message, StringComparison.Ordinal);
        AssertFewConnections(bed);
    }

    [StunnelFact]
    public async Task MutualTlsWithoutAClientCertificateOverTls12IsRefusedInTheHandshake()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        var error = await bed.ProduceRefusedAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath), ("ssl.enabled.protocols", "TLSv1.2")));
        Assert.Contains("handshake failure", error.Message, StringComparison.Ordinal);
        Assert.Contains("requires TLS client authentication (mTLS)", error.Message, StringComparison.Ordinal);
        AssertFewConnections(bed);
    }

    [StunnelFact]
    public async Task ClientCertificateFromAnotherCaIsRefused()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        using var stranger = TlsCertificates.Create(new TlsCertificateOptions { CaName = "Stranger CA" });
        var error = await bed.ProduceRefusedAsync(bed.Settings(
            ("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath),
            ("ssl.keystore.type", "PKCS12"), ("ssl.keystore.location", stranger.ClientKeystorePkcs12Path), ("ssl.keystore.password", stranger.StorePassword)));
        Assert.Contains("unknown ca", error.Message, StringComparison.Ordinal);
        Assert.Contains("CN=samsa-test-client", error.Message, StringComparison.Ordinal);
    }

    [StunnelFact]
    public async Task WrongHostNameIsRefused()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { Certificates = new() { ServerNames = ["wrong.example.invalid"] } });
        var error = await bed.ProduceRefusedAsync(bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath)));
        Assert.Contains("not valid for the host name '127.0.0.1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("DNS:wrong.example.invalid", error.Message, StringComparison.Ordinal);
        Assert.Contains("ssl.endpoint.identification.algorithm", error.Message, StringComparison.Ordinal);
        AssertFewConnections(bed);
    }

    [StunnelFact]
    public async Task WrongHostNameIsAcceptedWithEndpointIdentificationOff()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { Certificates = new() { ServerNames = ["wrong.example.invalid"] } });
        var settings = bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath), ("ssl.endpoint.identification.algorithm", ""));
        var topic = $"noverify-{Guid.NewGuid():N}";
        await using var producer = new ProducerBuilder<string, string>(settings).Build();
        var result = await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v"));
        Assert.True(result.Offset >= 0);
    }

    [StunnelFact]
    public async Task UntrustedCaIsRefused()
    {
        using var bed = TlsTestBed.Start();
        using var other = TlsCertificates.Create(new TlsCertificateOptions { CaName = "Other CA" });
        var error = await bed.ProduceRefusedAsync(bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", other.CaPath)));
        Assert.Contains("is not signed by a CA in the trust store", error.Message, StringComparison.Ordinal);
        Assert.Contains("CN=Other CA", error.Message, StringComparison.Ordinal);
        Assert.Contains("issued by CN=Samsa Test CA", error.Message, StringComparison.Ordinal);
        AssertFewConnections(bed);
    }

    [StunnelFact]
    public async Task WithoutATruststoreTheSystemCasDoNotTrustATestCa()
    {
        using var bed = TlsTestBed.Start();
        var error = await bed.ProduceRefusedAsync(bed.Settings());
        Assert.Contains("the system's trusted CAs", error.Message, StringComparison.Ordinal);
        Assert.Contains("ssl.truststore.location", error.Message, StringComparison.Ordinal);
    }

    [StunnelFact]
    public async Task ExpiredServerCertificateIsRefused()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { Certificates = new() { ExpiredServerCertificate = true } });
        var error = await bed.ProduceRefusedAsync(bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath)));
        Assert.Contains("its certificate expired on", error.Message, StringComparison.Ordinal);
        AssertFewConnections(bed);
    }

    [StunnelFact]
    public async Task PlaintextListenerBreaksTheHandshakeRetriably()
    {
        // security.protocol=SSL against a PLAINTEXT port: no TLS alert comes back, so this is a network error,
        // retried until max.block.ms, and it says what to check.
        using var cluster = Samsa.Testing.MockCluster.Start(1);
        var settings = new Dictionary<string, string>
        {
            ["bootstrap.servers"] = cluster.BootstrapServers,
            ["security.protocol"] = "SSL",
            ["max.block.ms"] = "1500",
        };
        await using var producer = new ProducerBuilder<string, string>(settings).Build();
        var error = await Assert.ThrowsAsync<KafkaTimeoutException>(() => producer.ProduceAsync(new ProducerRecord<string, string>("t", "k", "v")).AsTask());
        Assert.Contains("TLS handshake", error.Message, StringComparison.Ordinal);
        Assert.Contains("TLS listener", error.Message, StringComparison.Ordinal);
    }

    [StunnelFact]
    public async Task AcksZeroRecordsAllArriveBeforeATlsCloseNotify()
    {
        // acks=0 has no answer to wait for: disposing must still let every written record reach the broker
        // (close_notify, then the TCP half-close, then the broker's side).
        using var bed = TlsTestBed.Start();
        var topic = $"acks0-{Guid.NewGuid():N}";
        bed.Cluster.CreateTopic(topic, 1);
        var settings = bed.Settings(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", bed.Pki.CaPath), ("acks", "0"), ("enable.idempotence", "false"));
        await using (var producer = new ProducerBuilder<string, string>(settings).Build())
        {
            for (var i = 0; i < 500; i++)
            {
                producer.Produce(new ProducerRecord<string, string>(topic, $"k{i}", $"v{i}"), _ => { });
            }

            await producer.FlushAsync();
        }

        var read = Infrastructure.RecordReader.ReadAll(bed.Front.BootstrapServers, topic, 500, security: bed.ReaderSettings());
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"v{i}"), read.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
    }

    [StunnelFact]
    public async Task NoSecretReachesTheLogsErrorsOrOptions()
    {
        using var bed = TlsTestBed.Start(new TlsFrontOptions { RequireClientCertificate = true });
        var good = bed.Settings(
            ("ssl.truststore.type", "PKCS12"), ("ssl.truststore.location", bed.Pki.TruststorePkcs12Path), ("ssl.truststore.password", bed.Pki.StorePassword),
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", bed.Pki.ClientCertificatePem),
            ("ssl.keystore.key", bed.Pki.ClientEncryptedKeyPem), ("ssl.key.password", bed.Pki.KeyPassword));
        await bed.ProduceAndReadBackAsync(good, count: 5);

        // A refusal (the broker does not trust this client) logs at Critical and fails every record.
        using var stranger = TlsCertificates.Create(new TlsCertificateOptions { CaName = "Stranger CA" });
        var refused = bed.Settings(
            ("ssl.truststore.type", "PKCS12"), ("ssl.truststore.location", bed.Pki.TruststorePkcs12Path), ("ssl.truststore.password", bed.Pki.StorePassword),
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.location", stranger.ClientKeystorePemPath), ("ssl.key.password", stranger.KeyPassword));
        var error = await bed.ProduceRefusedAsync(refused);

        var secrets = new[] { bed.Pki.StorePassword, bed.Pki.KeyPassword, stranger.KeyPassword }
            .Concat(new[] { bed.Pki.ClientKeyPem, bed.Pki.ClientEncryptedKeyPem, stranger.ClientEncryptedKeyPem }.Select(KeyBody))
            .ToList();
        var texts = bed.Logger.Entries.Select(e => e.ToString())
            .Append(error.ToString())
            .Append(ProducerOptions.FromProperties(good).ToString())
            .Append(ProducerOptions.FromProperties(refused).ToString())
            .ToList();
        Assert.NotEmpty(bed.Logger.Entries);
        foreach (var text in texts)
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }

        // A line of Base64 from the middle of a PEM key.
        static string KeyBody(string pem) => pem.Split('\n')[2];
    }

    // A refusal is fatal: the producer does not keep reconnecting (one attempt, perhaps one more racing it).
    private static void AssertFewConnections(TlsTestBed bed)
    {
        Thread.Sleep(500);
        Assert.InRange(bed.Front.AcceptedConnections, 1, 2);
    }
}
