using Microsoft.Extensions.Logging;
using Samsa.Diagnostics;
using Samsa.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Security.Sasl;

namespace Samsa.Security;

/// <summary>
/// Authenticates a producer's connections with SASL (KIP-43): SaslHandshake v1 names the mechanism, then
/// SaslAuthenticate (v0-v2, the highest both sides support) carries the mechanism's messages until the broker
/// accepts or refuses. The broker's <c>session_lifetime_ms</c> (v1+) tells the connection when to
/// re-authenticate (KIP-368, see <c>BrokerConnection.Authentication.cs</c>). One per producer, shared by its
/// connections, with the mechanism's state that outlives a connection (the OAUTHBEARER token).
/// </summary>
internal sealed partial class SaslAuthenticator : IDisposable
{
    private readonly ILogger _logger;
    private readonly IDisposable? _owned;

    private SaslAuthenticator(ISaslMechanism mechanism, ILogger logger, IDisposable? owned = null)
    {
        Mechanism = mechanism;
        _logger = logger;
        _owned = owned;
    }

    public ISaslMechanism Mechanism { get; }

    /// <summary>The first refusal any connection of the producer got; once set, connections stop (re-)authenticating.</summary>
    public KafkaAuthenticationException? Refusal => Volatile.Read(ref _refusal);

    private KafkaAuthenticationException? _refusal;

    /// <summary>Records that a broker refused the producer's credentials (see <see cref="Refusal"/>).</summary>
    public void Refuse(KafkaAuthenticationException refusal) => Interlocked.CompareExchange(ref _refusal, refusal, null);

    /// <summary>The OAUTHBEARER token cache, when the mechanism has one (tests).</summary>
    internal OAuthBearerTokenCache? Tokens { get; private init; }

    /// <summary>The authenticator for <paramref name="options"/>, or null when its security protocol does not use SASL.</summary>
    /// <exception cref="ConfigException">The SASL settings are incomplete or wrong.</exception>
    public static SaslAuthenticator? Create(ProducerOptions options, ILogger logger)
    {
        var settings = SaslSettings.Resolve(options.SecurityProtocol, options.Sasl);
        if (settings is null)
        {
            return null;
        }

        switch (settings.Mechanism)
        {
            case SaslMechanism.Plain:
                return new SaslAuthenticator(new PlainMechanism(settings.Username, settings.Password), logger);
            case SaslMechanism.ScramSha256 or SaslMechanism.ScramSha512:
                return new SaslAuthenticator(new ScramMechanism(settings.Mechanism, settings.Username, settings.Password, settings.ScramTokenAuth), logger);
            case SaslMechanism.Gssapi:
                if (!KerberosEnvironment.GssapiLibraryAvailable())
                {
                    throw new ConfigException(SaslConfigKeys.Mechanism, $"'{SaslConfigKeys.Mechanism}' is GSSAPI (Kerberos), which needs the platform's GSSAPI library (libgssapi_krb5.so.2); it is not installed. {KerberosEnvironment.InstallHint}.");
                }

                if (settings.KerberosKeytab is { } keytab && KerberosEnvironment.UseClientKeytab(keytab, settings.KerberosPrincipal!) is { } why)
                {
                    throw new ConfigException(SaslConfigKeys.JaasConfig, $"The Kerberos keytab of '{SaslConfigKeys.JaasConfig}' cannot be used: {why}.");
                }

                return new SaslAuthenticator(new GssapiMechanism(settings.KerberosServiceName, settings.KerberosPrincipal), logger);
            case SaslMechanism.AwsMskIam:
                // In the core package: it needs only System.Security.Cryptography and System.Text.Json, no AWS SDK.
                var sources = AwsCredentialSources.FromEnvironment(settings.AwsProfileName);
                return new SaslAuthenticator(new AwsMskIamMechanism(settings.Options.AwsCredentialsProvider, sources, settings.Options.AwsRegion), logger);
            default:
                OidcTokenSource? oidc = null;
                var source = settings.Options.OAuthBearerTokenProvider;
                if (source is null)
                {
                    oidc = new OidcTokenSource(settings, logger);
                    source = oidc.FetchAsync;
                }

                var tokens = new OAuthBearerTokenCache(source, settings.Options, logger);
                return new SaslAuthenticator(new OAuthBearerMechanism(tokens, settings.Extensions), logger, oidc) { Tokens = tokens };
        }
    }

