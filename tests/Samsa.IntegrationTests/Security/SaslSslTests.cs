using Samsa.Testing.Security;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// SASL_SSL: TLS (stunnel) before the SASL front, as a cloud service's listener. The producer verifies the broker's
/// certificate, then authenticates over the TLS stream; Confluent.Kafka reads back over SASL_SSL too.
/// </summary>
public sealed class SaslSslTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [StunnelFact]
    public async Task ScramOverTlsReauthenticatesWithoutLosingARecord()
    {
        var front = new SaslFront { SessionLifetime = TimeSpan.FromSeconds(1.5), ExpiryGrace = TimeSpan.FromSeconds(1.5) }
            .AddScramUser("SCRAM-SHA-512", "kim", "kim-secret");
        await using var bed = SaslBed.Start(front, brokers: 2, tls: true);
        var properties = bed.Properties(
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"kim\" password=\"kim-secret\";"));
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = new List<(string, string, DeliveryResult)>();
        var until = DateTime.UtcNow + Bound;
        for (var round = 0; round < 3 || (front.Reauthentications < 4 && DateTime.UtcNow < until); round++)
        {
            acknowledged.AddRange(await bed.ProduceAsync(producer, 20, $"round{round}"));
            await Task.Delay(50);
        }

        Assert.True(front.Reauthentications >= 4, $"only {front.Reauthentications} re-authentications");
        Assert.Equal(0, front.ExpiredSessionClosures);
        Assert.Empty(front.Violations);
        Assert.True(bed.Tls!.AcceptedConnections >= 2);
        bed.AssertReadBack(acknowledged, SaslBed.Reader("SCRAM-SHA-512", "kim", "kim-secret"));
    }

    [StunnelFact]
    public async Task OAuthBearerOidcOverTls()
    {
        using var issuer = JwtIssuer.CreateHmac();
        await using var endpoint = OidcTokenEndpoint.Start(issuer, TimeSpan.FromHours(1)).AddClient("tls-client", "tls-secret");
        await using var bed = SaslBed.Start(new SaslFront().AcceptOAuthBearer(issuer).AddPlainUser("reader", "r"), brokers: 1, tls: true);
        var properties = bed.Properties(
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"),
            ("sasl.oauthbearer.token.endpoint.url", endpoint.TokenUrl.ToString()),
            ("sasl.oauthbearer.client.credentials.client.id", "tls-client"),
            ("sasl.oauthbearer.client.credentials.client.secret", "tls-secret"));
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = await bed.ProduceAsync(producer, 20);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.True(bed.Front.Principals.ContainsKey("tls-client"));
    }
}
