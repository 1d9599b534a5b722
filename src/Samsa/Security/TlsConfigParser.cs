using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;

namespace Samsa.Security;

/// <summary>The Java client's <c>ssl.*</c> keys (Java's <c>SslConfigs</c>), and <c>security.providers</c>.</summary>
internal static class TlsConfigKeys
{
    public const string Protocol = "ssl.protocol";
    public const string Provider = "ssl.provider";
    public const string CipherSuites = "ssl.cipher.suites";
    public const string EnabledProtocols = "ssl.enabled.protocols";
    public const string KeystoreType = "ssl.keystore.type";
    public const string KeystoreLocation = "ssl.keystore.location";
    public const string KeystorePassword = "ssl.keystore.password";
    public const string KeyPassword = "ssl.key.password";
    public const string KeystoreKey = "ssl.keystore.key";
    public const string KeystoreCertificateChain = "ssl.keystore.certificate.chain";
    public const string TruststoreCertificates = "ssl.truststore.certificates";
    public const string TruststoreType = "ssl.truststore.type";
    public const string TruststoreLocation = "ssl.truststore.location";
    public const string TruststorePassword = "ssl.truststore.password";
    public const string KeyManagerAlgorithm = "ssl.keymanager.algorithm";
    public const string TrustManagerAlgorithm = "ssl.trustmanager.algorithm";
    public const string EndpointIdentificationAlgorithm = "ssl.endpoint.identification.algorithm";
    public const string SecureRandomImplementation = "ssl.secure.random.implementation";
    public const string EngineFactoryClass = "ssl.engine.factory.class";
    public const string SecurityProviders = "security.providers";

    /// <summary>Every key <see cref="TlsConfigParser"/> takes, for typo suggestions.</summary>
    public static readonly string[] All =
    [
        Protocol, Provider, CipherSuites, EnabledProtocols, KeystoreType, KeystoreLocation, KeystorePassword,
        KeyPassword, KeystoreKey, KeystoreCertificateChain, TruststoreCertificates, TruststoreType,
        TruststoreLocation, TruststorePassword, KeyManagerAlgorithm, TrustManagerAlgorithm,
        EndpointIdentificationAlgorithm, SecureRandomImplementation, EngineFactoryClass, SecurityProviders,
    ];
}

/// <summary>
/// Parses the <c>ssl.*</c> keys into <see cref="TlsOptions"/>. Values are taken as Java's <c>ConfigDef</c>
/// does: strings and lists trimmed, passwords and inline PEM (Java's PASSWORD type) as given.
/// </summary>
internal static class TlsConfigParser
{
    public const string StoreTypes = "PKCS12, PEM or JKS (read as PKCS12)";
    public const string ProtocolList = "TLSv1.2, TLSv1.3 or both, comma-separated";

    /// <summary>
    /// Java keys that Samsa cannot honour: each takes Java's default (null/empty, or the value given) and
    /// nothing else, since any other value would be accepted without effect.
    /// </summary>
    private static readonly Dictionary<string, (string[] Defaults, string Reason)> s_javaOnly = new(StringComparer.Ordinal)
    {
        [TlsConfigKeys.KeyManagerAlgorithm] = (["SunX509"], "Samsa loads client certificates with .NET, which has no Java key manager factories; leave it at SunX509 or unset"),
        [TlsConfigKeys.TrustManagerAlgorithm] = (["PKIX"], "Samsa verifies broker certificates with .NET's X.509 chain building (PKIX), which has no Java trust manager factories; leave it at PKIX or unset"),
        [TlsConfigKeys.SecureRandomImplementation] = ([], "TLS in .NET takes its randomness from the operating system's cryptographic generator, which cannot be replaced"),
        [TlsConfigKeys.EngineFactoryClass] = (["org.apache.kafka.common.security.ssl.DefaultSslEngineFactory"], "Java classes cannot be loaded; TLS is built into Samsa (SslStream)"),
        [TlsConfigKeys.Provider] = ([], "there are no Java security providers in .NET; TLS is the operating system's (OpenSSL on Linux)"),
        [TlsConfigKeys.SecurityProviders] = ([], "there are no Java security providers in .NET; TLS is the operating system's (OpenSSL on Linux)"),
    };

    /// <summary>True for the keys this parser takes.</summary>
    public static bool Handles(string key) => key.StartsWith("ssl.", StringComparison.Ordinal) || key == TlsConfigKeys.SecurityProviders;

    /// <summary>Applies one key; throws <see cref="ConfigException"/> for an unknown key or a value that does not parse.</summary>
    public static TlsOptions Parse(TlsOptions o, string key, string raw)
    {
        var v = raw.Trim();
        switch (key)
        {
            case TlsConfigKeys.TruststoreType: return o with { TruststoreType = ParseStoreType(key, v) };
            case TlsConfigKeys.TruststoreLocation: return o with { TruststoreLocation = v };
            case TlsConfigKeys.TruststorePassword: return o with { TruststorePassword = raw };
            case TlsConfigKeys.TruststoreCertificates: return o with { TruststoreCertificates = raw };
            case TlsConfigKeys.KeystoreType: return o with { KeystoreType = ParseStoreType(key, v) };
            case TlsConfigKeys.KeystoreLocation: return o with { KeystoreLocation = v };
            case TlsConfigKeys.KeystorePassword: return o with { KeystorePassword = raw };
            case TlsConfigKeys.KeyPassword: return o with { KeyPassword = raw };
            case TlsConfigKeys.KeystoreCertificateChain: return o with { KeystoreCertificateChain = raw };
            case TlsConfigKeys.KeystoreKey: return o with { KeystoreKey = raw };
            case TlsConfigKeys.EndpointIdentificationAlgorithm: return o with { EndpointIdentificationAlgorithm = v };
            case TlsConfigKeys.EnabledProtocols: return o with { EnabledProtocols = ParseEnabledProtocols(key, v) };
            case TlsConfigKeys.Protocol: return o with { Protocol = ParseProtocol(key, v) };
            case TlsConfigKeys.CipherSuites: return o with { CipherSuites = ParseCipherSuites(key, v) };
        }

        if (s_javaOnly.TryGetValue(key, out var javaOnly))
        {
            if (v.Length == 0 || javaOnly.Defaults.Contains(v, StringComparer.OrdinalIgnoreCase))
            {
                return o;
            }

            var allowed = javaOnly.Defaults.Length == 0 ? "unset (Java's default)" : $"{javaOnly.Defaults[0]} (Java's default) or unset";
            throw new ConfigException(
                key,
                $"Producer config key '{key}' is not supported with value '{v}': {javaOnly.Reason}.",
                v,
                allowed);
        }

        throw ProducerConfigParser.UnknownKey(key, raw);
    }

