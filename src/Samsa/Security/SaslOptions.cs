using System.Text;

namespace Samsa;

/// <summary>
/// SASL authentication (<c>sasl.*</c>), used when <see cref="ProducerOptions.SecurityProtocol"/> is
/// <c>SASL_PLAINTEXT</c> or <c>SASL_SSL</c>. Credentials come either from <see cref="JaasConfig"/> (the Java
/// client's <c>sasl.jaas.config</c>) or from the typed properties (<see cref="Username"/>, <see cref="Password"/>,
/// the <c>OAuthBearer*</c> ones), as Confluent.Kafka users set them; not both.
/// </summary>
/// <remarks>
/// <see cref="ToString"/> never shows a password, client secret or the JAAS text: records print every
/// property otherwise, and options end up in logs.
/// </remarks>
/// <example>
/// <code>
/// var options = ProducerOptions.Default with
/// {
///     BootstrapServers = ["broker:9092"],
///     SecurityProtocol = SecurityProtocol.SaslPlaintext,
///     Sasl = new SaslOptions { Mechanism = SaslMechanism.ScramSha512, Username = "alice", Password = secret },
/// };
/// </code>
/// </example>
public sealed record SaslOptions
{
    /// <summary><c>sasl.mechanism</c> (default GSSAPI, as in Java).</summary>
    public SaslMechanism Mechanism { get; init; } = SaslMechanism.Gssapi;

    /// <summary>The user name for PLAIN and SCRAM (librdkafka's <c>sasl.username</c>); or give it in <see cref="JaasConfig"/>.</summary>
    public string? Username { get; init; }

    /// <summary>The password for PLAIN and SCRAM (librdkafka's <c>sasl.password</c>); or give it in <see cref="JaasConfig"/>.</summary>
    public string? Password { get; init; }

    /// <summary>
    /// <c>sasl.jaas.config</c>, in Java's syntax, e.g.
    /// <c>org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="…";</c>.
    /// Login modules understood: <c>PlainLoginModule</c> and <c>ScramLoginModule</c> (username, password;
    /// tokenauth for SCRAM delegation tokens), <c>OAuthBearerLoginModule</c> (clientId, clientSecret, scope,
    /// <c>extension_NAME</c>), for GSSAPI <c>com.sun.security.auth.module.Krb5LoginModule</c> (useKeyTab, keyTab,
    /// principal, useTicketCache, serviceName) and for AWS_MSK_IAM the AWS library's
    /// <c>software.amazon.msk.auth.iam.IAMLoginModule</c> (awsProfileName).
    /// </summary>
    public string? JaasConfig { get; init; }

    /// <summary><c>sasl.kerberos.service.name</c>: the brokers' Kerberos service name for GSSAPI (usually <c>kafka</c>: the
    /// target is <c>kafka/broker-host@REALM</c>); or give it as the JAAS option <c>serviceName</c>.</summary>
    public string? KerberosServiceName { get; init; }

    /// <summary>
    /// <c>sasl.oauthbearer.token.endpoint.url</c>: the OAuth/OIDC token endpoint for the client-credentials grant
    /// (KIP-768), or a <c>file:</c> URL of a file holding a JWT, read again at each refresh.
    /// </summary>
    public string? OAuthBearerTokenEndpointUrl { get; init; }

    /// <summary>
    /// <c>sasl.login.callback.handler.class</c>: only Java's OIDC handler
    /// (<c>org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler</c>, or its older
    /// <c>…oauthbearer.secured.</c> name) is accepted; it means the built-in client-credentials login.
    /// </summary>
    public string? LoginCallbackHandlerClass { get; init; }

    /// <summary><c>sasl.oauthbearer.client.credentials.client.id</c> (Kafka 4.1), or the JAAS option <c>clientId</c>.</summary>
    public string? OAuthBearerClientId { get; init; }

