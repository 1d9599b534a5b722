using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Samsa.Security.Sasl;

namespace Samsa.Tests.Security;

/// <summary>
/// The client mechanisms against the RFCs' own examples, not against our own server: SCRAM against RFC 5802 §5
/// (SHA-1) and RFC 7677 §3 (SHA-256), PLAIN against RFC 4616, OAUTHBEARER against RFC 7628's grammar and example.
/// </summary>
public sealed class SaslMechanismTests
{
    private static async Task<ISaslExchange> Begin(ISaslMechanism mechanism) => await mechanism.BeginAsync(TimeSpan.Zero, CancellationToken.None);

    private static string Text(byte[]? bytes) => Encoding.UTF8.GetString(bytes!);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task ScramSha256FollowsRfc7677()
    {
        var scram = new ScramMechanism(HashAlgorithmName.SHA256, "user", "pencil", tokenAuth: false, () => "rOprNGfwEbeRWgbNEkqO");
        Assert.Equal("SCRAM-SHA-256", scram.Name);
        var exchange = await Begin(scram);

        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Text(exchange.Start()));
        var clientFinal = exchange.Respond(Bytes("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
        Assert.Equal("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", Text(clientFinal));
        Assert.Null(exchange.Respond(Bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")));
    }

    [Fact]
    public async Task ScramSha1FollowsRfc5802()
    {
        var scram = new ScramMechanism(HashAlgorithmName.SHA1, "user", "pencil", tokenAuth: false, () => "fyko+d2lbbFgONRv9qkxdawL");
        var exchange = await Begin(scram);

        Assert.Equal("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", Text(exchange.Start()));
        var clientFinal = exchange.Respond(Bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"));
        Assert.Equal("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", Text(clientFinal));
        Assert.Null(exchange.Respond(Bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")));
    }

    [Fact]
    public async Task AScramServerSignatureThatDoesNotMatchIsRefused()
    {
        var exchange = await Begin(new ScramMechanism(HashAlgorithmName.SHA256, "user", "pencil", tokenAuth: false, () => "rOprNGfwEbeRWgbNEkqO"));
        exchange.Start();
        exchange.Respond(Bytes("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));

        // One bit off in the RFC's server signature.
        var e = Assert.Throws<KafkaAuthenticationException>(() => exchange.Respond(Bytes("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")));
        Assert.Contains("server signature does not match", e.Message, StringComparison.Ordinal);
        Assert.True(e.IsFatal);
    }

    [Theory]
    [InlineData("r=someoneelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", "fewer than the 4096")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOabc,i=4096", "lacks")]
    [InlineData("e=unknown-user", "unknown-user")]
    [InlineData("m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "extension")]
    public async Task ABadScramServerFirstMessageIsRefused(string serverFirst, string why)
    {
        var exchange = await Begin(new ScramMechanism(HashAlgorithmName.SHA256, "user", "pencil", tokenAuth: false, () => "rOprNGfwEbeRWgbNEkqO"));
        exchange.Start();
        var e = Assert.Throws<KafkaAuthenticationException>(() => exchange.Respond(Bytes(serverFirst)));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScramEscapesTheUserNameAndAddsTokenAuthAsKafkaDoes()
    {
        var exchange = await Begin(new ScramMechanism(HashAlgorithmName.SHA512, "a=b,c", "p", tokenAuth: true, () => "nonce"));
        Assert.Equal("n,,n=a=3Db=2Cc,r=nonce,tokenauth=true", Text(exchange.Start()));
        Assert.Equal("a=3D=3D=2C", ScramMechanism.EscapeUsername("a==,"));
    }

    [Fact]
    public async Task ScramNoncesAreFreshPerExchange()
    {
        var scram = new ScramMechanism(SaslMechanism.ScramSha512, "user", "pencil", tokenAuth: false);
        Assert.Equal("SCRAM-SHA-512", scram.Name);
        var first = Text((await Begin(scram)).Start());
        var second = Text((await Begin(scram)).Start());
        Assert.NotEqual(first, second);
        Assert.Matches("^n,,n=user,r=[!-+--~]{32}$", first); // printable, no ','
    }

    [Fact]
    public async Task PlainIsRfc4616WithAnEmptyAuthorizationId()
    {
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" (no authzid).
        var exchange = await Begin(new PlainMechanism("tim", "tanstaaftanstaaf"));
        Assert.Equal("\0tim\0tanstaaftanstaaf"u8.ToArray(), exchange.Start());
        Assert.Null(exchange.Respond([]));
        Assert.Throws<KafkaAuthenticationException>(() => exchange.Respond("challenge"u8));
    }

    [Fact]
    public void PlainEncodesUtf8()
    {
        Assert.Equal(Bytes("\0jürgen\0pässwört"), PlainMechanism.Message("jürgen", "pässwört"));
    }

    // RFC 7628 §3.1: client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep; kvpair = key "=" value kvsep;
    // key = 1*(ALPHA); value = *(VCHAR / SP / HTAB / CR / LF); auth is one of the pairs.
    private static readonly Regex Rfc7628ClientResponse = new(@"^n,(a=[^,]*)?,\x01(?:[A-Za-z]+=[\x21-\x7E \t\r\n]*\x01)+\x01$", RegexOptions.CultureInvariant);

    [Fact]
    public void OAuthBearerInitialResponseFollowsRfc7628()
    {
        const string Token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
        // The grammar accepts the RFC's own example (§4.1), so it is the grammar, not a mirror of our writer.
        Assert.Matches(Rfc7628ClientResponse, "n,a=user@example.com,\u0001host=server.example.com\u0001port=143\u0001auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u0001\u0001");

        var bare = Encoding.UTF8.GetString(OAuthBearerMechanism.InitialResponse(Token, new Dictionary<string, string>()));
        Assert.Equal($"n,,\u0001auth=Bearer {Token}\u0001\u0001", bare);
        Assert.Matches(Rfc7628ClientResponse, bare);

        var withExtensions = Encoding.UTF8.GetString(OAuthBearerMechanism.InitialResponse(Token, new Dictionary<string, string> { ["port"] = "143", ["host"] = "server.example.com" }));
        Assert.Equal($"n,,\u0001auth=Bearer {Token}\u0001host=server.example.com\u0001port=143\u0001\u0001", withExtensions);
        Assert.Matches(Rfc7628ClientResponse, withExtensions);
    }

    [Fact]
    public async Task OAuthBearerAcknowledgesAnErrorChallengeAndKeepsTheStatus()
    {
        var token = new OAuthBearerToken("abc.def.ghi", DateTimeOffset.UtcNow.AddHours(1), "me");
        var cache = new OAuthBearerTokenCache(_ => ValueTask.FromResult(token), new SaslOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var exchange = await Begin(new OAuthBearerMechanism(cache, new Dictionary<string, string>()));
        exchange.Start();

        // RFC 7628 §3.2.3: the server's error is JSON; the client answers with a lone kvsep.
        Assert.Equal([0x01], exchange.Respond("""{"status":"invalid_token"}"""u8));
        Assert.Equal("""{"status":"invalid_token"}""", exchange.ServerError);
        Assert.Throws<KafkaAuthenticationException>(() => exchange.Respond([]));
    }

    [Fact]
    public async Task OAuthBearerSucceedsOnAnEmptyAnswer()
    {
        var token = new OAuthBearerToken("abc.def.ghi", DateTimeOffset.UtcNow.AddHours(1), "me") { Extensions = new Dictionary<string, string> { ["traceId"] = "t1" } };
        var cache = new OAuthBearerTokenCache(_ => ValueTask.FromResult(token), new SaslOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var exchange = await Begin(new OAuthBearerMechanism(cache, new Dictionary<string, string> { ["logicalCluster"] = "lkc" }));

        Assert.Equal("n,,\u0001auth=Bearer abc.def.ghi\u0001logicalCluster=lkc\u0001traceId=t1\u0001\u0001", Text(exchange.Start()));
        Assert.Null(exchange.Respond([]));
        Assert.Null(exchange.ServerError);
    }

    [Fact]
    public async Task AnInvalidExtensionFromTheProviderIsRefusedBeforeSending()
    {
        var token = new OAuthBearerToken("abc", DateTimeOffset.UtcNow.AddHours(1), "me") { Extensions = new Dictionary<string, string> { ["bad\u0001name"] = "x" } };
        var cache = new OAuthBearerTokenCache(_ => ValueTask.FromResult(token), new SaslOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await Assert.ThrowsAsync<KafkaAuthenticationException>(() => Begin(new OAuthBearerMechanism(cache, new Dictionary<string, string>())));
    }

    [Theory]
    [InlineData("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", true)]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true)]
    [InlineData("a-b._~+/", true)]
    [InlineData("", false)]
    [InlineData("==", false)]
    [InlineData("has space", false)]
    [InlineData("sep\u0001arator", false)]
    [InlineData("a=b", false)]
    public void BearerTokensAreRfc6750B64Tokens(string token, bool valid) => Assert.Equal(valid, OAuthBearerMechanism.IsB64Token(token));

    [Theory]
    [InlineData("logicalCluster", "lkc-1", null)]
    [InlineData("auth", "x", "reserved")]
    [InlineData("with_underscore", "x", "letters")]
    [InlineData("", "x", "letters")]
    [InlineData("ok", "", "non-empty")]
    [InlineData("ok", "tab\tand space ok", null)]
    [InlineData("ok", "ctrl\u0001", "printable")]
    public void ExtensionsFollowKip342(string name, string value, string? why)
    {
        var result = SaslSettings.CheckExtension(name, value);
        if (why is null)
        {
            Assert.Null(result);
        }
        else
        {
            Assert.Contains(why, result, StringComparison.Ordinal);
        }
    }
}
