using System.Globalization;

namespace Samsa;

/// <summary>The Java <c>sasl.*</c> producer config keys that Samsa accepts.</summary>
internal static class SaslConfigKeys
{
    public const string Mechanism = "sasl.mechanism";
    public const string JaasConfig = "sasl.jaas.config";
    public const string KerberosServiceName = "sasl.kerberos.service.name";
    public const string LoginCallbackHandlerClass = "sasl.login.callback.handler.class";
    public const string ClientCallbackHandlerClass = "sasl.client.callback.handler.class";

    /// <summary>The AWS library's callback handler, which Amazon MSK's Java client properties name with AWS_MSK_IAM.</summary>
    public const string MskIamCallbackHandler = "software.amazon.msk.auth.iam.IAMClientCallbackHandler";
    public const string TokenEndpointUrl = "sasl.oauthbearer.token.endpoint.url";
    public const string ScopeClaimName = "sasl.oauthbearer.scope.claim.name";
    public const string SubClaimName = "sasl.oauthbearer.sub.claim.name";
    public const string HeaderUrlEncode = "sasl.oauthbearer.header.urlencode";
    public const string ClientId = "sasl.oauthbearer.client.credentials.client.id";
    public const string ClientSecret = "sasl.oauthbearer.client.credentials.client.secret";
    public const string Scope = "sasl.oauthbearer.scope";
    public const string JwtRetrieverClass = "sasl.oauthbearer.jwt.retriever.class";
    public const string JwtValidatorClass = "sasl.oauthbearer.jwt.validator.class";
    public const string RefreshWindowFactor = "sasl.login.refresh.window.factor";
    public const string RefreshWindowJitter = "sasl.login.refresh.window.jitter";
    public const string RefreshMinPeriodSeconds = "sasl.login.refresh.min.period.seconds";
    public const string RefreshBufferSeconds = "sasl.login.refresh.buffer.seconds";
    public const string LoginConnectTimeoutMs = "sasl.login.connect.timeout.ms";
    public const string LoginReadTimeoutMs = "sasl.login.read.timeout.ms";
    public const string LoginRetryBackoffMs = "sasl.login.retry.backoff.ms";
    public const string LoginRetryBackoffMaxMs = "sasl.login.retry.backoff.max.ms";

    /// <summary>Java's OIDC login callback handler (Kafka 3.4+) and its older name (Kafka 3.1-3.3).</summary>
    public static readonly string[] OidcCallbackHandlers =
    [
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
    ];

    /// <summary>The <c>sasl.oauthbearer.jwt.retriever.class</c> values that mean what Samsa does (Kafka 4.1).</summary>
    public static readonly string[] JwtRetrievers =
    [
        "org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever",
        "org.apache.kafka.common.security.oauthbearer.ClientCredentialsJwtRetriever",
        "org.apache.kafka.common.security.oauthbearer.FileJwtRetriever",
    ];

    /// <summary>The <c>sasl.oauthbearer.jwt.validator.class</c> values that mean what Samsa does (Kafka 4.1).</summary>
    public static readonly string[] JwtValidators =
    [
        "org.apache.kafka.common.security.oauthbearer.DefaultJwtValidator",
        "org.apache.kafka.common.security.oauthbearer.ClientJwtValidator",
    ];

    public static readonly string[] All =
    [
        Mechanism, JaasConfig, KerberosServiceName, LoginCallbackHandlerClass, ClientCallbackHandlerClass, TokenEndpointUrl, ScopeClaimName, SubClaimName,
        HeaderUrlEncode, ClientId, ClientSecret, Scope, JwtRetrieverClass, JwtValidatorClass, RefreshWindowFactor,
        RefreshWindowJitter, RefreshMinPeriodSeconds, RefreshBufferSeconds, LoginConnectTimeoutMs, LoginReadTimeoutMs,
        LoginRetryBackoffMs, LoginRetryBackoffMaxMs,
    ];

