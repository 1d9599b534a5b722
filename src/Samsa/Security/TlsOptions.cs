using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Samsa.Security;

namespace Samsa;

/// <summary>
/// TLS settings, used when <see cref="ProducerOptions.SecurityProtocol"/> is <c>SSL</c> or <c>SASL_SSL</c>;
/// the Java client's <c>ssl.*</c> keys with its defaults (Kafka 4.0). Without a trust store, the
/// operating system's trusted CAs verify the brokers; without a key store, no client certificate is sent.
/// </summary>
/// <remarks>
/// Build() checks the combination and loads the stores once: a missing file, a wrong password, a JKS
/// store or an unusable key fails it with a <see cref="ConfigException"/> naming the key. Passwords and
/// private keys never appear in <see cref="ToString"/> or in any message.
/// </remarks>
public sealed record TlsOptions
{
    /// <summary>The Java client's defaults: system trust store, no client certificate, host names verified, TLS 1.2 and 1.3.</summary>
    public static TlsOptions Default { get; } = new();

    /// <summary>
    /// <c>ssl.truststore.type</c> (default JKS, Java's): the format of <see cref="TruststoreLocation"/>. With JKS
    /// (the default) the file is read as PKCS12, as Java 9 and later do for a PKCS12 file given as JKS; a real JKS
    /// file is refused with how to convert it. <see cref="TlsStoreType.Pem"/> is required for <see cref="TruststoreCertificates"/>.
    /// </summary>
    public TlsStoreType TruststoreType { get; init; } = TlsStoreType.Jks;

    /// <summary><c>ssl.truststore.location</c>: a file of the CA certificates that may sign brokers' certificates; null uses the system's trusted CAs.</summary>
    public string? TruststoreLocation { get; init; }

    /// <summary><c>ssl.truststore.password</c>: the password of a PKCS12 trust store; not allowed with PEM.</summary>
    public string? TruststorePassword { get; init; }

    /// <summary><c>ssl.truststore.certificates</c>: trusted CA certificates as inline PEM (KIP-651); needs <see cref="TruststoreType"/> PEM.</summary>
    public string? TruststoreCertificates { get; init; }

    /// <summary><c>ssl.keystore.type</c> (default JKS, Java's): the format of <see cref="KeystoreLocation"/>, read as <see cref="TruststoreType"/> is.</summary>
    public TlsStoreType KeystoreType { get; init; } = TlsStoreType.Jks;

    /// <summary><c>ssl.keystore.location</c>: a file with the client certificate, its chain and private key, for brokers that require client authentication (mTLS).</summary>
    public string? KeystoreLocation { get; init; }

    /// <summary><c>ssl.keystore.password</c>: the password of a PKCS12 key store (required with one); not allowed with PEM.</summary>
    public string? KeystorePassword { get; init; }

    /// <summary>
    /// <c>ssl.key.password</c>: the password of an encrypted PKCS#8 private key (PEM), or of the key in a PKCS12
    /// store, which must then be the store's password.
    /// </summary>
    public string? KeyPassword { get; init; }

    /// <summary><c>ssl.keystore.certificate.chain</c>: the client certificate and its chain as inline PEM (KIP-651), with <see cref="KeystoreKey"/>; needs <see cref="KeystoreType"/> PEM.</summary>
    public string? KeystoreCertificateChain { get; init; }

    /// <summary><c>ssl.keystore.key</c>: the client's private key as inline PKCS#8 PEM, encrypted or not (see <see cref="KeyPassword"/>); needs <see cref="KeystoreType"/> PEM.</summary>
    public string? KeystoreKey { get; init; }

    /// <summary>
    /// <c>ssl.endpoint.identification.algorithm</c> (default <c>https</c>): the broker's certificate must name the
    /// host the producer connected to (the name in metadata or bootstrap.servers). Empty turns the check off,
    /// which lets anyone with a certificate from a trusted CA pose as the broker.
    /// </summary>
    public string EndpointIdentificationAlgorithm { get; init; } = "https";

