using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing.Security;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// SASL end to end: the producer authenticates at the SASL front of the test kit, produces through it to the mock
/// cluster, and Confluent.Kafka's consumer (librdkafka's own SASL client) reads the records back through the same front.
/// </summary>
public sealed class SaslTests
{
    private const string PlainModule = "org.apache.kafka.common.security.plain.PlainLoginModule";
    private const string ScramModule = "org.apache.kafka.common.security.scram.ScramLoginModule";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PlainFromJaasConfigProducesAndReadsBack()
    {
        await using var bed = SaslBed.Start(new SaslFront().AddPlainUser("alice", "alice-secret"));
        var properties = bed.Properties(
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", $"{PlainModule} required username=\"alice\" password=\"alice-secret\";"));
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = await bed.ProduceAsync(producer, 50);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "alice", "alice-secret"));
        Assert.True(bed.Front.Principals.ContainsKey("alice"));
        Assert.Empty(bed.Front.Violations);
        Assert.Equal(0, bed.Front.FailedAuthentications);
    }

    [Theory]
    [InlineData(SaslMechanism.ScramSha256, "SCRAM-SHA-256")]
    [InlineData(SaslMechanism.ScramSha512, "SCRAM-SHA-512")]
    public async Task ScramWithTypedOptionsProducesAndReadsBack(SaslMechanism mechanism, string name)
    {
        // A user name with the characters SCRAM escapes (',' and '=') and a password with non-ASCII characters.
        const string User = "bob,the=builder";
        const string Password = "pässwörd-🔑";
        await using var bed = SaslBed.Start(new SaslFront().AddScramUser(name, User, Password).AddScramUser(name, "reader", "reader-secret"));
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = mechanism, Username = User, Password = Password })).Build();

        var acknowledged = await bed.ProduceAsync(producer, 50);

        bed.AssertReadBack(acknowledged, SaslBed.Reader(name, "reader", "reader-secret"));
        Assert.True(bed.Front.Principals.ContainsKey(User));
        Assert.Empty(bed.Front.Violations);
    }

    [Fact]
    public async Task ScramFromJaasConfigWithEscapedQuotes()
    {
        const string Password = "he said \"hi\" \\o/";
        await using var bed = SaslBed.Start(new SaslFront().AddScramUser("SCRAM-SHA-512", "carol", Password).AddPlainUser("reader", "r"));
        var properties = bed.Properties(
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", $"{ScramModule} required\n  username=\"carol\"\n  password=\"he said \\\"hi\\\" \\\\o/\";"));
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = await bed.ProduceAsync(producer, 10);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.True(bed.Front.Principals.ContainsKey("carol"));
    }

    [Fact]
    public async Task OAuthBearerTokenProviderAndExtensions()
    {
        using var issuer = JwtIssuer.CreateRsa();
        await using var bed = SaslBed.Start(new SaslFront().AcceptOAuthBearer(issuer).AddPlainUser("reader", "r"));
        var calls = 0;
        var options = bed.Options(new SaslOptions
        {
            Mechanism = SaslMechanism.OAuthBearer,
            OAuthBearerExtensions = new Dictionary<string, string> { ["logicalCluster"] = "lkc-123", ["identityPoolId"] = "pool-9" },
        });
        await using var producer = new ProducerBuilder<string, string>(options)
            .SetOAuthBearerTokenProvider(_ =>
            {
                Interlocked.Increment(ref calls);
                return ValueTask.FromResult(new OAuthBearerToken(issuer.Issue("service-a", TimeSpan.FromHours(1)), DateTimeOffset.UtcNow.AddHours(1), "service-a"));
            })
            .Build();

        var acknowledged = await bed.ProduceAsync(producer, 30);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.True(bed.Front.Principals.ContainsKey("service-a"));
        Assert.Equal(new Dictionary<string, string> { ["logicalCluster"] = "lkc-123", ["identityPoolId"] = "pool-9" }, bed.Front.LastOAuthBearerExtensions);
        // One token, shared by every connection: it is valid for an hour.
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task OAuthBearerOidcClientCredentials()
    {
        using var issuer = JwtIssuer.CreateHmac();
        await using var endpoint = OidcTokenEndpoint.Start(issuer, TimeSpan.FromHours(1)).AddClient("svc-client", "svc-secret");
        await using var bed = SaslBed.Start(new SaslFront().AcceptOAuthBearer(issuer).AddPlainUser("reader", "r"));
        endpoint.FailNextRequests(2); // 503 twice: retried with sasl.login.retry.backoff.ms
        var properties = bed.Properties(
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"),
            ("sasl.oauthbearer.token.endpoint.url", endpoint.TokenUrl.ToString()),
            ("sasl.login.retry.backoff.ms", "10"),
            ("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"svc-client\" clientSecret=\"svc-secret\" scope=\"kafka.produce\" extension_logicalCluster=\"lkc-1\";"));
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = await bed.ProduceAsync(producer, 30);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.True(bed.Front.Principals.ContainsKey("svc-client"));
        Assert.Equal(1, endpoint.TokensIssued);
        Assert.Equal(3, endpoint.Requests);
        Assert.Equal(["kafka.produce"], endpoint.ScopesRequested);
        Assert.Equal("lkc-1", bed.Front.LastOAuthBearerExtensions?["logicalCluster"]);
    }

    [Fact]
    public async Task OAuthBearerTokenFromAFileUrl()
    {
        using var issuer = JwtIssuer.CreateRsa();
        var file = Path.Combine(Path.GetTempPath(), $"samsa-token-{Guid.NewGuid():N}.jwt");
        await File.WriteAllTextAsync(file, issuer.Issue("file-principal", TimeSpan.FromHours(1)) + "\n");
        try
        {
            await using var bed = SaslBed.Start(new SaslFront().AcceptOAuthBearer(issuer).AddPlainUser("reader", "r"));
            var properties = bed.Properties(
                ("sasl.mechanism", "OAUTHBEARER"),
                ("sasl.oauthbearer.token.endpoint.url", new Uri(file).AbsoluteUri),
                ("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"));
            await using var producer = new ProducerBuilder<string, string>(properties).Build();

            var acknowledged = await bed.ProduceAsync(producer, 10);

            bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
            Assert.True(bed.Front.Principals.ContainsKey("file-principal"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ReauthenticatesBeforeTheSessionEndsWithoutLosingARecord()
    {
        await using var bed = SaslBed.Start(new SaslFront { SessionLifetime = TimeSpan.FromSeconds(1.5), ExpiryGrace = TimeSpan.FromSeconds(1.5) }.AddScramUser("SCRAM-SHA-256", "dave", "dave-secret"), brokers: 2);
        var log = new ListLogger();
        await using var producer = new ProducerBuilder<string, string>(
            bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha256, Username = "dave", Password = "dave-secret" }) with { Linger = TimeSpan.FromMilliseconds(20) })
            .SetLogger(log)
            .Build();

        // Produce steadily until every connection had to re-authenticate a few times; a connection that did not would
        // be closed by the front at its first request after the session expired.
        var acknowledged = new List<(string, string, DeliveryResult)>();
        var until = DateTime.UtcNow + Bound;
        for (var round = 0; bed.Front.Reauthentications < 6 && DateTime.UtcNow < until; round++)
        {
            acknowledged.AddRange(await bed.ProduceAsync(producer, 20, $"round{round}"));
            await Task.Delay(50);
        }

        Assert.True(bed.Front.Reauthentications >= 6, $"only {bed.Front.Reauthentications} re-authentications");
        Assert.Equal(0, bed.Front.ExpiredSessionClosures);
        Assert.Empty(bed.Front.Violations);
        Assert.Equal(0, bed.Front.FailedAuthentications);
        // Re-authentication kept the connections: no reconnects (one per broker, plus the bootstrap connection at most).
        Assert.True(bed.Proxy.Connections <= 3, $"{bed.Proxy.Connections} connections");
        Assert.Contains(log.Entries, e => e.EventId == 1202);
        bed.Front.AddPlainUser("reader", "r");
        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task EverySaslAuthenticateVersionAuthenticatesAndFromV1Reauthenticates(short version)
    {
        // v0 carries no session lifetime, so a broker speaking only v0 grants none here; v1 (classic) and v2 (flexible) do.
        var front = new SaslFront { MaxSaslAuthenticateVersion = version, SessionLifetime = version >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.Zero, ExpiryGrace = TimeSpan.FromSeconds(1) }
            .AddScramUser("SCRAM-SHA-512", "ivy", "ivy-secret");
        await using var bed = SaslBed.Start(front, brokers: 1);
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha512, Username = "ivy", Password = "ivy-secret" })).Build();

        var acknowledged = new List<(string, string, DeliveryResult)>();
        var until = DateTime.UtcNow + Bound;
        for (var round = 0; round < 3 || (version >= 1 && bed.Front.Reauthentications < 2 && DateTime.UtcNow < until); round++)
        {
            acknowledged.AddRange(await bed.ProduceAsync(producer, 10, $"round{round}"));
            await Task.Delay(50);
        }

        Assert.True(version == 0 ? bed.Front.Reauthentications == 0 : bed.Front.Reauthentications >= 2, $"{bed.Front.Reauthentications} re-authentications at v{version}");
        Assert.Equal(0, bed.Front.ExpiredSessionClosures);
        Assert.Empty(bed.Front.Violations);
        bed.AssertReadBack(acknowledged, SaslBed.Reader("SCRAM-SHA-512", "ivy", "ivy-secret"));
    }

    [Fact]
    public async Task OAuthBearerReauthenticatesWithARefreshedTokenAsTheTokenExpires()
    {
        using var issuer = JwtIssuer.CreateHmac();
        // The session lasts as long as the token (a broker's rule), so each re-authentication needs a new one. The
        // provider states an expiry up to a second later than the JWT's whole-second exp the broker goes by, as a
        // skewed clock would: the session the broker grants, not the stated expiry, must decide when to refresh.
        await using var bed = SaslBed.Start(new SaslFront { ExpiryGrace = TimeSpan.FromSeconds(2) }.AcceptOAuthBearer(issuer).AddPlainUser("reader", "r"), brokers: 1);
        var tokens = new List<string>();
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.OAuthBearer }))
            .SetOAuthBearerTokenProvider(_ =>
            {
                var token = issuer.Issue("svc-b", TimeSpan.FromSeconds(3));
                lock (tokens)
                {
                    tokens.Add(token);
                }

                return ValueTask.FromResult(new OAuthBearerToken(token, DateTimeOffset.UtcNow.AddSeconds(3), "svc-b"));
            })
            .Build();

        var acknowledged = new List<(string, string, DeliveryResult)>();
        var until = DateTime.UtcNow + Bound;
        for (var round = 0; bed.Front.Reauthentications < 3 && DateTime.UtcNow < until; round++)
        {
            acknowledged.AddRange(await bed.ProduceAsync(producer, 10, $"round{round}"));
            await Task.Delay(100);
        }

        Assert.True(bed.Front.Reauthentications >= 3, $"only {bed.Front.Reauthentications} re-authentications");
        Assert.Equal(0, bed.Front.ExpiredSessionClosures);
        Assert.Equal(0, bed.Front.FailedAuthentications);
        lock (tokens)
        {
            Assert.True(tokens.Count >= 3, $"{tokens.Count} tokens fetched");
        }

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
    }

    [Fact]
    public async Task AWrongPasswordFailsFastAndForGoodWithTheBrokersMessage()
    {
        await using var bed = SaslBed.Start(new SaslFront().AddPlainUser("erin", "right"));
        var log = new ListLogger();
        var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.Plain, Username = "erin", Password = "wrong-password" }))
            .SetLogger(log)
            .Build();

        // delivery.timeout.ms and max.block.ms are ten minutes: only the authentication failure can end this within the bound.
        var first = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.True(first.IsFatal);
        Assert.False(first.IsRetriable);
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, first.ErrorCode);
        Assert.Contains("Invalid username or password", first.Message, StringComparison.Ordinal);
        Assert.Contains("SASL_AUTHENTICATION_FAILED", first.Message, StringComparison.Ordinal);

        // Fatal: every later record fails with the same error at once, on both paths.
        var later = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v2")).AsTask().WaitAsync(Bound));
        Assert.Same(first, later);
        DeliveryReport? report = null;
        producer.Produce(new ProducerRecord<string, string>(bed.Topic, "k", "v3"), r => report = r);
        Assert.Same(first, report?.Error);
        await producer.DisposeAsync();

        // No retry storm: the producer stopped at the first refusal (a few at most, racing connections to other brokers).
        Assert.InRange(bed.Front.FailedAuthentications, 1, 3);
        Assert.Contains(log.Entries, e => e.EventId == 1003 && e.Message.Contains("Invalid username or password", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Entries, e => e.Message.Contains("wrong-password", StringComparison.Ordinal));
        Assert.DoesNotContain("wrong-password", first.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusedReauthenticationClosesTheConnectionAndIsFatal()
    {
        var front = new SaslFront { SessionLifetime = TimeSpan.FromSeconds(1), ExpiryGrace = TimeSpan.FromSeconds(1) }.AddScramUser("SCRAM-SHA-256", "jack", "old-password");
        await using var bed = SaslBed.Start(front, brokers: 1);
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha256, Username = "jack", Password = "old-password" })).Build();
        var acknowledged = await bed.ProduceAsync(producer, 10);

        // The password changes on the broker: the next re-authentication is refused.
        front.AddScramUser("SCRAM-SHA-256", "jack", "new-password");
        KafkaException? failure = null;
        var until = DateTime.UtcNow + Bound;
        while (failure is null && DateTime.UtcNow < until)
        {
            try
            {
                acknowledged.AddRange(await bed.ProduceAsync(producer, 5, "more"));
            }
            catch (KafkaException e)
            {
                failure = e;
            }

            await Task.Delay(50);
        }

        var refused = Assert.IsType<KafkaAuthenticationException>(failure);
        Assert.Contains("invalid credentials", refused.Message, StringComparison.Ordinal);
        Assert.Same(refused, await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound)));

        // Nothing keeps knocking with the refused credentials: a retry storm would refuse one login per retry backoff, and
        // the producer's other connection (bootstrap) would be refused at its own re-authentication within the next second.
        var refusals = bed.Front.FailedAuthentications;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(refusals, bed.Front.FailedAuthentications);
        Assert.InRange(refusals, 1, 2); // both connections' re-authentications may have been under way at once
        Assert.Equal(0, bed.Front.ExpiredSessionClosures);
        bed.Front.AddPlainUser("reader", "r");
        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
    }

    [Fact]
    public async Task AWrongScramPasswordIsAnAuthenticationFailure()
    {
        await using var bed = SaslBed.Start(new SaslFront().AddScramUser("SCRAM-SHA-512", "frank", "right"));
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha512, Username = "frank", Password = "wrong" })).Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains("invalid credentials with SASL mechanism SCRAM-SHA-512", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AScramServerThatCannotProveItKnowsTheCredentialsIsRefused()
    {
        await using var bed = SaslBed.Start(new SaslFront { CorruptScramServerSignature = true }.AddScramUser("SCRAM-SHA-256", "gina", "secret"));
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.ScramSha256, Username = "gina", Password = "secret" })).Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains("server signature does not match", e.Message, StringComparison.Ordinal);
        // The front accepted the client's proof; only the client's check of the server failed.
        Assert.Equal(0, bed.Front.FailedAuthentications);
    }

    [Fact]
    public async Task AMechanismTheBrokerDoesNotEnableIsNamedWithTheOnesItDoes()
    {
        await using var bed = SaslBed.Start(new SaslFront().AddScramUser("SCRAM-SHA-512", "hank", "secret"));
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.Plain, Username = "hank", Password = "secret" })).Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains("does not enable SASL mechanism PLAIN", e.Message, StringComparison.Ordinal);
        Assert.Contains("SCRAM-SHA-512", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOAuthBearerTokenTheBrokerDoesNotTrustIsRefusedWithItsStatus()
    {
        using var trusted = JwtIssuer.CreateHmac();
        using var stranger = JwtIssuer.CreateHmac("someone-else");
        await using var bed = SaslBed.Start(new SaslFront().AcceptOAuthBearer(trusted));
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.OAuthBearer }))
            .SetOAuthBearerTokenProvider(_ => ValueTask.FromResult(new OAuthBearerToken(stranger.Issue("mallory", TimeSpan.FromHours(1)), DateTimeOffset.UtcNow.AddHours(1), "mallory")))
            .Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains("invalid_token", e.Message, StringComparison.Ordinal);
        Assert.Contains("signature does not verify", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOidcEndpointRefusingTheClientSecretIsAnAuthenticationFailure()
    {
        using var issuer = JwtIssuer.CreateHmac();
        await using var endpoint = OidcTokenEndpoint.Start(issuer, TimeSpan.FromHours(1)).AddClient("svc", "right-secret");
        await using var bed = SaslBed.Start(new SaslFront().AcceptOAuthBearer(issuer));
        var options = bed.Options(new SaslOptions
        {
            Mechanism = SaslMechanism.OAuthBearer,
            OAuthBearerTokenEndpointUrl = endpoint.TokenUrl.ToString(),
            OAuthBearerClientId = "svc",
            OAuthBearerClientSecret = "wrong-secret",
        });
        var log = new ListLogger();
        await using var producer = new ProducerBuilder<string, string>(options).SetLogger(log).Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains("HTTP 401", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Front.Authentications + bed.Front.FailedAuthentications);
        Assert.DoesNotContain(log.Entries, entry => entry.Message.Contains("wrong-secret", StringComparison.Ordinal));
    }
}
