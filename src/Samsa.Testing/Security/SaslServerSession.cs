using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;

namespace Samsa.Testing.Security;

/// <summary>What the proxy does with one request of a connection behind a <see cref="SaslFront"/>.</summary>
internal enum SaslAction
{
    /// <summary>Pass it to the broker.</summary>
    Forward,

    /// <summary>Pass it to the broker, and add the SASL APIs to its answer (ApiVersions).</summary>
    ForwardApiVersions,

    /// <summary>Answer it here with <see cref="SaslVerdict.Response"/>, then close if <see cref="SaslVerdict.CloseAfter"/>.</summary>
    Answer,

    /// <summary>Close the connection without an answer, as a broker does after a protocol violation or an expired session.</summary>
    Close,
}

internal readonly record struct SaslVerdict(SaslAction Action, byte[]? Response = null, bool CloseAfter = false);

/// <summary>
/// One connection's SASL state on the broker side, as Kafka's <c>SaslServerAuthenticator</c> keeps it: waiting for the
/// handshake, exchanging tokens, authenticated until the session expires, and re-authenticating (KIP-368) when an
/// authenticated connection sends a new SaslHandshake.
/// </summary>
internal sealed class SaslServerSession(SaslFront front, int brokerId)
{
    private IServerExchange? _exchange;
    private string? _principal;
    private string? _mechanism;
    private DateTimeOffset? _expiresAt;

    public SaslVerdict OnRequest(short apiKey, short version, int correlationId, ReadOnlySpan<byte> frame, DateTimeOffset now)
    {
        // Kafka's SocketServer: any request on a connection whose session expired closes it.
        if (_principal is not null && _expiresAt is { } expiry && now >= expiry + front.ExpiryGrace)
        {
            front.CountExpired();
            return new SaslVerdict(SaslAction.Close);
        }

        switch (apiKey)
        {
            case SaslWire.ApiVersions when _exchange is null:
                return new SaslVerdict(SaslAction.ForwardApiVersions);
            case SaslWire.SaslHandshake when _exchange is null:
                return Handshake(correlationId, SaslWire.ReadHandshake(frame));
            case SaslWire.SaslAuthenticate when _exchange is not null && version <= front.MaxSaslAuthenticateVersion:
                return Authenticate(correlationId, version, SaslWire.ReadAuthenticate(frame, version), now);
        }

        if (_principal is not null && _exchange is null)
        {
            return new SaslVerdict(SaslAction.Forward);
        }

        front.ReportViolation(_principal is null
            ? $"broker {brokerId}: request with api key {apiKey} before SASL authentication"
            : $"broker {brokerId}: request with api key {apiKey} in the middle of a re-authentication");
        return new SaslVerdict(SaslAction.Close);
    }

    private SaslVerdict Handshake(int correlationId, string mechanism)
    {
        var enabled = front.EnabledMechanisms;
        if (!enabled.Contains(mechanism, StringComparer.Ordinal))
        {
            front.CountFailed($"mechanism {mechanism} is not enabled");
            return new SaslVerdict(SaslAction.Answer, SaslWire.HandshakeResponse(correlationId, 33 /* UNSUPPORTED_SASL_MECHANISM */, enabled), CloseAfter: true);
        }

        if (_principal is not null && mechanism != _mechanism)
        {
            // KIP-368: a re-authentication must use the mechanism of the session.
            front.CountFailed($"re-authentication with {mechanism} on a {_mechanism} session");
            return new SaslVerdict(SaslAction.Answer, SaslWire.HandshakeResponse(correlationId, 34 /* ILLEGAL_SASL_STATE */, enabled), CloseAfter: true);
        }

        _exchange = mechanism switch
        {
            "PLAIN" => new PlainExchange(front),
            "OAUTHBEARER" => new OAuthBearerExchange(front),
            "GSSAPI" => new GssapiExchange(),
            "AWS_MSK_IAM" => new AwsMskIamExchange(front),
            _ => new ScramExchange(front, mechanism),
        };
        _mechanism = mechanism;
        return new SaslVerdict(SaslAction.Answer, SaslWire.HandshakeResponse(correlationId, 0, enabled));
    }

