using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Samsa.Diagnostics;

namespace Samsa.Security.Sasl;

/// <summary>
/// The built-in OAUTHBEARER login (KIP-768), Java's <c>OAuthBearerLoginCallbackHandler</c>: the OAuth 2
/// client-credentials grant against <c>sasl.oauthbearer.token.endpoint.url</c> (a form POST of
/// <c>grant_type=client_credentials</c> and the scope, the client id and secret as HTTP Basic credentials), or,
/// for a <c>file:</c> URL, the JWT in that file. The token's expiry and principal come from its <c>exp</c> and
/// <c>sub</c> claims (<c>sasl.oauthbearer.sub.claim.name</c>), as Java's <c>ClientJwtValidator</c> reads them.
/// Transient failures (no connection, HTTP 408, 429, 5xx) are retried with a doubling backoff from
/// <c>sasl.login.retry.backoff.ms</c> for at most <c>sasl.login.retry.backoff.max.ms</c>; a refusal (other 4xx)
/// is an authentication failure at once.
/// </summary>
internal sealed partial class OidcTokenSource : IDisposable
{
    private static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DefaultReadTimeout = TimeSpan.FromSeconds(30);

    private readonly SaslSettings _settings;
    private readonly ILogger _logger;
    private readonly Lazy<HttpClient> _http;