    private const string KerberosRenewal =
        "Samsa's GSSAPI runs no kinit and renews no tickets itself: it uses the ticket cache (KRB5CCNAME; keep it fresh with kinit -R or k5start) or a keytab from sasl.jaas.config, from which MIT Kerberos gets new tickets when they expire";

    /// <summary>Real Java client <c>sasl.*</c> keys that Samsa does not take, with the reason.</summary>
    public static readonly Dictionary<string, string> Rejected = new(StringComparer.Ordinal)
    {
        ["sasl.login.class"] = "Samsa cannot load Java classes; for OAUTHBEARER give the builder a token provider (SetOAuthBearerTokenProvider)",
        ["sasl.kerberos.kinit.cmd"] = KerberosRenewal,
        ["sasl.kerberos.ticket.renew.window.factor"] = KerberosRenewal,
        ["sasl.kerberos.ticket.renew.jitter"] = KerberosRenewal,
        ["sasl.kerberos.min.time.before.relogin"] = KerberosRenewal,
        ["sasl.oauthbearer.access.token.retriever.class"] = "Samsa cannot load Java classes; it retrieves tokens from sasl.oauthbearer.token.endpoint.url, or give the builder a token provider",
        ["sasl.oauthbearer.access.token.validator.class"] = "Samsa cannot load Java classes; it checks the token's exp and sub claims itself",
        ["sasl.oauthbearer.jwks.endpoint.url"] = "brokers use it to verify tokens; a producer does not",
        ["sasl.oauthbearer.jwks.endpoint.refresh.ms"] = "brokers use it to verify tokens; a producer does not",
        ["sasl.oauthbearer.jwks.endpoint.retry.backoff.ms"] = "brokers use it to verify tokens; a producer does not",
        ["sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms"] = "brokers use it to verify tokens; a producer does not",
        ["sasl.oauthbearer.expected.audience"] = "brokers use it to verify tokens; a producer does not",
        ["sasl.oauthbearer.expected.issuer"] = "brokers use it to verify tokens; a producer does not",
        ["sasl.oauthbearer.clock.skew.seconds"] = "brokers use it to verify tokens; a producer does not",
    };
}

/// <summary>Parses the <c>sasl.*</c> keys into <see cref="SaslOptions"/>; checks between keys happen at Build().</summary>
internal static class SaslConfigParser
{
    internal const string Mechanisms = "one of GSSAPI, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, AWS_MSK_IAM";

