using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing.Security;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// Tests that start a <see cref="KerberosRealm"/>: it points the whole process (KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME) at
/// itself, so they run one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KerberosCollectionDefinition
{
    public const string Name = "Kerberos";
}

/// <summary>
/// A test that needs MIT Kerberos (<see cref="KerberosRealm.Missing"/>). Skipped with the reason where it is missing, except
/// in CI (<c>CI=true</c>), which installs it: there it runs and fails saying what is missing.
/// </summary>
public sealed class KerberosFactAttribute : FactAttribute
{
    public KerberosFactAttribute()
    {
        if (KerberosRealm.Missing is { } why && !StunnelFactAttribute.IsCi)
        {
            Skip = why;
        }
    }
}

/// <summary>
/// SASL GSSAPI end to end against Debian's MIT KDC: the producer gets a service ticket for <c>kafka/localhost</c> from a
/// throwaway realm (ticket cache after kinit, or a keytab), authenticates at the SASL front (which accepts the context with
/// the service keytab through NegotiateAuthentication in server mode and runs the RFC 4752 layer negotiation), produces
/// through it to the mock cluster, and Confluent.Kafka's consumer reads the records back.
/// </summary>
[Collection(KerberosCollectionDefinition.Name)]
public sealed class GssapiTests
{
    private const string Krb5Module = "com.sun.security.auth.module.Krb5LoginModule";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [KerberosFact]
    public async Task TicketCacheLoginProducesAndReadsBack()
    {
        using var realm = KerberosRealm.Start().AddPrincipal("alice", "alice-pw");
        realm.Kinit("alice", "alice-pw");
        await using var bed = SaslBed.Start(new SaslFront().AcceptGssapi().AddPlainUser("reader", "r"));
        Assert.StartsWith("localhost:", bed.BootstrapServers, StringComparison.Ordinal);
        var properties = bed.Properties(
            ("sasl.mechanism", "GSSAPI"),
            ("sasl.kerberos.service.name", "kafka"),
            ("sasl.jaas.config", $"{Krb5Module} required useTicketCache=true;"));
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = await bed.ProduceAsync(producer, 50);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.Equal(["alice@SAMSA.TEST", "reader"], bed.Front.Principals.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(bed.Front.Violations);
        Assert.Equal(0, bed.Front.FailedAuthentications);
        Assert.Contains("kafka/localhost@SAMSA.TEST", realm.Klist(), StringComparison.Ordinal);
    }

    [KerberosFact]
    public async Task KeytabLoginWithTypedServiceNameProducesAndReadsBack()
    {
        using var realm = KerberosRealm.Start();
        var keytab = realm.AddKeytabPrincipal("svc-producer");
        realm.Kdestroy(); // nothing in the ticket cache: the keytab alone must do
        await using var bed = SaslBed.Start(new SaslFront().AcceptGssapi().AddPlainUser("reader", "r"));
        var options = bed.Options(new SaslOptions
        {
            Mechanism = SaslMechanism.Gssapi,
            KerberosServiceName = "kafka",
            JaasConfig = $"{Krb5Module} required useKeyTab=true storeKey=true keyTab=\"{keytab}\" principal=\"svc-producer@SAMSA.TEST\";",
        });
        await using var producer = new ProducerBuilder<string, string>(options).Build();

        var acknowledged = await bed.ProduceAsync(producer, 50);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.Equal(["reader", "svc-producer@SAMSA.TEST"], bed.Front.Principals.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, bed.Front.FailedAuthentications);
        // MIT Kerberos got the TGT from the client keytab (KRB5_CLIENT_KTNAME), into the process's in-memory ticket cache.
        Assert.Equal("FILE:" + keytab, KerberosRealm.NativeVariable("KRB5_CLIENT_KTNAME"));
        Assert.StartsWith("MEMORY:samsa-", KerberosRealm.NativeVariable("KRB5CCNAME"), StringComparison.Ordinal);
    }

    [KerberosFact]
    public async Task TheKeytabsPrincipalIsUsedEvenWhenTheTicketCacheHoldsAnother()
    {
        using var realm = KerberosRealm.Start().AddPrincipal("alice", "alice-pw");
        var keytab = realm.AddKeytabPrincipal("svc-batch");
        realm.Kinit("alice", "alice-pw");
        await using var bed = SaslBed.Start(new SaslFront().AcceptGssapi().AddPlainUser("reader", "r"));
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions
        {
            Mechanism = SaslMechanism.Gssapi,
            KerberosServiceName = "kafka",
            JaasConfig = $"{Krb5Module} required useKeyTab=true keyTab=\"{keytab}\" principal=\"svc-batch@SAMSA.TEST\";",
        })).Build();