    /// <summary><c>sasl.oauthbearer.client.credentials.client.secret</c> (Kafka 4.1), or the JAAS option <c>clientSecret</c>.</summary>
    public string? OAuthBearerClientSecret { get; init; }

    /// <summary><c>sasl.oauthbearer.scope</c> (Kafka 4.1), or the JAAS option <c>scope</c>: the scope asked for at the token endpoint.</summary>
    public string? OAuthBearerScope { get; init; }

    /// <summary>
    /// SASL extensions sent with the OAUTHBEARER token (KIP-342), e.g. Confluent Cloud's <c>logicalCluster</c> and
    /// <c>identityPoolId</c>; the JAAS options <c>extension_NAME="value"</c> add to them. Names are letters only.
    /// </summary>
    public IReadOnlyDictionary<string, string>? OAuthBearerExtensions { get; init; }

    /// <summary><c>sasl.oauthbearer.scope.claim.name</c> (default <c>scope</c>): the JWT claim that holds the token's scope.</summary>
    public string OAuthBearerScopeClaimName { get; init; } = "scope";

    /// <summary><c>sasl.oauthbearer.sub.claim.name</c> (default <c>sub</c>): the JWT claim that names the token's principal.</summary>
    public string OAuthBearerSubClaimName { get; init; } = "sub";

    /// <summary><c>sasl.oauthbearer.header.urlencode</c> (default false): URL-encode the client id and secret in the Basic authorization header (RFC 6749 §2.3.1).</summary>
    public bool OAuthBearerHeaderUrlEncode { get; init; }

    /// <summary>
    /// Where OAUTHBEARER tokens come from instead of the token endpoint (see
    /// <see cref="ProducerBuilder{TKey, TValue}.SetOAuthBearerTokenProvider"/>). It is called when a connection
    /// authenticates and the cached token is due for refresh; all connections of a producer share its token.
    /// </summary>
    public Func<CancellationToken, ValueTask<OAuthBearerToken>>? OAuthBearerTokenProvider { get; init; }

    /// <summary>
    /// <c>sasl.client.callback.handler.class</c>: only the AWS library's
    /// <c>software.amazon.msk.auth.iam.IAMClientCallbackHandler</c> is accepted (with AWS_MSK_IAM), so that Amazon MSK's
    /// Java client properties work unchanged; it means the built-in AWS credential lookup.
    /// </summary>
    public string? ClientCallbackHandlerClass { get; init; }

    /// <summary>
    /// AWS_MSK_IAM: the AWS region to sign for. Null (default): the region in the broker's host name
    /// (<c>b-1.cluster.xxxx.c2.kafka.us-east-1.amazonaws.com</c>), else <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c> or the
    /// profile's <c>region</c>.
    /// </summary>
    public string? AwsRegion { get; init; }

    /// <summary>
    /// AWS_MSK_IAM: where credentials come from instead of the environment and the shared profile files (see
    /// <see cref="ProducerBuilder{TKey, TValue}.SetAwsCredentialsProvider"/>). Called at every authentication.
    /// </summary>
    public Func<CancellationToken, ValueTask<AwsCredentials>>? AwsCredentialsProvider { get; init; }

    /// <summary><c>sasl.login.refresh.window.factor</c> (default 0.8, 0.5 to 1.0): a token is refreshed after this share of its lifetime.</summary>
    public double LoginRefreshWindowFactor { get; init; } = 0.8;

    /// <summary><c>sasl.login.refresh.window.jitter</c> (default 0.05, 0 to 0.25): random share of the lifetime added to the refresh point.</summary>
    public double LoginRefreshWindowJitter { get; init; } = 0.05;