    private SaslVerdict Authenticate(int correlationId, short version, byte[] token, DateTimeOffset now)
    {
        var step = _exchange!.Step(token, now);
        if (step.Error is { } error)
        {
            front.CountFailed(error);
            var message = $"Authentication failed during authentication due to invalid credentials with SASL mechanism {_mechanism}: {error}";
            return new SaslVerdict(SaslAction.Answer, SaslWire.AuthenticateResponse(correlationId, version, 58 /* SASL_AUTHENTICATION_FAILED */, message, [], 0), CloseAfter: true);
        }

        if (step.Principal is not { } principal)
        {
            return new SaslVerdict(SaslAction.Answer, SaslWire.AuthenticateResponse(correlationId, version, 0, null, step.Challenge ?? [], 0));
        }

        var reauthentication = _principal is not null;
        if (reauthentication && principal != _principal)
        {
            front.CountFailed($"re-authentication as {principal} on a session of {_principal}");
            return new SaslVerdict(SaslAction.Answer, SaslWire.AuthenticateResponse(correlationId, version, 58, "Cannot change principals during re-authentication", [], 0), CloseAfter: true);
        }

        // Kafka: the session lasts connections.max.reauth.ms, and no longer than the credential (an OAUTHBEARER token).
        var lifetime = front.SessionLifetime;
        if (step.CredentialExpiry is { } credentialExpiry && (lifetime <= TimeSpan.Zero || credentialExpiry - now < lifetime))
        {
            lifetime = credentialExpiry - now;
        }

        _exchange = null;
        _principal = principal;
        _expiresAt = lifetime > TimeSpan.Zero ? now + lifetime : null;
        front.CountAuthenticated(principal, reauthentication);
        var lifetimeMs = lifetime > TimeSpan.Zero ? (long)lifetime.TotalMilliseconds : 0;
        return new SaslVerdict(SaslAction.Answer, SaslWire.AuthenticateResponse(correlationId, version, 0, null, step.Challenge ?? [], version >= 1 ? lifetimeMs : 0));
    }

    /// <summary>One step of an exchange: a challenge to send (with no principal yet), a principal (done), or an error.</summary>
    private readonly record struct Step(byte[]? Challenge, string? Principal = null, string? Error = null, DateTimeOffset? CredentialExpiry = null);

    private interface IServerExchange
    {
        Step Step(byte[] token, DateTimeOffset now);
    }