    /// <summary>
    /// Runs one exchange on <paramref name="connection"/> and returns the session lifetime the broker gave
    /// (0: none, so no re-authentication).
    /// </summary>
    /// <param name="connection">A connection whose versions are known.</param>
    /// <param name="exchange">From <see cref="ISaslMechanism.BeginAsync"/>.</param>
    /// <param name="writeLockHeld">True for a re-authentication, which holds the connection's write lock throughout
    /// so that no other request goes out between the SASL messages.</param>
    /// <param name="cancellationToken">Cancels the waits for answers.</param>
    /// <exception cref="KafkaAuthenticationException">The broker refused, or proved to be the wrong broker.</exception>
    public async Task<long> AuthenticateAsync(BrokerConnection connection, ISaslExchange exchange, bool writeLockHeld, CancellationToken cancellationToken)
    {
        var broker = connection.Address;
        var name = Mechanism.Name;
        if (connection.Versions.Pick(ApiKey.SaslHandshake, 1, SaslHandshakeRequest.HighestSupportedVersion) is var handshakeVersion && handshakeVersion < 0)
        {
            throw new KafkaAuthenticationException(
                $"Broker {broker} supports SaslHandshake {connection.Versions.Describe(ApiKey.SaslHandshake)}; Samsa needs v1 or later (Kafka 1.0+). Is the listener a SASL listener?");
        }

        var authenticateVersion = connection.Versions.Pick(ApiKey.SaslAuthenticate, 0, SaslAuthenticateRequest.HighestSupportedVersion);
        if (authenticateVersion < 0)
        {
            throw new KafkaAuthenticationException($"Broker {broker} does not support SaslAuthenticate; Samsa needs Kafka 1.0 or later.");
        }

        var handshake = await connection.SendAsync(new SaslHandshakeRequest { Mechanism = name }, handshakeVersion, writeLockHeld, cancellationToken).ConfigureAwait(false);
        if (handshake.ErrorCode != (short)ErrorCode.None)
        {
            var enabled = handshake.Mechanisms.Count == 0 ? "none" : string.Join(", ", handshake.Mechanisms);
            throw new KafkaAuthenticationException(handshake.ErrorCode == (short)ErrorCode.UnsupportedSaslMechanism
                ? $"Broker {broker} does not enable SASL mechanism {name} (sasl.mechanism); it enables: {enabled}."
                : $"Broker {broker} refused the SASL handshake for {name} with {ErrorCodes.Name((ErrorCode)handshake.ErrorCode)}; it enables: {enabled}.");
        }

        var message = exchange.Start();
        while (true)
        {
            var response = await connection.SendAsync(new SaslAuthenticateRequest { AuthBytes = message }, authenticateVersion, writeLockHeld, cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode != (short)ErrorCode.None)
            {
                var code = (ErrorCode)response.ErrorCode;
                var said = string.IsNullOrEmpty(response.ErrorMessage) ? "" : $": {response.ErrorMessage}";
                var detail = exchange.ServerError is { } inner ? $" ({inner})" : "";
                throw new KafkaAuthenticationException($"Broker {broker} refused SASL {name} authentication with {ErrorCodes.Name(code)}{said}{detail}");
            }

            if (exchange.Respond(response.AuthBytes) is not { } next)
            {
                return authenticateVersion >= 1 ? Math.Max(0, response.SessionLifetimeMs) : 0;
            }

            message = next;
        }
    }

    public void Dispose() => _owned?.Dispose();

    internal void OnAuthenticated(BrokerAddress broker, long sessionLifetimeMs, bool reauthentication)
    {
        if (reauthentication)
        {
            SecurityLog.Reauthenticated(_logger, broker, Mechanism.Name, sessionLifetimeMs);
        }
        else
        {
            SecurityLog.Authenticated(_logger, broker, Mechanism.Name, sessionLifetimeMs);
        }
    }

    internal void OnReauthenticationFailed(BrokerAddress broker, KafkaException error) => SecurityLog.ReauthenticationFailed(_logger, error, broker, error.Message);
}
