using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Samsa.Testing.Security;

/// <summary>
/// A loopback OAuth 2 token endpoint for the client-credentials grant (RFC 6749 §4.4), what an identity provider
/// offers Kafka clients (KIP-768): it checks the client id and secret (HTTP Basic), and answers with a JWT signed by
/// its <see cref="JwtIssuer"/>, whose subject is the client id. A <see cref="SaslFront"/> accepting the same issuer then
/// accepts the token. Test code: HTTP, not HTTPS.
/// </summary>
public sealed class OidcTokenEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly JwtIssuer _issuer;
    private readonly ConcurrentDictionary<string, string> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string?> _scopes = new();
    private readonly Task _loop;
    private long _lifetimeTicks;
    private int _failNext;
    private int _failStatus = 503;
    private int _requests;
    private int _issued;

    private OidcTokenEndpoint(HttpListener listener, Uri url, JwtIssuer issuer, TimeSpan lifetime)
    {
        _listener = listener;
        _issuer = issuer;
        TokenUrl = url;
        TokenLifetime = lifetime;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The URL to give as <c>sasl.oauthbearer.token.endpoint.url</c>.</summary>
    public Uri TokenUrl { get; }

    /// <summary>How long issued tokens live (their <c>exp</c> and <c>expires_in</c>).</summary>
    public TimeSpan TokenLifetime
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _lifetimeTicks));
        set => Interlocked.Exchange(ref _lifetimeTicks, value.Ticks);
    }

    /// <summary>Token requests received, good or bad.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Tokens issued.</summary>
    public int TokensIssued => Volatile.Read(ref _issued);

    /// <summary>The scope of each token request (null: none asked), in order.</summary>
    public IReadOnlyList<string?> ScopesRequested => [.. _scopes];

    /// <summary>Starts listening on a free loopback port.</summary>
    public static OidcTokenEndpoint Start(JwtIssuer issuer, TimeSpan tokenLifetime)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/oauth2/token");
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            try
            {
                listener.Start();
                return new OidcTokenEndpoint(listener, url, issuer, tokenLifetime);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // The port was taken between probing and listening; try another.
                listener.Close();
            }
        }
    }

    /// <summary>Registers a client that may ask for tokens.</summary>
    public OidcTokenEndpoint AddClient(string clientId, string clientSecret)
    {
        _clients[clientId] = clientSecret;
        return this;
    }

    /// <summary>The next <paramref name="count"/> requests are answered with <paramref name="statusCode"/> (e.g. 503, which
    /// a client retries) without looking at them.</summary>
    public void FailNextRequests(int count, int statusCode = 503)
    {
        Volatile.Write(ref _failStatus, statusCode);
        Volatile.Write(ref _failNext, count);
    }

    /// <summary>Stops the endpoint: closes its listener and waits for its request loop to end.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Close();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
        {
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await AnswerAsync(context).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away.
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        using var response = context.Response;
        if (Interlocked.Decrement(ref _failNext) >= 0)
        {
            await WriteAsync(response, Volatile.Read(ref _failStatus), """{"error":"temporarily_unavailable"}""").ConfigureAwait(false);
            return;
        }

        Interlocked.Exchange(ref _failNext, 0);
        if (request.HttpMethod != "POST")
        {
            await WriteAsync(response, 405, """{"error":"invalid_request"}""").ConfigureAwait(false);
            return;
        }

        string body;
        using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync().ConfigureAwait(false);
        }

        var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => WebUtility.UrlDecode(p[0]), p => p.Length > 1 ? WebUtility.UrlDecode(p[1]) : "", StringComparer.Ordinal);
        if (!form.TryGetValue("grant_type", out var grant) || grant != "client_credentials")
        {
            await WriteAsync(response, 400, """{"error":"unsupported_grant_type"}""").ConfigureAwait(false);
            return;
        }

        if (!TryClient(request.Headers["Authorization"], out var clientId))
        {
            await WriteAsync(response, 401, """{"error":"invalid_client","error_description":"unknown client or wrong secret"}""").ConfigureAwait(false);
            return;
        }

        form.TryGetValue("scope", out var scope);
        _scopes.Enqueue(scope);
        var lifetime = TokenLifetime;
        var token = _issuer.Issue(clientId, lifetime, scope);
        Interlocked.Increment(ref _issued);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("access_token", token);
            json.WriteString("token_type", "Bearer");
            json.WriteNumber("expires_in", (long)lifetime.TotalSeconds);
            if (scope is not null)
            {
                json.WriteString("scope", scope);
            }

            json.WriteEndObject();
        }

        await WriteAsync(response, 200, Encoding.UTF8.GetString(stream.ToArray())).ConfigureAwait(false);
    }

    private bool TryClient(string? authorization, out string clientId)
    {
        clientId = "";
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..]));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        // RFC 6749 §2.3.1 form-encodes both; Java's default does not. Either is accepted.
        foreach (var (id, secret) in new[] { (decoded[..colon], decoded[(colon + 1)..]), (WebUtility.UrlDecode(decoded[..colon]), WebUtility.UrlDecode(decoded[(colon + 1)..])) })
        {
            if (_clients.TryGetValue(id, out var expected) && expected == secret)
            {
                clientId = id;
                return true;
            }
        }

        return false;
    }

    private static async Task WriteAsync(HttpListenerResponse response, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
    }
}
