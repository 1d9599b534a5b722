using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Samsa.Testing.Security;

/// <summary>
/// The broker side of SASL for a <see cref="Proxy.KafkaProxy"/> (<see cref="Proxy.KafkaProxy.Start(MockCluster, SaslFront)"/>):
/// librdkafka's mock cluster has no SASL, so the proxy speaks it in front of each mock broker, as a Kafka broker's
/// SASL listener would (KIP-43, SaslAuthenticate v0-v2, KIP-368), then forwards the connection's traffic to the mock.
/// </summary>
/// <remarks>
/// <para>Mechanisms: PLAIN and SCRAM-SHA-256/512 against a credential table (SCRAM keeps only salted keys, as a
/// broker does), OAUTHBEARER verifying a JWT's signature and expiry with a <see cref="JwtIssuer"/>, GSSAPI (Kerberos) with
/// the service keytab of the process (<see cref="AcceptGssapi"/>, <see cref="KerberosRealm"/>), AWS_MSK_IAM recomputing
/// the SigV4 signature from a table of AWS access keys and checking its date and expiry.</para>
/// <para>As a Kafka broker does, it closes a connection that sends anything but ApiVersions, SaslHandshake and
/// SaslAuthenticate before authenticating, that fails to authenticate (after the error answer), or that sends any
/// request after its session expired (<see cref="SessionLifetime"/>, like <c>connections.max.reauth.ms</c>; for
/// OAUTHBEARER also the token's expiry). A client that does not re-authenticate in time therefore loses its
/// connection, which tests can see in <see cref="ExpiredSessionClosures"/>.</para>
/// <para>Independent of the Samsa library: the test kit must not share the client's understanding of the protocol.</para>
/// </remarks>
public sealed class SaslFront
{
    private readonly ConcurrentDictionary<string, string> _plain = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Mechanism, string User), ScramCredential> _scram = new();
    private readonly ConcurrentDictionary<string, AwsIdentity> _aws = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentDictionary<string, int> _principals = new(StringComparer.Ordinal);
    private long _sessionLifetimeTicks;
    private long _expiryGraceTicks;
    private int _authentications;
    private int _reauthentications;
    private int _failedAuthentications;
    private int _expiredSessionClosures;
    private int _corruptSignature;
    private int _maxAuthenticateVersion = 2;
    private IReadOnlyDictionary<string, string>? _lastExtensions;
    private IReadOnlyDictionary<string, string>? _lastAwsMessage;

    /// <summary>
    /// The host name the brokers advertise (and the proxy's bootstrap list names), or null for 127.0.0.1. GSSAPI sets it:
    /// a Kerberos client names the broker's service principal by the host it connects to.
    /// </summary>
    public string? AdvertisedHost { get; private set; }

    /// <summary>The Kerberos service name GSSAPI accepts (the service of <c>service/host@REALM</c>); null: GSSAPI is not enabled.</summary>
    public string? GssapiServiceName { get; private set; }

    /// <summary>The OAUTHBEARER token verifier; null: OAUTHBEARER is not enabled.</summary>
    public JwtIssuer? OAuthBearerIssuer { get; private set; }

    /// <summary>
    /// The session lifetime given in SaslAuthenticate v1+ answers and enforced (Kafka's <c>connections.max.reauth.ms</c>);
    /// <see cref="TimeSpan.Zero"/> (default): sessions do not expire, except OAUTHBEARER ones with their token.
    /// </summary>
    public TimeSpan SessionLifetime
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _sessionLifetimeTicks));
        set => Interlocked.Exchange(ref _sessionLifetimeTicks, value.Ticks);
    }

    /// <summary>
    /// How long after a session's expiry requests are still accepted (default zero, as Kafka: the first request after expiry
    /// closes the connection). A client re-authenticates at 85-95% of the lifetime on a timer; on a loaded test machine a
    /// timer can fire a few hundred milliseconds late, which matters with the second-long sessions tests use, not with a
    /// broker's minutes. A grace lets such tests tolerate scheduling while a client that does not re-authenticate at all
    /// still loses its connection.
    /// </summary>
    public TimeSpan ExpiryGrace
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _expiryGraceTicks));
        set => Interlocked.Exchange(ref _expiryGraceTicks, value.Ticks);
    }

    /// <summary>When true, SCRAM server-final messages carry a wrong server signature, as a server that does not know the
    /// credentials would send: a client must refuse it.</summary>
    public bool CorruptScramServerSignature
    {
        get => Volatile.Read(ref _corruptSignature) != 0;
        set => Volatile.Write(ref _corruptSignature, value ? 1 : 0);
    }

    /// <summary>The highest SaslAuthenticate version advertised and accepted, 0 to 2 (default 2): v0 has no session
    /// lifetime, v1 adds it (KIP-368), v2 is the flexible form. Lower it to act as an older broker.</summary>
    public short MaxSaslAuthenticateVersion
    {
        get => (short)Volatile.Read(ref _maxAuthenticateVersion);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, (short)2);
            Volatile.Write(ref _maxAuthenticateVersion, value);
        }
    }

    /// <summary>The mechanisms enabled by the credentials added so far, as a SaslHandshake answer lists them.</summary>
    public IReadOnlyList<string> EnabledMechanisms
    {
        get
        {
            var list = new List<string>();
            if (!_plain.IsEmpty)
            {
                list.Add("PLAIN");
            }

            list.AddRange(_scram.Keys.Select(k => k.Mechanism).Distinct().Order(StringComparer.Ordinal));
            if (OAuthBearerIssuer is not null)
            {
                list.Add("OAUTHBEARER");
            }

            if (GssapiServiceName is not null)
            {
                list.Add("GSSAPI");
            }

            if (!_aws.IsEmpty)
            {
                list.Add("AWS_MSK_IAM");
            }

            return list;
        }
    }

    /// <summary>First authentications that succeeded.</summary>
    public int Authentications => Volatile.Read(ref _authentications);

    /// <summary>KIP-368 re-authentications that succeeded.</summary>
    public int Reauthentications => Volatile.Read(ref _reauthentications);

    /// <summary>Authentications and re-authentications refused (bad credentials, expired token, unknown mechanism).</summary>
    public int FailedAuthentications => Volatile.Read(ref _failedAuthentications);

    /// <summary>Connections closed because a request came after the session had expired.</summary>
    public int ExpiredSessionClosures => Volatile.Read(ref _expiredSessionClosures);

    /// <summary>Protocol violations that closed a connection (a request before authenticating, or between the messages of a
    /// re-authentication): empty when the client behaved.</summary>
    public IReadOnlyList<string> Violations => [.. _violations];

    /// <summary>Why authentications were refused, in order (what the front told the client).</summary>
    public IReadOnlyList<string> Failures => [.. _failures];

    /// <summary>The principals that authenticated, with how many times.</summary>
    public IReadOnlyDictionary<string, int> Principals => new Dictionary<string, int>(_principals, StringComparer.Ordinal);

    /// <summary>The SASL extensions of the last OAUTHBEARER authentication (KIP-342).</summary>
    public IReadOnlyDictionary<string, string>? LastOAuthBearerExtensions => Volatile.Read(ref _lastExtensions);

    /// <summary>AWS_MSK_IAM: the region signatures must be scoped to; null (default): any.</summary>
    public string? ExpectedAwsRegion { get; set; }

    /// <summary>AWS_MSK_IAM: how far in the future a request's <c>x-amz-date</c> may be (default 5 minutes, as AWS allows).</summary>
    public TimeSpan AwsClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>AWS_MSK_IAM: how far the front's clock is ahead of the real one when it checks dates (default zero):
    /// a positive offset acts as a client whose clock is behind, a negative one as a client whose clock is ahead.</summary>
    public TimeSpan AwsClockOffset { get; set; }

    /// <summary>The fields of the last AWS_MSK_IAM message that was checked (accepted or not); the signature and token
    /// are in it, so it is for tests, not logs.</summary>
    public IReadOnlyDictionary<string, string>? LastAwsMskIamMessage => Volatile.Read(ref _lastAwsMessage);

    /// <summary>
    /// Lets the AWS access key <paramref name="accessKeyId"/> authenticate with AWS_MSK_IAM: a message signed with
    /// <paramref name="secretAccessKey"/> (and, for temporary credentials, carrying <paramref name="sessionToken"/>) is
    /// accepted, as <paramref name="principal"/> (default: an IAM user ARN named after the key).
    /// </summary>
    public SaslFront AddAwsCredentials(string accessKeyId, string secretAccessKey, string? sessionToken = null, string? principal = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessKeyId);
        ArgumentException.ThrowIfNullOrEmpty(secretAccessKey);
        _aws[accessKeyId] = new AwsIdentity(secretAccessKey, sessionToken, principal ?? $"arn:aws:iam::123456789012:user/{accessKeyId}");
        return this;
    }

    /// <summary>Lets <paramref name="username"/> authenticate with PLAIN.</summary>
    public SaslFront AddPlainUser(string username, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        _plain[username] = password;
        return this;
    }

    /// <summary>Lets <paramref name="username"/> authenticate with <paramref name="mechanism"/> (SCRAM-SHA-256 or SCRAM-SHA-512);
    /// like a broker, only the salted keys are kept.</summary>
    public SaslFront AddScramUser(string mechanism, string username, string password, int iterations = 4096)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        var hash = mechanism switch
        {
            "SCRAM-SHA-256" => HashAlgorithmName.SHA256,
            "SCRAM-SHA-512" => HashAlgorithmName.SHA512,
            _ => throw new ArgumentException($"Unknown SCRAM mechanism '{mechanism}'; expected SCRAM-SHA-256 or SCRAM-SHA-512.", nameof(mechanism)),
        };
        _scram[(mechanism, username)] = ScramCredential.Create(hash, password, iterations);
        return this;
    }

    /// <summary>Enables OAUTHBEARER, accepting tokens that <paramref name="issuer"/> signed and that have not expired.</summary>
    public SaslFront AcceptOAuthBearer(JwtIssuer issuer)
    {
        OAuthBearerIssuer = issuer ?? throw new ArgumentNullException(nameof(issuer));
        return this;
    }

    /// <summary>
    /// Enables GSSAPI (Kerberos, RFC 4752) through .NET's <see cref="System.Net.Security.NegotiateAuthentication"/> in server
    /// mode: the service keytab comes from <c>KRB5_KTNAME</c> and the realm from <c>KRB5_CONFIG</c> of the process (see
    /// <see cref="KerberosRealm"/>), and the brokers advertise <paramref name="host"/>, the host of the service principal
    /// <c>{serviceName}/{host}@REALM</c>.
    /// </summary>
    public SaslFront AcceptGssapi(string serviceName = "kafka", string host = "localhost")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        GssapiServiceName = serviceName;
        AdvertisedHost = host;
        return this;
    }

    internal AwsIdentity? AwsIdentity(string accessKeyId) => _aws.TryGetValue(accessKeyId, out var identity) ? identity : null;

    internal void RecordAwsMessage(IReadOnlyDictionary<string, string> fields) => Volatile.Write(ref _lastAwsMessage, fields);

    internal string? PlainPassword(string username) => _plain.TryGetValue(username, out var p) ? p : null;

    internal ScramCredential? Scram(string mechanism, string username) => _scram.TryGetValue((mechanism, username), out var c) ? c : null;

    internal void CountAuthenticated(string principal, bool reauthentication)
    {
        Interlocked.Increment(ref reauthentication ? ref _reauthentications : ref _authentications);
        _principals.AddOrUpdate(principal, 1, (_, n) => n + 1);
    }

    internal void CountFailed(string why)
    {
        Interlocked.Increment(ref _failedAuthentications);
        _failures.Enqueue(why);
    }

    internal void CountExpired() => Interlocked.Increment(ref _expiredSessionClosures);

    internal void ReportViolation(string what) => _violations.Enqueue(what);

    internal void RecordExtensions(IReadOnlyDictionary<string, string> extensions) => Volatile.Write(ref _lastExtensions, extensions);
}

/// <summary>What a broker stores for a SCRAM user (RFC 5802): salt, iterations, StoredKey and ServerKey; not the password.</summary>
internal sealed record ScramCredential(HashAlgorithmName Hash, byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey)
{
    public static ScramCredential Create(HashAlgorithmName hash, string password, int iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var length = hash == HashAlgorithmName.SHA512 ? 64 : 32;
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, hash, length);
        var clientKey = Hmac(hash, salted, "Client Key"u8.ToArray());
        return new ScramCredential(hash, salt, iterations, HashOf(hash, clientKey), Hmac(hash, salted, "Server Key"u8.ToArray()));
    }

    public static byte[] Hmac(HashAlgorithmName hash, byte[] key, byte[] data) =>
        hash == HashAlgorithmName.SHA512 ? HMACSHA512.HashData(key, data) : HMACSHA256.HashData(key, data);

    public static byte[] HashOf(HashAlgorithmName hash, byte[] data) =>
        hash == HashAlgorithmName.SHA512 ? SHA512.HashData(data) : SHA256.HashData(data);
}