    public static string StoreTypeName(TlsStoreType type) => type switch
    {
        TlsStoreType.Jks => "JKS",
        TlsStoreType.Pkcs12 => "PKCS12",
        TlsStoreType.Pem => "PEM",
        _ => ((int)type).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Java's names, e.g. "TLSv1.2,TLSv1.3".</summary>
    public static string ProtocolNames(SslProtocols protocols)
    {
        var names = new List<string>();
        if ((protocols & SslProtocols.Tls12) != 0)
        {
            names.Add("TLSv1.2");
        }

        if ((protocols & SslProtocols.Tls13) != 0)
        {
            names.Add("TLSv1.3");
        }

        var other = (int)protocols & ~(int)(SslProtocols.Tls12 | SslProtocols.Tls13);
        if (other != 0)
        {
            names.Add(other.ToString(CultureInfo.InvariantCulture));
        }

        return string.Join(",", names);
    }

    private static TlsStoreType ParseStoreType(string key, string v)
    {
        // KeyStore.getInstance takes type names in any case; so does Samsa, PEM included.
        switch (v.ToUpperInvariant())
        {
            case "JKS":
                return TlsStoreType.Jks;
            case "PKCS12":
                return TlsStoreType.Pkcs12;
            case "PEM":
                return TlsStoreType.Pem;
            case "JCEKS":
                throw new ConfigException(
                    key,
                    $"'{key}' is JCEKS, which only Java reads. Convert the store to PKCS12 (keytool -importkeystore -srckeystore store.jceks -srcstoretype JCEKS -destkeystore store.p12 -deststoretype PKCS12) or to PEM, and set {key}=PKCS12 or PEM.",
                    v,
                    StoreTypes);
            default:
                throw ConfigException.InvalidValue(key, v, StoreTypes);
        }
    }

    private static SslProtocols ParseEnabledProtocols(string key, string v)
    {
        var protocols = SslProtocols.None;
        foreach (var name in SplitList(v))
        {
            protocols |= ParseVersion(key, name, ProtocolList);
        }

        // Java: an empty list keeps the JVM's defaults, which are these.
        return protocols == SslProtocols.None ? TlsOptions.Default.EnabledProtocols : protocols;
    }

    private static SslProtocols ParseProtocol(string key, string v)
    {
        // "TLS" asks Java for its newest TLS, which is TLS 1.3 on every supported JVM.
        if (v.Equals("TLS", StringComparison.OrdinalIgnoreCase))
        {
            return SslProtocols.Tls13;
        }

        return ParseVersion(key, v, "TLSv1.3 (the default), TLSv1.2 or TLS");
    }

    private static SslProtocols ParseVersion(string key, string name, string allowed)
    {
        if (name.Equals("TLSv1.2", StringComparison.OrdinalIgnoreCase))
        {
            return SslProtocols.Tls12;
        }

        if (name.Equals("TLSv1.3", StringComparison.OrdinalIgnoreCase))
        {
            return SslProtocols.Tls13;
        }

        if (name is "TLSv1" or "TLSv1.1" or "SSLv3" or "SSLv2Hello" or "SSL" or "SSLv2")
        {
            throw new ConfigException(
                key,
                $"'{key}' names {name}, which is obsolete and insecure (RFC 8996) and not supported. Use TLSv1.2 or TLSv1.3.",
                name,
                allowed);
        }

        throw ConfigException.InvalidValue(key, name, allowed);
    }

    private static List<TlsCipherSuite>? ParseCipherSuites(string key, string v)
    {
        var suites = new List<TlsCipherSuite>();
        foreach (var name in SplitList(v))
        {
            // Java writes IANA names, as .NET's TlsCipherSuite does; a few old suites also have SSL_ aliases in Java.
            var ianaName = name.StartsWith("SSL_", StringComparison.Ordinal) ? "TLS_" + name[4..] : name;
            if (!char.IsAsciiLetter(ianaName[0]) || !Enum.TryParse<TlsCipherSuite>(ianaName, ignoreCase: false, out var suite) || !Enum.IsDefined(suite))
            {
                throw new ConfigException(
                    key,
                    $"Unknown cipher suite '{name}' in '{key}': expected IANA names as Java uses them, e.g. TLS_AES_128_GCM_SHA256 or TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.",
                    name,
                    "a comma-separated list of IANA cipher suite names");
            }

            suites.Add(suite);
        }

        return suites.Count == 0 ? null : suites;
    }

    // Java's ConfigDef LIST: split on commas, entries trimmed, empty entries dropped.
    private static IEnumerable<string> SplitList(string v) =>
        v.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0);
}