    private sealed class PlainExchange(SaslFront front) : IServerExchange
    {
        public Step Step(byte[] token, DateTimeOffset now)
        {
            // RFC 4616: [authzid] NUL authcid NUL passwd
            var parts = Encoding.UTF8.GetString(token).Split('\0');
            if (parts.Length != 3)
            {
                return new Step(null, Error: "Invalid PLAIN message");
            }

            var (authzid, user, password) = (parts[0], parts[1], parts[2]);
            if (authzid.Length > 0 && authzid != user)
            {
                return new Step(null, Error: "Authorization id differs from the user name");
            }

            return front.PlainPassword(user) is { } expected
                && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(password))
                ? new Step([], user)
                : new Step(null, Error: "Invalid username or password");
        }
    }

    private sealed class ScramExchange(SaslFront front, string mechanism) : IServerExchange
    {
        private ScramCredential? _credential;
        private string _user = "";
        private string _gs2Header = "";
        private string _nonce = "";
        private string _clientFirstBare = "";
        private string _serverFirst = "";

        public Step Step(byte[] token, DateTimeOffset now)
        {
            var message = Encoding.UTF8.GetString(token);
            return _credential is null ? First(message) : Final(message);
        }

        private Step First(string message)
        {
            // gs2-header: "n,," (or "n,a=authzid,"); channel binding ('p' or 'y') is not offered.
            var second = message.IndexOf(',', message.IndexOf(',', StringComparison.Ordinal) + 1);
            if (!message.StartsWith("n,", StringComparison.Ordinal) || second < 0)
            {
                return new Step(null, Error: "Invalid SCRAM client first message");
            }

            _gs2Header = message[..(second + 1)];
            _clientFirstBare = message[(second + 1)..];
            var attributes = Attributes(_clientFirstBare);
            if (!attributes.TryGetValue('n', out var name) || !attributes.TryGetValue('r', out var clientNonce) || clientNonce.Length == 0)
            {
                return new Step(null, Error: "Invalid SCRAM client first message");
            }

            _user = name.Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
            _credential = front.Scram(mechanism, _user);
            if (_credential is null)
            {
                return new Step(null, Error: "Unknown user");
            }

            _nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            _serverFirst = string.Create(CultureInfo.InvariantCulture, $"r={_nonce},s={Convert.ToBase64String(_credential.Salt)},i={_credential.Iterations}");
            return new Step(Encoding.UTF8.GetBytes(_serverFirst));
        }

        private Step Final(string message)
        {
            var proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
            if (proofAt < 0)
            {
                return new Step(null, Error: "Invalid SCRAM client final message");
            }

            var withoutProof = message[..proofAt];
            var attributes = Attributes(withoutProof);
            if (!attributes.TryGetValue('c', out var binding) || binding != Convert.ToBase64String(Encoding.UTF8.GetBytes(_gs2Header)))
            {
                return new Step(null, Error: "Invalid channel binding");
            }

            if (!attributes.TryGetValue('r', out var nonce) || nonce != _nonce)
            {
                return new Step(null, Error: "Invalid nonce");
            }

            byte[] proof;
            try
            {
                proof = Convert.FromBase64String(message[(proofAt + 3)..]);
            }
            catch (FormatException)
            {
                return new Step(null, Error: "Invalid client proof");
            }

            var credential = _credential!;
            var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
            var clientSignature = ScramCredential.Hmac(credential.Hash, credential.StoredKey, authMessage);
            if (proof.Length != clientSignature.Length)
            {
                return new Step(null, Error: "Invalid client proof");
            }

            var clientKey = new byte[proof.Length];
            for (var i = 0; i < proof.Length; i++)
            {
                clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
            }

            if (!CryptographicOperations.FixedTimeEquals(ScramCredential.HashOf(credential.Hash, clientKey), credential.StoredKey))
            {
                return new Step(null, Error: "Invalid client proof");
            }

            var serverSignature = ScramCredential.Hmac(credential.Hash, credential.ServerKey, authMessage);
            if (front.CorruptScramServerSignature)
            {
                serverSignature[0] ^= 0xFF;
            }

            return new Step(Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature)), _user);
        }

        private static Dictionary<char, string> Attributes(string message)
        {
            var attributes = new Dictionary<char, string>();
            foreach (var part in message.Split(','))
            {
                if (part.Length >= 2 && part[1] == '=')
                {
                    attributes.TryAdd(part[0], part[2..]);
                }
            }

            return attributes;
        }
    }

    private sealed class AwsMskIamExchange(SaslFront front) : IServerExchange
    {
        public Step Step(byte[] token, DateTimeOffset now)
        {
            var (principal, fields, error) = AwsMskIamVerifier.Verify(front, token, now);
            if (fields is not null)
            {
                front.RecordAwsMessage(fields);
            }

            if (error is not null)
            {
                return new Step(null, Error: error);
            }

            // MSK's answer: the version and the id of the request it authorised.
            return new Step(Encoding.UTF8.GetBytes($$"""{"version":"2020_10_22","request-id":"{{Guid.NewGuid()}}"}"""), principal);
        }
    }

    private sealed class OAuthBearerExchange(SaslFront front) : IServerExchange
    {
        private string? _failure;

        public Step Step(byte[] token, DateTimeOffset now)
        {
            if (_failure is not null)
            {
                // RFC 7628 §3.2.3: after the error challenge the client sends a lone 0x01, then the exchange fails.
                return new Step(null, Error: token is [0x01] ? _failure : "Invalid OAUTHBEARER message after the error challenge");
            }

            var message = Encoding.UTF8.GetString(token);
            var error = Parse(message, out var bearer, out var extensions);
            string? subject = null;
            DateTimeOffset expiry = default;
            if (error is null)
            {
                (subject, expiry, error) = front.OAuthBearerIssuer!.Validate(bearer!, now);
            }

            if (error is not null)
            {
                _failure = error;
                return new Step(Encoding.UTF8.GetBytes("""{"status":"invalid_token"}"""));
            }

            front.RecordExtensions(extensions);
            return new Step([], subject, CredentialExpiry: expiry);
        }

        // RFC 7628: gs2-header 0x01 *(key "=" value 0x01) 0x01, with auth="Bearer " token among the pairs.
        private static string? Parse(string message, out string? bearer, out Dictionary<string, string> extensions)
        {
            bearer = null;
            extensions = new Dictionary<string, string>(StringComparer.Ordinal);
            var header = message.IndexOf('\x01', StringComparison.Ordinal);
            if (header < 0 || !message.StartsWith("n,", StringComparison.Ordinal) || !message.EndsWith("\x01\x01", StringComparison.Ordinal))
            {
                return "Invalid OAUTHBEARER client first message";
            }

            foreach (var pair in message[(header + 1)..^2].Split('\x01'))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    return "Invalid OAUTHBEARER key-value pair";
                }

                var (key, value) = (pair[..eq], pair[(eq + 1)..]);
                if (key == "auth")
                {
                    if (!value.StartsWith("Bearer ", StringComparison.Ordinal))
                    {
                        return "Invalid OAUTHBEARER auth value";
                    }

                    bearer = value["Bearer ".Length..];
                }
                else
                {
                    extensions[key] = value;
                }
            }

            return bearer is null ? "No OAUTHBEARER token" : null;
        }
    }

    /// <summary>
    /// GSSAPI as Kafka's broker runs it (Java's <c>GssKrb5Server</c>): accept the client's AP-REQ and answer with the AP-REP;
    /// then, to the client's empty message, send the wrapped RFC 4752 security layer offer (layer 1, no security layer,
    /// with a 64 KiB maximum size); then unwrap the client's choice, which must be layer 1, and take its authorization id,
    /// which must be empty or the authenticated principal.
    /// </summary>
    private sealed class GssapiExchange : IServerExchange, IDisposable
    {
        private readonly NegotiateAuthentication _context = new(new NegotiateAuthenticationServerOptions
        {
            Package = "Kerberos",
            Credential = CredentialCache.DefaultNetworkCredentials,
            RequiredProtectionLevel = ProtectionLevel.Sign,
        });

        private int _stage;

        public Step Step(byte[] token, DateTimeOffset now)
        {
            switch (_stage)
            {
                case 0:
                    var outgoing = _context.GetOutgoingBlob(token, out var status);
                    if (status == NegotiateAuthenticationStatusCode.ContinueNeeded)
                    {
                        return new Step(outgoing ?? []);
                    }

                    if (status != NegotiateAuthenticationStatusCode.Completed)
                    {
                        return Failed($"GSS-API context not accepted: {status}");
                    }

                    _stage = 1;
                    return new Step(outgoing ?? []);
                case 1:
                    if (token.Length != 0)
                    {
                        return Failed("GSSAPI: expected an empty message after the context was established");
                    }

                    var offer = new ArrayBufferWriter<byte>();
                    if (_context.Wrap([1, 0x01, 0x00, 0x00], offer, requestEncryption: false, out _) != NegotiateAuthenticationStatusCode.Completed)
                    {
                        return Failed("GSSAPI: could not wrap the security layer offer");
                    }

                    _stage = 2;
                    return new Step(offer.WrittenSpan.ToArray());
                default:
                    var answer = new ArrayBufferWriter<byte>();
                    if (_context.Unwrap(token, answer, out _) != NegotiateAuthenticationStatusCode.Completed || answer.WrittenCount < 4)
                    {
                        return Failed("GSSAPI: the security layer answer does not unwrap to at least 4 bytes");
                    }

                    var chosen = answer.WrittenSpan;
                    if (chosen[0] != 1)
                    {
                        return Failed($"GSSAPI: the client chose security layer 0x{chosen[0]:X2}, which was not offered");
                    }

                    var principal = _context.RemoteIdentity.Name;
                    var authorizationId = Encoding.UTF8.GetString(chosen[4..]);
                    if (authorizationId.Length > 0 && authorizationId != principal)
                    {
                        return Failed($"GSSAPI: authorization id {authorizationId} differs from the authenticated principal {principal}");
                    }

                    _context.Dispose();
                    return new Step([], principal);
            }
        }

        public void Dispose() => _context.Dispose();

        private Step Failed(string error)
        {
            _context.Dispose();
            return new Step(null, Error: error);
        }
    }
}
