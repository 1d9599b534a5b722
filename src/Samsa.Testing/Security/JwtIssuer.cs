using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Samsa.Testing.Security;

/// <summary>
/// Issues and verifies signed JWTs (RFC 7519) for OAUTHBEARER tests: HS256 with a shared key or RS256 with an
/// RSA key pair. <see cref="OidcTokenEndpoint"/> issues with it, <see cref="SaslFront"/> verifies with it, the way
/// an identity provider and a broker's JWKS validation share a key. Test code only: no key rotation, no JWKS.
/// </summary>
public sealed class JwtIssuer : IDisposable
{
    private readonly byte[]? _hmacKey;
    private readonly RSA? _rsa;

    private JwtIssuer(byte[]? hmacKey, RSA? rsa, string issuer)
    {
        _hmacKey = hmacKey;
        _rsa = rsa;
        Issuer = issuer;
    }

    /// <summary>The <c>iss</c> claim of issued tokens.</summary>
    public string Issuer { get; }

    /// <summary>The JWS algorithm: HS256 or RS256.</summary>
    public string Algorithm => _rsa is null ? "HS256" : "RS256";

    /// <summary>An issuer signing with HMAC-SHA256 and a random 256-bit key.</summary>
    public static JwtIssuer CreateHmac(string issuer = "samsa-test-idp") => new(RandomNumberGenerator.GetBytes(32), null, issuer);

    /// <summary>An issuer signing with RSA-SHA256 and a fresh 2048-bit key.</summary>
    public static JwtIssuer CreateRsa(string issuer = "samsa-test-idp") => new(null, RSA.Create(2048), issuer);

    /// <summary>A signed token for <paramref name="subject"/>, valid from now for <paramref name="lifetime"/>.</summary>
    public string Issue(string subject, TimeSpan lifetime, string? scope = null, IReadOnlyDictionary<string, string>? claims = null)
    {
        var now = DateTimeOffset.UtcNow;
        var header = Base64Url(Encoding.UTF8.GetBytes($$"""{"alg":"{{Algorithm}}","typ":"JWT"}"""));
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("iss", Issuer);
            json.WriteString("sub", subject);
            json.WriteNumber("iat", now.ToUnixTimeSeconds());
            // Whole seconds, as JWTs carry them: the token lives at most as long as asked.
            json.WriteNumber("exp", (now + lifetime).ToUnixTimeSeconds());
            if (scope is not null)
            {
                json.WriteString("scope", scope);
            }

            foreach (var (name, value) in claims ?? new Dictionary<string, string>())
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
        }

        var payload = Base64Url(stream.ToArray());
        var signingInput = $"{header}.{payload}";
        return $"{signingInput}.{Base64Url(Sign(Encoding.ASCII.GetBytes(signingInput)))}";
    }

    /// <summary>
    /// Checks the token's algorithm, signature and expiry (against <paramref name="now"/>) and returns its subject;
    /// on failure, null and why.
    /// </summary>
    public (string? Subject, DateTimeOffset Expiry, string? Error) Validate(string token, DateTimeOffset now)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return (null, default, "not a JWS compact serialization");
        }

        try
        {
            using var header = JsonDocument.Parse(Base64UrlDecode(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.GetString() != Algorithm)
            {
                return (null, default, $"algorithm is not {Algorithm}");
            }

            if (!Verify(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64UrlDecode(parts[2])))
            {
                return (null, default, "signature does not verify");
            }

            using var payload = JsonDocument.Parse(Base64UrlDecode(parts[1]));
            var root = payload.RootElement;
            if (!root.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number)
            {
                return (null, default, "no exp claim");
            }

            var expiry = DateTimeOffset.FromUnixTimeSeconds(exp.GetInt64());
            if (expiry <= now)
            {
                return (null, expiry, string.Create(CultureInfo.InvariantCulture, $"token expired at {expiry:O}"));
            }

            if (!root.TryGetProperty("sub", out var sub) || sub.GetString() is not { Length: > 0 } subject)
            {
                return (null, expiry, "no sub claim");
            }

            return (subject, expiry, null);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return (null, default, "malformed: " + e.Message);
        }
    }

    /// <summary>Releases the RSA key of an RS256 issuer.</summary>
    public void Dispose() => _rsa?.Dispose();

    internal static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static byte[] Base64UrlDecode(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    private byte[] Sign(byte[] data) =>
        _rsa is null ? HMACSHA256.HashData(_hmacKey!, data) : _rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    private bool Verify(byte[] data, byte[] signature) =>
        _rsa is null
            ? CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_hmacKey!, data), signature)
            : _rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
}