    /// <summary><c>ssl.enabled.protocols</c> (default TLSv1.2,TLSv1.3): the TLS versions offered. Only <see cref="SslProtocols.Tls12"/> and <see cref="SslProtocols.Tls13"/> are supported.</summary>
    public SslProtocols EnabledProtocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// <c>ssl.protocol</c> (default TLSv1.3): the highest TLS version used, as Java's SSLContext protocol:
    /// TLSv1.2 keeps TLS 1.3 off even when <see cref="EnabledProtocols"/> lists it.
    /// </summary>
    public SslProtocols Protocol { get; init; } = SslProtocols.Tls13;

    /// <summary>
    /// <c>ssl.cipher.suites</c>: the cipher suites offered, by their IANA names as Java writes them
    /// (e.g. TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384); null or empty keeps the platform's.
    /// Only where .NET lets a client choose (Linux with OpenSSL, macOS); elsewhere setting it fails Build().
    /// </summary>
    public IReadOnlyList<TlsCipherSuite>? CipherSuites { get; init; }

    /// <summary>True when <see cref="EndpointIdentificationAlgorithm"/> asks for the host name check.</summary>
    internal bool VerifiesHostName => EndpointIdentificationAlgorithm.Length > 0;

    /// <summary>The TLS versions offered: <see cref="EnabledProtocols"/>, capped at <see cref="Protocol"/>.</summary>
    internal SslProtocols EffectiveProtocols => Protocol == SslProtocols.Tls12 ? EnabledProtocols & SslProtocols.Tls12 : EnabledProtocols;

    /// <summary>The Java key of the first setting that differs from <see cref="Default"/>, or null when none does.</summary>
    internal string? FirstSetKey()
    {
        var d = Default;
        return TruststoreType != d.TruststoreType ? TlsConfigKeys.TruststoreType
            : TruststoreLocation is not null ? TlsConfigKeys.TruststoreLocation
            : TruststorePassword is not null ? TlsConfigKeys.TruststorePassword
            : TruststoreCertificates is not null ? TlsConfigKeys.TruststoreCertificates
            : KeystoreType != d.KeystoreType ? TlsConfigKeys.KeystoreType
            : KeystoreLocation is not null ? TlsConfigKeys.KeystoreLocation
            : KeystorePassword is not null ? TlsConfigKeys.KeystorePassword
            : KeyPassword is not null ? TlsConfigKeys.KeyPassword
            : KeystoreCertificateChain is not null ? TlsConfigKeys.KeystoreCertificateChain
            : KeystoreKey is not null ? TlsConfigKeys.KeystoreKey
            : EndpointIdentificationAlgorithm != d.EndpointIdentificationAlgorithm ? TlsConfigKeys.EndpointIdentificationAlgorithm
            : EnabledProtocols != d.EnabledProtocols ? TlsConfigKeys.EnabledProtocols
            : Protocol != d.Protocol ? TlsConfigKeys.Protocol
            : CipherSuites is { Count: > 0 } ? TlsConfigKeys.CipherSuites
            : null;
    }