    /// <summary>Applies one key; false when it is not a key this parser knows (the caller reports it).</summary>
    public static bool TryApply(string key, string raw, ref SaslOptions? sasl)
    {
        var v = raw.Trim();
        var o = sasl ?? new SaslOptions();
        switch (key)
        {
            case SaslConfigKeys.Mechanism: o = o with { Mechanism = ParseMechanism(key, v) }; break;
            // The JAAS text is kept as given: its quoting is its own.
            case SaslConfigKeys.JaasConfig: o = o with { JaasConfig = v.Length == 0 ? null : raw }; break;
            case SaslConfigKeys.KerberosServiceName: o = o with { KerberosServiceName = NullIfEmpty(v) }; break;
            case SaslConfigKeys.LoginCallbackHandlerClass: o = o with { LoginCallbackHandlerClass = NullIfEmpty(v) }; break;
            case SaslConfigKeys.ClientCallbackHandlerClass: o = o with { ClientCallbackHandlerClass = NullIfEmpty(v) }; break;
            case SaslConfigKeys.TokenEndpointUrl: o = o with { OAuthBearerTokenEndpointUrl = NullIfEmpty(v) }; break;
            case SaslConfigKeys.ScopeClaimName: o = o with { OAuthBearerScopeClaimName = v }; break;
            case SaslConfigKeys.SubClaimName: o = o with { OAuthBearerSubClaimName = v }; break;
            case SaslConfigKeys.HeaderUrlEncode: o = o with { OAuthBearerHeaderUrlEncode = ParseBool(key, v) }; break;
            case SaslConfigKeys.ClientId: o = o with { OAuthBearerClientId = NullIfEmpty(v) }; break;
            case SaslConfigKeys.ClientSecret: o = o with { OAuthBearerClientSecret = NullIfEmpty(v) }; break;
            case SaslConfigKeys.Scope: o = o with { OAuthBearerScope = NullIfEmpty(v) }; break;
            case SaslConfigKeys.JwtRetrieverClass: CheckClass(key, v, SaslConfigKeys.JwtRetrievers, "the jwt-bearer grant (JwtBearerJwtRetriever) is not supported yet"); break;
            case SaslConfigKeys.JwtValidatorClass: CheckClass(key, v, SaslConfigKeys.JwtValidators, "Samsa checks the token's exp and sub claims itself"); break;
            case SaslConfigKeys.RefreshWindowFactor: o = o with { LoginRefreshWindowFactor = ParseDouble(key, v) }; break;
            case SaslConfigKeys.RefreshWindowJitter: o = o with { LoginRefreshWindowJitter = ParseDouble(key, v) }; break;
            case SaslConfigKeys.RefreshMinPeriodSeconds: o = o with { LoginRefreshMinPeriod = TimeSpan.FromSeconds(ParseLong(key, v)) }; break;
            case SaslConfigKeys.RefreshBufferSeconds: o = o with { LoginRefreshBuffer = TimeSpan.FromSeconds(ParseLong(key, v)) }; break;
            case SaslConfigKeys.LoginConnectTimeoutMs: o = o with { LoginConnectTimeout = v.Length == 0 ? null : TimeSpan.FromMilliseconds(ParseLong(key, v)) }; break;
            case SaslConfigKeys.LoginReadTimeoutMs: o = o with { LoginReadTimeout = v.Length == 0 ? null : TimeSpan.FromMilliseconds(ParseLong(key, v)) }; break;
            case SaslConfigKeys.LoginRetryBackoffMs: o = o with { LoginRetryBackoff = TimeSpan.FromMilliseconds(ParseLong(key, v)) }; break;
            case SaslConfigKeys.LoginRetryBackoffMaxMs: o = o with { LoginRetryBackoffMax = TimeSpan.FromMilliseconds(ParseLong(key, v)) }; break;
            default: return false;
        }

        sasl = o;
        return true;
    }

    internal static SaslMechanism ParseMechanism(string key, string v) => v.ToUpperInvariant() switch
    {
        "GSSAPI" => SaslMechanism.Gssapi,
        "PLAIN" => SaslMechanism.Plain,
        "SCRAM-SHA-256" => SaslMechanism.ScramSha256,
        "SCRAM-SHA-512" => SaslMechanism.ScramSha512,
        "OAUTHBEARER" => SaslMechanism.OAuthBearer,
        "AWS_MSK_IAM" => SaslMechanism.AwsMskIam,
        _ => throw ConfigException.InvalidValue(key, v, Mechanisms),
    };

    private static string? NullIfEmpty(string v) => v.Length == 0 ? null : v;

    private static void CheckClass(string key, string v, string[] accepted, string why)
    {
        if (v.Length > 0 && !accepted.Contains(v, StringComparer.Ordinal))
        {
            throw new ConfigException(key, $"'{key}' is '{v}', which Samsa cannot load: it runs no Java classes, and {why}. Leave '{key}' unset.", v, string.Join(", ", accepted));
        }
    }

    private static bool ParseBool(string key, string v) =>
        v.Equals("true", StringComparison.OrdinalIgnoreCase) || (v.Equals("false", StringComparison.OrdinalIgnoreCase)
            ? false
            : throw ConfigException.InvalidValue(key, v, "true or false"));

    private static double ParseDouble(string key, string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw ConfigException.InvalidValue(key, v, "a number");

    private static long ParseLong(string key, string v) =>
        long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= -1_000_000_000_000 and <= 1_000_000_000_000
            ? n
            : throw ConfigException.InvalidValue(key, v, "a whole number");
}