    /// <summary><c>sasl.login.refresh.min.period.seconds</c> (default 60 s, 0 to 900 s): the least time between two refreshes.</summary>
    public TimeSpan LoginRefreshMinPeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>sasl.login.refresh.buffer.seconds</c> (default 300 s, 0 to 3600 s): the time before expiry a refresh tries to keep.</summary>
    public TimeSpan LoginRefreshBuffer { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary><c>sasl.login.connect.timeout.ms</c>: the connect timeout towards the token endpoint (null: 10 s).</summary>
    public TimeSpan? LoginConnectTimeout { get; init; }

    /// <summary><c>sasl.login.read.timeout.ms</c>: how long a token request may take once connected (null: 30 s).</summary>
    public TimeSpan? LoginReadTimeout { get; init; }

    /// <summary><c>sasl.login.retry.backoff.ms</c> (default 100 ms): the first wait before asking the token endpoint again.</summary>
    public TimeSpan LoginRetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>sasl.login.retry.backoff.max.ms</c> (default 10000 ms): the cap of that doubling wait, and of the time spent retrying.</summary>
    public TimeSpan LoginRetryBackoffMax { get; init; } = TimeSpan.FromMilliseconds(10_000);

    // Secrets are shown as set or not, never as text: options get logged, and records print everything.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Mechanism = ").Append(Security.Sasl.SaslSettings.MechanismName(Mechanism));
        builder.Append(", Username = ").Append(Username);
        builder.Append(", Password = ").Append(Hidden(Password));
        builder.Append(", JaasConfig = ").Append(Hidden(JaasConfig));
        builder.Append(", KerberosServiceName = ").Append(KerberosServiceName);
        builder.Append(", OAuthBearerTokenEndpointUrl = ").Append(OAuthBearerTokenEndpointUrl);
        builder.Append(", LoginCallbackHandlerClass = ").Append(LoginCallbackHandlerClass);
        builder.Append(", OAuthBearerClientId = ").Append(OAuthBearerClientId);
        builder.Append(", OAuthBearerClientSecret = ").Append(Hidden(OAuthBearerClientSecret));
        builder.Append(", OAuthBearerScope = ").Append(OAuthBearerScope);
        builder.Append(", OAuthBearerExtensions = ").Append(OAuthBearerExtensions is null ? "" : string.Join(", ", OAuthBearerExtensions.Keys));
        builder.Append(", OAuthBearerTokenProvider = ").Append(OAuthBearerTokenProvider is null ? "" : "(set)");
        builder.Append(", ClientCallbackHandlerClass = ").Append(ClientCallbackHandlerClass);
        builder.Append(", AwsRegion = ").Append(AwsRegion);
        builder.Append(", AwsCredentialsProvider = ").Append(AwsCredentialsProvider is null ? "" : "(set)");
        return true;
    }

    private static string Hidden(string? secret) => secret is null ? "" : "(hidden)";
}

/// <summary><c>sasl.mechanism</c>; the names follow Confluent.Kafka's <c>SaslMechanism</c>.</summary>
public enum SaslMechanism
{
    /// <summary><c>GSSAPI</c> (Kerberos V5, RFC 4752), Java's default: through the platform's GSSAPI library (MIT Kerberos on Linux).</summary>
    Gssapi,

    /// <summary><c>PLAIN</c> (RFC 4616): user name and password, in the clear, so only over TLS in production.</summary>
    Plain,

    /// <summary><c>SCRAM-SHA-256</c> (RFC 5802, RFC 7677).</summary>
    ScramSha256,

    /// <summary><c>SCRAM-SHA-512</c>.</summary>
    ScramSha512,

    /// <summary><c>OAUTHBEARER</c> (RFC 7628, KIP-255): a token from a provider or an OIDC token endpoint (KIP-768).</summary>
    OAuthBearer,

    /// <summary>
    /// <c>AWS_MSK_IAM</c>: Amazon MSK's IAM access control, a SigV4-signed request with AWS credentials from the
    /// environment, the shared profile files or a provider (<see cref="ProducerBuilder{TKey, TValue}.SetAwsCredentialsProvider"/>).
    /// </summary>
    AwsMskIam,
}