        var acknowledged = await bed.ProduceAsync(producer, 20);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.Equal(["reader", "svc-batch@SAMSA.TEST"], bed.Front.Principals.Keys.Order(StringComparer.Ordinal));
    }

    [KerberosFact]
    public void AKeytabWhoseFirstPrincipalIsAnotherIsRefusedAtBuild()
    {
        using var realm = KerberosRealm.Start();
        var keytab = realm.AddKeytabPrincipal("first");
        var options = new ProducerOptions
        {
            BootstrapServers = ["localhost:9"],
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            Sasl = new SaslOptions
            {
                Mechanism = SaslMechanism.Gssapi,
                KerberosServiceName = "kafka",
                JaasConfig = $"{Krb5Module} required useKeyTab=true keyTab=\"{keytab}\" principal=\"second@SAMSA.TEST\";",
            },
        };

        var e = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(options).Build());
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains("first principal is first@SAMSA.TEST, not second@SAMSA.TEST", e.Message, StringComparison.Ordinal);
    }

    [KerberosFact]
    public async Task ReauthenticatesBeforeTheSessionEnds()
    {
        using var realm = KerberosRealm.Start().AddPrincipal("dave", "dave-pw");
        realm.Kinit("dave", "dave-pw");
        var front = new SaslFront { SessionLifetime = TimeSpan.FromSeconds(1.5), ExpiryGrace = TimeSpan.FromSeconds(1.5) }.AcceptGssapi().AddPlainUser("reader", "r");
        await using var bed = SaslBed.Start(front, brokers: 2);
        await using var producer = new ProducerBuilder<string, string>(
            bed.Options(new SaslOptions { Mechanism = SaslMechanism.Gssapi, KerberosServiceName = "kafka" }) with { Linger = TimeSpan.FromMilliseconds(20) }).Build();

        var acknowledged = new List<(string, string, DeliveryResult)>();
        var until = DateTime.UtcNow + Bound;
        for (var round = 0; bed.Front.Reauthentications < 4 && DateTime.UtcNow < until; round++)
        {
            acknowledged.AddRange(await bed.ProduceAsync(producer, 20, $"round{round}"));
            await Task.Delay(50);
        }

        Assert.True(bed.Front.Reauthentications >= 4, $"only {bed.Front.Reauthentications} re-authentications");
        Assert.Equal(0, bed.Front.ExpiredSessionClosures);
        Assert.Equal(0, bed.Front.FailedAuthentications);
        Assert.Empty(bed.Front.Violations);
        Assert.True(bed.Proxy.Connections <= 3, $"{bed.Proxy.Connections} connections");
        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
    }

    [KerberosFact]
    public async Task AWrongServiceNameFailsFastAndForGood()
    {
        using var realm = KerberosRealm.Start().AddPrincipal("erin", "erin-pw");
        realm.Kinit("erin", "erin-pw");
        await using var bed = SaslBed.Start(new SaslFront().AcceptGssapi());
        var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.Gssapi, KerberosServiceName = "kafka-typo" })).Build();

        // delivery.timeout.ms and max.block.ms are ten minutes: only the authentication failure can end this within the bound.
        var first = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.True(first.IsFatal);
        Assert.False(first.IsRetriable);
        Assert.Contains("kafka-typo/localhost", first.Message, StringComparison.Ordinal);
        Assert.True(first.Message.Contains("sasl.kerberos.service.name", StringComparison.Ordinal), first.Message);
        var later = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v2")).AsTask().WaitAsync(Bound));
        Assert.Same(first, later);
        await producer.DisposeAsync();

        // No retry storm: a connection or two asked the KDC, then the producer stopped.
        var connections = bed.Proxy.Connections;
        await Task.Delay(500);
        Assert.Equal(connections, bed.Proxy.Connections);
        Assert.InRange(connections, 1, 3);
        Assert.Equal(0, bed.Front.Authentications);
    }

    [KerberosFact]
    public async Task AnUnknownClientPrincipalIsAnAuthenticationFailure()
    {
        using var realm = KerberosRealm.Start();
        var keytab = realm.AddKeytabPrincipal("ghost");
        realm.DeletePrincipal("ghost"); // its keytab stays, and the KDC no longer knows it
        realm.Kdestroy();
        await using var bed = SaslBed.Start(new SaslFront().AcceptGssapi());
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions
        {
            Mechanism = SaslMechanism.Gssapi,
            KerberosServiceName = "kafka",
            JaasConfig = $"{Krb5Module} required useKeyTab=true keyTab=\"{keytab}\" principal=\"ghost@SAMSA.TEST\";",
        })).Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.False(e.IsRetriable);
        Assert.Contains("SASL GSSAPI authentication to kafka/localhost failed", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Front.Authentications);
    }
}
