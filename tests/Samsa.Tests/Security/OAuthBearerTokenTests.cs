using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Security.Sasl;

namespace Samsa.Tests.Security;

/// <summary>The OAUTHBEARER token cache (Java's refresh rules) and the OIDC client-credentials pieces.</summary>
public sealed class OAuthBearerTokenTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnHourLongTokenIsRefreshedAtTheWindowFactorWithJitter()
    {
        var token = new OAuthBearerToken("t", T0.AddHours(1), "p");
        var options = new SaslOptions();
        // 0.8 + 0 * 0.05 of an hour = 48 min; 0.8 + 1 * 0.05 = 51 min; both leave the 5 min buffer and pass the 1 min minimum.
        Assert.Equal(T0.AddMinutes(48), OAuthBearerTokenCache.RefreshPoint(token, T0, options, random: 0));
        Assert.Equal(T0.AddMinutes(51), OAuthBearerTokenCache.RefreshPoint(token, T0, options, random: 1));
    }

    [Fact]
    public void TheRefreshKeepsTheBufferBeforeExpiry()
    {
        var token = new OAuthBearerToken("t", T0.AddMinutes(20), "p");
        var options = new SaslOptions { LoginRefreshWindowFactor = 1.0 };
        Assert.Equal(T0.AddMinutes(15), OAuthBearerTokenCache.RefreshPoint(token, T0, options, random: 0));
    }

    [Fact]
    public void TheRefreshWaitsTheMinimumPeriod()
    {
        // Issued long ago: 80% of its life is already behind it, but the next refresh still waits a minute.
        var token = new OAuthBearerToken("t", T0.AddMinutes(30), "p") { IssuedAt = T0.AddHours(-5) };
        Assert.Equal(T0.AddMinutes(1), OAuthBearerTokenCache.RefreshPoint(token, T0, new SaslOptions(), random: 0));
    }

    [Fact]
    public void AShortTokenIgnoresTheMarginsAsJavaDoes()
    {
        var token = new OAuthBearerToken("t", T0.AddSeconds(10), "p");
        Assert.Equal(T0.AddSeconds(8), OAuthBearerTokenCache.RefreshPoint(token, T0, new SaslOptions(), random: 0));
    }

    [Fact]
    public async Task TheCacheFetchesOnceUntilTheRefreshPointAndCallersShareAFetch()
    {
        var now = T0;
        var fetches = 0;
        var gate = new TaskCompletionSource();
        var cache = new OAuthBearerTokenCache(
            async _ =>
            {
                Interlocked.Increment(ref fetches);
                await gate.Task;
                return new OAuthBearerToken($"token{fetches}", now.AddMinutes(10), "p");
            },
            new SaslOptions { LoginRefreshWindowJitter = 0, LoginRefreshBuffer = TimeSpan.Zero },
            NullLogger.Instance,
            () => now);

        var a = cache.GetAsync(TimeSpan.Zero, CancellationToken.None).AsTask();
        var b = cache.GetAsync(TimeSpan.Zero, CancellationToken.None).AsTask();
        gate.SetResult();
        Assert.Same(await a, await b);
        Assert.Equal(1, fetches);

        now = T0.AddMinutes(7); // before 80% of 10 min
        Assert.Equal("token1", (await cache.GetAsync(TimeSpan.Zero, CancellationToken.None)).Value);
        now = T0.AddMinutes(8).AddSeconds(1);
        Assert.Equal("token2", (await cache.GetAsync(TimeSpan.Zero, CancellationToken.None)).Value);
        Assert.Equal(2, fetches);
    }

    [Fact]
    public async Task AReauthenticationDoesNotReuseATokenThatWouldShortenTheSession()
    {
        var now = T0;
        var fetches = 0;
        var cache = new OAuthBearerTokenCache(
            _ => ValueTask.FromResult(new OAuthBearerToken($"token{Interlocked.Increment(ref fetches)}", now.AddMinutes(10), "p")),
            new SaslOptions(),
            NullLogger.Instance,
            () => now);
        await cache.GetAsync(TimeSpan.Zero, CancellationToken.None);

        now = T0.AddMinutes(1);
        Assert.Equal("token1", (await cache.GetAsync(TimeSpan.FromMinutes(5), CancellationToken.None)).Value);
        Assert.Equal("token2", (await cache.GetAsync(TimeSpan.FromMinutes(9.5), CancellationToken.None)).Value);
    }

    [Fact]
    public async Task AFailedRefreshFallsBackToTheOldTokenWhileItIsValid()
    {
        var now = T0;
        var fail = false;
        var cache = new OAuthBearerTokenCache(
            _ => fail
                ? throw new InvalidOperationException("idp down")
                : ValueTask.FromResult(new OAuthBearerToken("old", now.AddMinutes(10), "p")),
            new SaslOptions(),
            NullLogger.Instance,
            () => now);
        await cache.GetAsync(TimeSpan.Zero, CancellationToken.None);

        fail = true;
        now = T0.AddMinutes(9);
        Assert.Equal("old", (await cache.GetAsync(TimeSpan.Zero, CancellationToken.None)).Value);

        now = T0.AddMinutes(11);
        var e = await Assert.ThrowsAsync<KafkaException>(() => cache.GetAsync(TimeSpan.Zero, CancellationToken.None).AsTask());
        Assert.True(e.IsRetriable);
        Assert.Contains("idp down", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a b64token")]
    [InlineData("")]
    public async Task AProviderTokenThatCannotBeSentIsAnAuthenticationFailure(string value)
    {
        var cache = new OAuthBearerTokenCache(_ => ValueTask.FromResult(new OAuthBearerToken(value, T0.AddHours(1), "p")), new SaslOptions(), NullLogger.Instance, () => T0);
        await Assert.ThrowsAsync<KafkaAuthenticationException>(() => cache.GetAsync(TimeSpan.Zero, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task AnExpiredProviderTokenIsAnAuthenticationFailure()
    {
        var cache = new OAuthBearerTokenCache(_ => ValueTask.FromResult(new OAuthBearerToken("t", T0.AddSeconds(-1), "p")), new SaslOptions(), NullLogger.Instance, () => T0);
        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => cache.GetAsync(TimeSpan.Zero, CancellationToken.None).AsTask());
        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTokenRequestIsAFormPostOfTheClientCredentialsGrant()
    {
        Assert.Equal("grant_type=client_credentials", OidcTokenSource.RequestBody(null));
        Assert.Equal("grant_type=client_credentials&scope=kafka+produce%2Fall", OidcTokenSource.RequestBody("kafka produce/all"));
    }

    [Fact]
    public void BasicCredentialsAreUrlEncodedOnlyWhenAsked()
    {
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("my id:s+c/r=t")), OidcTokenSource.BasicCredentials("my id", "s+c/r=t", urlEncode: false));
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("my+id:s%2Bc%2Fr%3Dt")), OidcTokenSource.BasicCredentials("my id", "s+c/r=t", urlEncode: true));
    }

    [Fact]
    public void TheTokenResponseIsReadWithoutReflection()
    {
        var (token, expiresIn, error) = OidcTokenSource.ReadTokenResponse("""{"token_type":"Bearer","nested":{"a":[1,2]},"access_token":"abc.def.ghi","expires_in":3600}"""u8);
        Assert.Equal(("abc.def.ghi", 3600L, (string?)null), (token, expiresIn, error));
        Assert.Equal(120L, OidcTokenSource.ReadTokenResponse("""{"access_token":"x","expires_in":"120"}"""u8).ExpiresIn);
        Assert.Equal("invalid_client: bad secret", OidcTokenSource.ReadTokenResponse("""{"error":"invalid_client","error_description":"bad secret"}"""u8).Error);
    }

    [Fact]
    public void JwtClaimsGiveExpiryIssueTimeAndTheConfiguredSubject()
    {
        var payload = Base64Url("""{"iss":"idp","sub":"svc","client_id":"cid","iat":1767268800,"exp":1767272400}""");
        var jwt = $"{Base64Url("""{"alg":"none"}""")}.{payload}.sig";

        var claims = JwtClaims.TryRead(jwt, "sub")!;
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1767272400), claims.Expiry);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1767268800), claims.IssuedAt);
        Assert.Equal("svc", claims.Subject);
        Assert.Equal("cid", JwtClaims.TryRead(jwt, "client_id")!.Subject);
        Assert.Null(JwtClaims.TryRead("opaque-token", "sub"));
        Assert.Null(JwtClaims.TryRead("a.!!!.c", "sub"));
    }

    private static string Base64Url(string json) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
