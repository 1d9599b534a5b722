using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Samsa.Network;

namespace Samsa.Security;

/// <summary>
/// One producer's TLS: the stores loaded once (at Build), and the handshake each connection makes after its TCP
/// connect and before ApiVersions. The broker's certificate is checked against the trust store (or the system's
/// CAs) and, unless <c>ssl.endpoint.identification.algorithm</c> is empty, against the host name the producer
/// connected to, which is also sent as SNI. A refused handshake is an <see cref="SslAuthenticationException"/>
/// that says what was wrong and which key fixes it.
/// </summary>
internal sealed class TlsConnector
{
    private readonly X509Certificate2Collection? _trusted;
    private readonly SslStreamCertificateContext? _clientCertificate;
    private readonly X509Certificate2? _clientLeaf;
    private readonly SslProtocols _protocols;
    private readonly CipherSuitesPolicy? _cipherSuites;
    private readonly bool _verifyHostName;

    private TlsConnector(TlsOptions options, X509Certificate2Collection? trusted, (X509Certificate2 Certificate, X509Certificate2Collection Chain)? client)
    {
        _trusted = trusted;
        _protocols = options.EffectiveProtocols;
        _verifyHostName = options.VerifiesHostName;
        if (options.CipherSuites is { Count: > 0 } suites)
        {
            _cipherSuites = NewCipherSuitesPolicy(suites);
        }

        if (client is { } c)
        {
            _clientLeaf = c.Certificate;
            // offline: the chain is what the key store holds; nothing is fetched from the network.
            _clientCertificate = SslStreamCertificateContext.Create(c.Certificate, c.Chain, offline: true);
        }
    }

    /// <summary>Loads the stores of already validated options; a store that cannot be used throws <see cref="ConfigException"/>.</summary>
    public static TlsConnector Create(TlsOptions options) =>
        new(options, TlsStores.LoadTrust(options), TlsStores.LoadClientCertificate(options));