    /// <summary>
    /// Checks the settings and the rules between them (those of Java's <c>DefaultSslEngineFactory</c>), without
    /// reading any file; <see cref="TlsConnector.Create"/> loads the stores.
    /// </summary>
    internal void Validate()
    {
        CheckStoreType(TlsConfigKeys.TruststoreType, TruststoreType);
        CheckStoreType(TlsConfigKeys.KeystoreType, KeystoreType);

        if (EndpointIdentificationAlgorithm is null
            || (EndpointIdentificationAlgorithm.Length > 0 && !EndpointIdentificationAlgorithm.Equals("https", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ConfigException(
                TlsConfigKeys.EndpointIdentificationAlgorithm,
                $"Invalid value '{EndpointIdentificationAlgorithm}' for '{TlsConfigKeys.EndpointIdentificationAlgorithm}': expected https (check that the broker's certificate names its host) or empty (no check).",
                EndpointIdentificationAlgorithm,
                "https or empty");
        }

        const SslProtocols supported = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (EnabledProtocols == SslProtocols.None || (EnabledProtocols & ~supported) != 0)
        {
            throw new ConfigException(
                TlsConfigKeys.EnabledProtocols,
                $"Invalid value '{TlsConfigParser.ProtocolNames(EnabledProtocols)}' for '{TlsConfigKeys.EnabledProtocols}': expected TLSv1.2, TLSv1.3 or both. Older versions are obsolete (RFC 8996) and not supported.",
                TlsConfigParser.ProtocolNames(EnabledProtocols),
                TlsConfigParser.ProtocolList);
        }

        if (Protocol is not (SslProtocols.Tls12 or SslProtocols.Tls13))
        {
            throw new ConfigException(
                TlsConfigKeys.Protocol,
                $"Invalid value '{TlsConfigParser.ProtocolNames(Protocol)}' for '{TlsConfigKeys.Protocol}': expected TLSv1.3 (the default), TLSv1.2 or TLS.",
                TlsConfigParser.ProtocolNames(Protocol),
                "TLSv1.3, TLSv1.2 or TLS");
        }

        if (EffectiveProtocols == SslProtocols.None)
        {
            throw new ConfigException(
                TlsConfigKeys.EnabledProtocols,
                $"'{TlsConfigKeys.EnabledProtocols}' is TLSv1.3 but '{TlsConfigKeys.Protocol}' is TLSv1.2, which keeps TLS 1.3 off: no TLS version is left. Add TLSv1.2 to {TlsConfigKeys.EnabledProtocols} or set {TlsConfigKeys.Protocol}=TLSv1.3.",
                TlsConfigParser.ProtocolNames(EnabledProtocols),
                TlsConfigParser.ProtocolList);
        }

        if (CipherSuites is { Count: > 0 })
        {
            foreach (var suite in CipherSuites)
            {
                if (!Enum.IsDefined(suite))
                {
                    throw ConfigException.InvalidValue(TlsConfigKeys.CipherSuites, ((int)suite).ToString(System.Globalization.CultureInfo.InvariantCulture), "IANA cipher suite names");
                }
            }

            TlsConnector.CheckCipherSuitesSupported();
        }

        ValidateTruststore();
        ValidateKeystore();
    }

    // Java's DefaultSslEngineFactory.createTruststore: inline certificates exclude a file and a password,
    // and need the PEM type; a PEM file takes no password; a password needs a file.
    private void ValidateTruststore()
    {
        if (TruststoreCertificates is not null)
        {
            Require(TruststoreType == TlsStoreType.Pem, TlsConfigKeys.TruststoreType,
                $"'{TlsConfigKeys.TruststoreCertificates}' holds inline PEM certificates, so '{TlsConfigKeys.TruststoreType}' must be PEM, but it is {TlsConfigParser.StoreTypeName(TruststoreType)}. Set {TlsConfigKeys.TruststoreType}=PEM.");
            Require(TruststoreLocation is null, TlsConfigKeys.TruststoreLocation,
                $"Both '{TlsConfigKeys.TruststoreLocation}' and '{TlsConfigKeys.TruststoreCertificates}' are set; give the trusted certificates one way only.");
            Require(TruststorePassword is null, TlsConfigKeys.TruststorePassword,
                $"'{TlsConfigKeys.TruststorePassword}' is set, but PEM certificates have no password. Remove {TlsConfigKeys.TruststorePassword}.");
        }
        else if (TruststoreLocation is not null)
        {
            Require(TruststoreLocation.Length > 0, TlsConfigKeys.TruststoreLocation, $"'{TlsConfigKeys.TruststoreLocation}' is empty; give the path of the trust store file or leave the key out.");
            Require(TruststoreType != TlsStoreType.Pem || TruststorePassword is null, TlsConfigKeys.TruststorePassword,
                $"'{TlsConfigKeys.TruststorePassword}' is set, but '{TlsConfigKeys.TruststoreType}' is PEM, whose certificates have no password. Remove {TlsConfigKeys.TruststorePassword}.");
        }
        else
        {
            Require(TruststorePassword is null, TlsConfigKeys.TruststorePassword,
                $"'{TlsConfigKeys.TruststorePassword}' is set, but '{TlsConfigKeys.TruststoreLocation}' is not: there is no trust store to open. Set {TlsConfigKeys.TruststoreLocation} or remove the password.");
        }
    }

    // Java's DefaultSslEngineFactory.createKeystore, with the same rules.
    private void ValidateKeystore()
    {
        if (KeystoreKey is not null)
        {
            Require(KeystoreType == TlsStoreType.Pem, TlsConfigKeys.KeystoreType,
                $"'{TlsConfigKeys.KeystoreKey}' holds an inline PEM key, so '{TlsConfigKeys.KeystoreType}' must be PEM, but it is {TlsConfigParser.StoreTypeName(KeystoreType)}. Set {TlsConfigKeys.KeystoreType}=PEM.");
            Require(KeystoreCertificateChain is not null, TlsConfigKeys.KeystoreCertificateChain,
                $"'{TlsConfigKeys.KeystoreKey}' is set but '{TlsConfigKeys.KeystoreCertificateChain}' is not: give the client certificate (and its chain) as PEM too.");
            Require(KeystoreLocation is null, TlsConfigKeys.KeystoreLocation,
                $"Both '{TlsConfigKeys.KeystoreLocation}' and '{TlsConfigKeys.KeystoreKey}' are set; give the client certificate and key one way only.");
            Require(KeystorePassword is null, TlsConfigKeys.KeystorePassword,
                $"'{TlsConfigKeys.KeystorePassword}' is set, but a PEM key store has no store password; an encrypted key's password goes in '{TlsConfigKeys.KeyPassword}'.");
        }
        else if (KeystoreCertificateChain is not null)
        {
            throw new ConfigException(
                TlsConfigKeys.KeystoreKey,
                $"'{TlsConfigKeys.KeystoreCertificateChain}' is set but '{TlsConfigKeys.KeystoreKey}' is not: give the client's private key as PEM too.");
        }
        else if (KeystoreLocation is not null)
        {
            Require(KeystoreLocation.Length > 0, TlsConfigKeys.KeystoreLocation, $"'{TlsConfigKeys.KeystoreLocation}' is empty; give the path of the key store file or leave the key out.");
            if (KeystoreType == TlsStoreType.Pem)
            {
                Require(KeystorePassword is null, TlsConfigKeys.KeystorePassword,
                    $"'{TlsConfigKeys.KeystorePassword}' is set, but a PEM key store has no store password; an encrypted key's password goes in '{TlsConfigKeys.KeyPassword}'.");
            }
            else
            {
                Require(KeystorePassword is not null, TlsConfigKeys.KeystorePassword,
                    $"'{TlsConfigKeys.KeystoreLocation}' is set but '{TlsConfigKeys.KeystorePassword}' is not; a {TlsConfigParser.StoreTypeName(KeystoreType)} key store needs its password.");

                // .NET opens a PKCS12 file with one password, for the store and its keys alike.
                Require(KeyPassword is null || KeyPassword == KeystorePassword, TlsConfigKeys.KeyPassword,
                    $"'{TlsConfigKeys.KeyPassword}' differs from '{TlsConfigKeys.KeystorePassword}', but Samsa opens a PKCS12 key store with one password for the store and its key. Give the key the store's password (keytool -keypasswd, or export the store again) and drop {TlsConfigKeys.KeyPassword}.");
            }
        }
        else
        {
            Require(KeystorePassword is null, TlsConfigKeys.KeystorePassword,
                $"'{TlsConfigKeys.KeystorePassword}' is set, but '{TlsConfigKeys.KeystoreLocation}' is not: there is no key store to open. Set {TlsConfigKeys.KeystoreLocation} or remove the password.");
            Require(KeyPassword is null, TlsConfigKeys.KeyPassword,
                $"'{TlsConfigKeys.KeyPassword}' is set, but no client key is configured ('{TlsConfigKeys.KeystoreLocation}' or '{TlsConfigKeys.KeystoreKey}'). Remove {TlsConfigKeys.KeyPassword} or configure the key store.");
        }
    }

    private static void CheckStoreType(string key, TlsStoreType type)
    {
        if (!Enum.IsDefined(type))
        {
            throw ConfigException.InvalidValue(key, ((int)type).ToString(System.Globalization.CultureInfo.InvariantCulture), TlsConfigParser.StoreTypes);
        }
    }

    private static void Require(bool condition, string key, string message)
    {
        if (!condition)
        {
            throw new ConfigException(key, message);
        }
    }

    // The generated ToString would print every password and the private key: secrets show as [hidden],
    // as Java's Password type prints them.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("TruststoreType = ").Append(TlsConfigParser.StoreTypeName(TruststoreType));
        builder.Append(", TruststoreLocation = ").Append(TruststoreLocation);
        builder.Append(", TruststorePassword = ").Append(Hidden(TruststorePassword));
        builder.Append(", TruststoreCertificates = ").Append(TruststoreCertificates is null ? null : "[PEM]");
        builder.Append(", KeystoreType = ").Append(TlsConfigParser.StoreTypeName(KeystoreType));
        builder.Append(", KeystoreLocation = ").Append(KeystoreLocation);
        builder.Append(", KeystorePassword = ").Append(Hidden(KeystorePassword));
        builder.Append(", KeyPassword = ").Append(Hidden(KeyPassword));
        builder.Append(", KeystoreCertificateChain = ").Append(KeystoreCertificateChain is null ? null : "[PEM]");
        builder.Append(", KeystoreKey = ").Append(Hidden(KeystoreKey));
        builder.Append(", EndpointIdentificationAlgorithm = ").Append(EndpointIdentificationAlgorithm);
        builder.Append(", EnabledProtocols = ").Append(TlsConfigParser.ProtocolNames(EnabledProtocols));
        builder.Append(", Protocol = ").Append(TlsConfigParser.ProtocolNames(Protocol));
        builder.Append(", CipherSuites = ").Append(CipherSuites is null ? null : string.Join(",", CipherSuites));
        return true;
    }

    private static string? Hidden(string? secret) => secret is null ? null : "[hidden]";
}

/// <summary>The format of a trust store or key store file (<c>ssl.truststore.type</c>, <c>ssl.keystore.type</c>).</summary>
public enum TlsStoreType
{
    /// <summary>
    /// <c>JKS</c>, Java's default. Samsa reads the file as PKCS12 (Java 9+ reads a PKCS12 file given as JKS too);
    /// a real Java KeyStore file is refused with how to convert it:
    /// <c>keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype PKCS12</c>.
    /// </summary>
    Jks,

    /// <summary><c>PKCS12</c>: a .p12/.pfx file, password-protected.</summary>
    Pkcs12,

    /// <summary><c>PEM</c>: X.509 certificates (and, for a key store, one PKCS#8 private key) in PEM text (KIP-651).</summary>
    Pem,
}

/// <summary>Which security protocols run over TLS.</summary>
internal static class SecurityProtocolTls
{
    /// <summary>True for <c>SSL</c> and <c>SASL_SSL</c>.</summary>
    public static bool UsesTls(this SecurityProtocol protocol) => protocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl;
}