    public OidcTokenSource(SaslSettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
        _http = new Lazy<HttpClient>(() => new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = settings.Options.LoginConnectTimeout ?? DefaultConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        });
    }

    private Uri Endpoint => _settings.TokenEndpoint!;

    // Enough to name the endpoint in messages without a query string that might carry something private.
    private string EndpointText => Endpoint.GetLeftPart(UriPartial.Path);

    public async ValueTask<OAuthBearerToken> FetchAsync(CancellationToken cancellationToken)
    {
        if (Endpoint.IsFile)
        {
            string jwt;
            try
            {
                jwt = (await File.ReadAllTextAsync(Endpoint.LocalPath, cancellationToken).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new KafkaException($"Could not read the OAUTHBEARER token file {Endpoint.LocalPath}: {e.Message}", ErrorCode.SaslAuthenticationFailed, isRetriable: true, e);
            }

            return FromJwt(jwt, expiresInSeconds: null);
        }

        var started = Environment.TickCount64;
        var maxRetryMs = (long)_settings.Options.LoginRetryBackoffMax.TotalMilliseconds;
        var wait = _settings.Options.LoginRetryBackoff;
        for (var attempt = 1; ; attempt++)
        {
            string why;
            try
            {
                return await RequestAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (TransientTokenFailure e)
            {
                why = e.Message;
            }

            var elapsed = Environment.TickCount64 - started;
            if (elapsed + (long)wait.TotalMilliseconds > maxRetryMs)
            {
                throw new KafkaException(
                    $"Could not get an OAUTHBEARER token from {EndpointText} ({attempt} attempt(s) within sasl.login.retry.backoff.max.ms): {why}",
                    ErrorCode.SaslAuthenticationFailed,
                    isRetriable: true);
            }

            SecurityLog.OidcTokenRequestFailed(_logger, EndpointText, attempt, why);
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, _settings.Options.LoginRetryBackoffMax.Ticks));
        }
    }

    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }

    /// <summary>The HTTP Basic credentials: <c>id:secret</c>, each form-URL-encoded first when asked (RFC 6749 §2.3.1).</summary>
    internal static string BasicCredentials(string clientId, string clientSecret, bool urlEncode)
    {
        if (urlEncode)
        {
            clientId = WebUtility.UrlEncode(clientId);
            clientSecret = WebUtility.UrlEncode(clientSecret);
        }

        return Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{clientSecret}"));
    }

    /// <summary>The form body of the client-credentials grant.</summary>
    internal static string RequestBody(string? scope) =>
        "grant_type=client_credentials" + (scope is null ? "" : "&scope=" + WebUtility.UrlEncode(scope));

    /// <summary>Reads a token endpoint's JSON answer: the access token and, if given, its lifetime in seconds.</summary>
    internal static (string? AccessToken, long? ExpiresIn, string? Error) ReadTokenResponse(ReadOnlySpan<byte> json)
    {
        string? token = null, error = null, description = null;
        long? expiresIn = null;
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("the answer is not a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "access_token" when reader.TokenType == JsonTokenType.String:
                    token = reader.GetString();
                    break;
                case "expires_in" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n):
                    expiresIn = n;
                    break;
                case "expires_in" when reader.TokenType == JsonTokenType.String && long.TryParse(reader.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var s):
                    expiresIn = s;
                    break;
                case "error" when reader.TokenType == JsonTokenType.String:
                    error = reader.GetString();
                    break;
                case "error_description" when reader.TokenType == JsonTokenType.String:
                    description = reader.GetString();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return (token, expiresIn, error is null ? null : description is null ? error : $"{error}: {description}");
    }

    private async Task<OAuthBearerToken> RequestAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint)
        {
            Content = new StringContent(RequestBody(_settings.Scope), Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicCredentials(_settings.ClientId, _settings.ClientSecret, _settings.Options.OAuthBearerHeaderUrlEncode));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.Options.LoginReadTimeout ?? DefaultReadTimeout);
        HttpResponseMessage response;
        byte[] body;
        try
        {
            response = await _http.Value.SendAsync(request, timeout.Token).ConfigureAwait(false);
            body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new TransientTokenFailure(e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransientTokenFailure("no answer within sasl.login.read.timeout.ms");
        }

        using (response)
        {
            var code = (int)response.StatusCode;
            string? accessToken = null, error = null;
            long? expiresIn = null;
            try
            {
                (accessToken, expiresIn, error) = ReadTokenResponse(body);
            }
            catch (JsonException)
            {
                // Not JSON (an HTML error page): the status line says enough.
            }

            if (response.IsSuccessStatusCode)
            {
                return accessToken is { Length: > 0 }
                    ? FromJwt(accessToken, expiresIn)
                    : throw new KafkaAuthenticationException($"The token endpoint {EndpointText} answered HTTP {code} without an access_token.");
            }

            var what = $"HTTP {code} {response.ReasonPhrase}" + (error is null ? "" : $" ({error})");
            if (code is 408 or 429 || code >= 500)
            {
                throw new TransientTokenFailure(what);
            }

            throw new KafkaAuthenticationException($"The token endpoint {EndpointText} refused the OAUTHBEARER client credentials of '{_settings.ClientId}': {what}.");
        }
    }

    private OAuthBearerToken FromJwt(string token, long? expiresInSeconds)
    {
        var options = _settings.Options;
        var claims = JwtClaims.TryRead(token, options.OAuthBearerSubClaimName);
        DateTimeOffset expiry;
        if (claims?.Expiry is { } exp)
        {
            expiry = exp;
        }
        else if (expiresInSeconds is { } seconds)
        {
            // An opaque token (not a JWT): its lifetime comes from the token endpoint's answer.
            expiry = DateTimeOffset.UtcNow.AddSeconds(seconds);
        }
        else
        {
            throw new KafkaAuthenticationException($"The OAUTHBEARER token from {EndpointText} has no expiry: it is not a JWT with an 'exp' claim and the answer has no expires_in.");
        }

        var principal = claims?.Subject;
        if (claims is not null && string.IsNullOrEmpty(principal))
        {
            throw new KafkaAuthenticationException(
                $"The OAUTHBEARER token from {EndpointText} has no '{options.OAuthBearerSubClaimName}' claim to name its principal; set {SaslConfigKeys.SubClaimName} to the claim your identity provider uses.");
        }

        return new OAuthBearerToken(token, expiry, principal ?? _settings.ClientId) { IssuedAt = claims?.IssuedAt };
    }

    private sealed class TransientTokenFailure(string message) : Exception(message);
}

/// <summary>The claims of a JWT's payload that a client needs; the signature is the broker's business.</summary>
internal sealed record JwtClaims(DateTimeOffset? Expiry, DateTimeOffset? IssuedAt, string? Subject)
{
    /// <summary>The claims, or null when <paramref name="token"/> is not a JWT (three base64url parts, a JSON payload).</summary>
    public static JwtClaims? TryRead(string token, string subjectClaim)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var payload = Base64UrlDecode(parts[1]);
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            DateTimeOffset? expiry = null, issuedAt = null;
            string? subject = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                if (name == "exp" && reader.TokenType == JsonTokenType.Number)
                {
                    expiry = DateTimeOffset.FromUnixTimeMilliseconds((long)(reader.GetDouble() * 1000));
                }
                else if (name == "iat" && reader.TokenType == JsonTokenType.Number)
                {
                    issuedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(reader.GetDouble() * 1000));
                }
                else if (name == subjectClaim && reader.TokenType == JsonTokenType.String)
                {
                    subject = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            return new JwtClaims(expiry, issuedAt, subject);
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentOutOfRangeException or InvalidOperationException)
        {
            return null;
        }
    }

    internal static byte[] Base64UrlDecode(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        return Convert.FromBase64String(s);
    }
}
