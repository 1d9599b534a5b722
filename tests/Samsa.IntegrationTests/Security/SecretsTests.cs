using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Testing.Security;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// Passwords, client secrets and tokens never reach a log line, an exception or the options' ToString(): full SASL
/// runs (PLAIN, SCRAM with re-authentication, OIDC, a token provider, and refusals) with every log level captured,
/// exceptions included, then searched for every secret used.
/// </summary>
public sealed class SecretsTests
{
    private const string PlainPassword = "plain-Secret-4711";
    private const string ScramPassword = "scram-Secret-0815";
    private const string ClientSecret = "oidc-Client-Secret-42";
    private const string WrongPassword = "wrong-Secret-1234";

    [Fact]
    public async Task NoSecretReachesTheLogsExceptionsOrOptionsText()
    {
        var log = new CapturingLogger();
        var seen = new List<string>();
        var tokens = new ConcurrentBag<string>();
        using var issuer = JwtIssuer.CreateHmac();
        await using var endpoint = OidcTokenEndpoint.Start(issuer, TimeSpan.FromSeconds(4)).AddClient("oidc-client", ClientSecret);
        var front = new SaslFront { SessionLifetime = TimeSpan.FromSeconds(1), ExpiryGrace = TimeSpan.FromSeconds(1) }
            .AddPlainUser("plain-user", PlainPassword)
            .AddScramUser("SCRAM-SHA-256", "scram-user", ScramPassword)
            .AcceptOAuthBearer(issuer);
        await using var bed = SaslBed.Start(front, brokers: 2);

        var runs = new (string Name, ProducerOptions Options, Func<CancellationToken, ValueTask<OAuthBearerToken>>? Provider)[]
        {
            ("plain", bed.Options(new SaslOptions { Mechanism = SaslMechanism.Plain, JaasConfig = $"org.apache.kafka.common.security.plain.PlainLoginModule required username=\"plain-user\" password=\"{PlainPassword}\";" }), null),
            ("scram", bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha256, Username = "scram-user", Password = ScramPassword }), null),
            ("oidc", bed.Options(new SaslOptions
            {
                Mechanism = SaslMechanism.OAuthBearer,
                OAuthBearerTokenEndpointUrl = endpoint.TokenUrl.ToString(),
                LoginCallbackHandlerClass = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
                JaasConfig = $"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"oidc-client\" clientSecret=\"{ClientSecret}\";",
            }), null),
            ("provider", bed.Options(new SaslOptions { Mechanism = SaslMechanism.OAuthBearer }), _ =>
            {
                var token = issuer.Issue("provided", TimeSpan.FromSeconds(3));
                tokens.Add(token);
                return ValueTask.FromResult(new OAuthBearerToken(token, DateTimeOffset.UtcNow.AddSeconds(3), "provided"));
            }),
        };

        foreach (var (name, options, provider) in runs)
        {
            seen.Add(options.ToString());
            var builder = new ProducerBuilder<string, string>(options).SetLogger(log);
            if (provider is not null)
            {
                builder.SetOAuthBearerTokenProvider(provider);
            }

            await using var producer = builder.Build();
            // Long enough for sessions of a second to be renewed a few times.
            var reauthenticated = front.Reauthentications;
            var until = DateTime.UtcNow.AddSeconds(60);
            for (var round = 0; front.Reauthentications < reauthenticated + 2 && DateTime.UtcNow < until; round++)
            {
                await bed.ProduceAsync(producer, 5, $"{name}{round}");
                await Task.Delay(100);
            }
        }

        // And refusals, whose messages quote the broker.
        foreach (var options in new[]
        {
            bed.Options(new SaslOptions { Mechanism = SaslMechanism.Plain, Username = "plain-user", Password = WrongPassword }),
            bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha256, Username = "scram-user", Password = WrongPassword }),
            bed.Options(new SaslOptions { Mechanism = SaslMechanism.OAuthBearer, OAuthBearerTokenEndpointUrl = endpoint.TokenUrl.ToString(), OAuthBearerClientId = "oidc-client", OAuthBearerClientSecret = WrongPassword }),
        })
        {
            await using var producer = new ProducerBuilder<string, string>(options).SetLogger(log).Build();
            var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
            seen.Add(e.ToString());
        }

        Assert.True(front.Reauthentications >= 8, $"{front.Reauthentications} re-authentications");
        Assert.True(endpoint.TokensIssued >= 1 && !tokens.IsEmpty);
        Assert.Contains(log.Lines, l => l.Contains("1202", StringComparison.Ordinal)); // re-authentications were logged
        Assert.Contains(log.Lines, l => l.Contains("1203", StringComparison.Ordinal)); // so were tokens fetched
        Assert.Contains(log.Lines, l => l.StartsWith("Error 1207:", StringComparison.Ordinal)); // and the refusals

        var secrets = new[] { PlainPassword, ScramPassword, ClientSecret, WrongPassword }.Concat(tokens).ToList();
        var everything = log.Lines.Concat(seen).ToList();
        Assert.NotEmpty(log.Lines);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(everything, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    /// <summary>Every entry at every level, with its exception's full text.</summary>
    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue($"{logLevel} {eventId.Id}: {formatter(state, exception)} {exception}");
    }
}