    /// <summary>Throws <see cref="ConfigException"/> where .NET does not let a client choose its cipher suites.</summary>
    public static void CheckCipherSuitesSupported()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            throw new ConfigException(
                TlsConfigKeys.CipherSuites,
                $"'{TlsConfigKeys.CipherSuites}' is set, but on this platform .NET's TLS takes its cipher suites from the operating system's policy and cannot restrict them per connection. Remove {TlsConfigKeys.CipherSuites} and configure the suites in the operating system.");
        }
    }

    /// <summary>
    /// Makes the TLS handshake over a connected socket. Throws <see cref="SslAuthenticationException"/> when the
    /// broker's certificate is refused or the broker refuses the handshake; <see cref="KafkaNetworkException"/>
    /// when the connection breaks during it; <see cref="OperationCanceledException"/> when cancelled (the
    /// connect timeout).
    /// </summary>
    public async Task<ConnectionTransport> HandshakeAsync(Socket socket, BrokerAddress address, CancellationToken cancellationToken)
    {
        var handshake = new Handshake(this, address);
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            // SNI and the host name check both use the broker's name as metadata (or bootstrap.servers) gave it.
            TargetHost = address.Host,
            EnabledSslProtocols = _protocols,
            CipherSuitesPolicy = _cipherSuites,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = handshake.CheckBrokerCertificate,
        };
        if (_trusted is not null)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                // As Java's PKIX trust manager by default: no revocation lookups.
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(_trusted);
            options.CertificateChainPolicy = policy;
        }

        if (_clientCertificate is not null)
        {
            options.ClientCertificateContext = _clientCertificate;
        }
        else
        {
            // Offers no certificate, but notes whether the broker asked for one, to explain its refusal.
            options.LocalCertificateSelectionCallback = handshake.SelectNoCertificate;
        }

        try
        {
            await stream.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw handshake.Explain(e);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new TlsTransport(socket, stream, handshake);
    }

    private static CipherSuitesPolicy NewCipherSuitesPolicy(IReadOnlyList<TlsCipherSuite> suites)
    {
        CheckCipherSuitesSupported();
        try
        {
#pragma warning disable CA1416 // Checked just above: Linux, macOS and FreeBSD support it.
            return new CipherSuitesPolicy(suites);
#pragma warning restore CA1416
        }
        catch (PlatformNotSupportedException e)
        {
            throw new ConfigException(TlsConfigKeys.CipherSuites, $"'{TlsConfigKeys.CipherSuites}' is set, but this platform's TLS cannot restrict cipher suites: {e.Message} Remove {TlsConfigKeys.CipherSuites}.");
        }
    }

    /// <summary>What one connection's handshake saw, to say why it failed.</summary>
    internal sealed class Handshake(TlsConnector connector, BrokerAddress address)
    {
        private string? _certificateProblem;

        /// <summary>True when the broker asked for a client certificate and none was configured.</summary>
        public bool CertificateRequestedButNoneConfigured { get; private set; }

        public bool CheckBrokerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (!connector._verifyHostName)
            {
                errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
            }

            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            _certificateProblem = DescribeCertificateProblem(certificate, chain, errors);
            return false;
        }

        public X509Certificate SelectNoCertificate(object sender, string targetHost, X509CertificateCollection localCertificates, X509Certificate? remoteCertificate, string[] acceptableIssuers)
        {
            // .NET asks once before the handshake (no broker certificate yet), and again when the broker sends a
            // certificate request.
            if (remoteCertificate is not null)
            {
                CertificateRequestedButNoneConfigured = true;
            }

            return null!;
        }

        /// <summary>Why the handshake failed, as the exception to throw.</summary>
        public KafkaException Explain(Exception error)
        {
            if (_certificateProblem is not null)
            {
                return new SslAuthenticationException($"The TLS handshake with broker {address} failed: {_certificateProblem}", error);
            }

            if (TlsAlert(error) is { } alert)
            {
                return Refused(alert, error);
            }

            // The broker closed the connection without a TLS alert: a listener that does not speak TLS, or a
            // network problem. Either may pass, so it is retried as any lost connection is.
            return new KafkaNetworkException(
                $"The connection to broker {address} broke during the TLS handshake ({Innermost(error).Message}). If it keeps happening, check that {address.Host}:{address.Port} is a TLS listener (security.protocol=SSL or SASL_SSL needs the broker's SSL port).",
                error);
        }

        /// <summary>After the handshake, before the first answer: a TLS alert means the broker refused the client (TLS 1.3 checks the client certificate only then).</summary>
        public KafkaException? ExplainEarlyFailure(Exception error) =>
            TlsAlert(error) is { } alert ? Refused(alert, error) : null;

        private SslAuthenticationException Refused(string alert, Exception error)
        {
            string hint;
            if (CertificateRequestedButNoneConfigured)
            {
                hint = $"The broker asked for a client certificate and none is configured: it requires TLS client authentication (mTLS). Set {TlsConfigKeys.KeystoreLocation} (PKCS12 with {TlsConfigKeys.KeystorePassword}, or PEM), or {TlsConfigKeys.KeystoreCertificateChain} with {TlsConfigKeys.KeystoreKey} ({TlsConfigKeys.KeystoreType}=PEM).";
            }
            else if (connector._clientLeaf is { } leaf)
            {
                hint = $"If the broker refused the client certificate ({leaf.Subject}, valid {leaf.NotBefore:u} to {leaf.NotAfter:u}), check that it is current and signed by a CA the broker trusts ({TlsConfigKeys.KeystoreLocation} / {TlsConfigKeys.KeystoreCertificateChain}).";
            }
            else
            {
                hint = $"Check that the broker accepts the TLS versions and cipher suites offered ({TlsConfigKeys.EnabledProtocols}, {TlsConfigKeys.Protocol}, {TlsConfigKeys.CipherSuites}).";
            }

            return new SslAuthenticationException($"The TLS handshake with broker {address} failed: {alert}. {hint}", error);
        }

        private string DescribeCertificateProblem(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0 || certificate is null)
            {
                return "the broker sent no certificate.";
            }

            var broker = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
            var problems = new List<string>();
            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                problems.Add(DescribeChain(broker, chain));
            }

            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                problems.Add(
                    $"its certificate ({broker.Subject}) is not valid for the host name '{address.Host}': it names {Names(broker)}. " +
                    $"Connect with a name the certificate holds (bootstrap.servers, or the broker's advertised.listeners), give the broker a certificate for '{address.Host}', " +
                    $"or, only where the network is trusted, set {TlsConfigKeys.EndpointIdentificationAlgorithm}= (empty) to skip the host name check.");
            }

            return string.Join(" Also, ", problems);
        }

        private string DescribeChain(X509Certificate2 broker, X509Chain? chain)
        {
            var flags = X509ChainStatusFlags.NoError;
            foreach (var status in chain?.ChainStatus ?? [])
            {
                flags |= status.Status;
            }

            if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                var now = DateTime.Now;
                var stale = chain!.ChainElements.Select(e => e.Certificate).FirstOrDefault(c => now > c.NotAfter || now < c.NotBefore) ?? broker;
                var which = ReferenceEquals(stale, broker) || stale.Thumbprint == broker.Thumbprint ? "its certificate" : $"a certificate in its chain ({stale.Subject})";
                return now > stale.NotAfter
                    ? $"{which} expired on {stale.NotAfter.ToUniversalTime():u} ({broker.Subject}). The broker needs a renewed certificate; check also this machine's clock."
                    : $"{which} is not valid before {stale.NotBefore.ToUniversalTime():u} ({broker.Subject}). Check this machine's clock, or the broker's certificate.";
            }

            var trust = connector._trusted is null
                ? $"the system's trusted CAs (no {TlsConfigKeys.TruststoreLocation} or {TlsConfigKeys.TruststoreCertificates} is set)"
                : $"the trust store ({TlsConfigKeys.TruststoreLocation} / {TlsConfigKeys.TruststoreCertificates}: {string.Join(", ", connector._trusted.Select(c => c.Subject))})";
            if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
            {
                return $"its certificate ({broker.Subject}, issued by {broker.Issuer}) is not signed by a CA in {trust}. " +
                    $"Set {TlsConfigKeys.TruststoreLocation} ({TlsConfigKeys.TruststoreType}=PEM or PKCS12) or {TlsConfigKeys.TruststoreCertificates} to the CA certificate that signed the broker's certificate.";
            }

            var statuses = string.Join("; ", (chain?.ChainStatus ?? []).Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"));
            return $"its certificate ({broker.Subject}, issued by {broker.Issuer}) could not be verified against {trust}: {(statuses.Length > 0 ? statuses : "chain error")}.";
        }

        private static string Names(X509Certificate2 certificate)
        {
            var names = new List<string>();
            foreach (var extension in certificate.Extensions)
            {
                if (extension is X509SubjectAlternativeNameExtension san)
                {
                    names.AddRange(san.EnumerateDnsNames().Select(n => $"DNS:{n}"));
                    names.AddRange(san.EnumerateIPAddresses().Select(ip => $"IP:{ip}"));
                }
            }

            return names.Count > 0 ? string.Join(", ", names) : $"no subject alternative name (subject {certificate.Subject})";
        }

        // OpenSSL reports an alert it received (or a protocol error it found) as a cryptographic error inside the
        // IOException or AuthenticationException; a plain lost connection has none.
        private static string? TlsAlert(Exception error)
        {
            for (var e = error; e is not null; e = e.InnerException)
            {
                if (e is CryptographicException)
                {
                    return e.Message;
                }
            }

            return null;
        }

        private static Exception Innermost(Exception error)
        {
            var e = error;
            while (e.InnerException is not null)
            {
                e = e.InnerException;
            }

            return e;
        }
    }
}
