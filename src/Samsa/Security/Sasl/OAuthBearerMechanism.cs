using System.Text;

namespace Samsa.Security.Sasl;

/// <summary>
/// OAUTHBEARER (RFC 7628, KIP-255) with SASL extensions (KIP-342): the client's one message is
/// <c>n,,\x01auth=Bearer TOKEN\x01key=value\x01…\x01</c>. A broker that refuses the token answers with a
/// JSON error as a challenge; the client acknowledges it with a lone <c>\x01</c> and the broker then fails
/// the exchange.
/// </summary>
internal sealed class OAuthBearerMechanism(OAuthBearerTokenCache tokens, IReadOnlyDictionary<string, string> extensions) : ISaslMechanism
{
    private const char Separator = '\x01';

    public string Name => "OAUTHBEARER";

    public async ValueTask<ISaslExchange> BeginAsync(TimeSpan minimumValidity, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(minimumValidity, cancellationToken).ConfigureAwait(false);
        var merged = extensions;
        if (token.Extensions is { Count: > 0 } own)
        {
            var all = new Dictionary<string, string>(extensions, StringComparer.Ordinal);
            foreach (var (name, value) in own)
            {
                if (SaslSettings.CheckExtension(name, value) is { } why)
                {
                    throw new KafkaAuthenticationException($"The OAUTHBEARER token provider returned an invalid SASL extension: {why} (KIP-342).");
                }

                all[name] = value;
            }

            merged = all;
        }

        return new Exchange(token.Value, merged);
    }

    /// <summary>The RFC 7628 client initial response, with an empty authzid as Kafka's Java client sends.</summary>
    internal static byte[] InitialResponse(string token, IReadOnlyDictionary<string, string> extensions)
    {
        var message = new StringBuilder("n,,").Append(Separator).Append("auth=Bearer ").Append(token);
        // Sorted, so that the same settings always give the same bytes.
        foreach (var (name, value) in extensions.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            message.Append(Separator).Append(name).Append('=').Append(value);
        }

        return Encoding.UTF8.GetBytes(message.Append(Separator).Append(Separator).ToString());
    }

    /// <summary>RFC 6750 b64token: what a bearer token may consist of; anything else could break the message apart.</summary>
    internal static bool IsB64Token(string token)
    {
        var end = token.Length;
        while (end > 0 && token[end - 1] == '=')
        {
            end--;
        }

        if (end == 0)
        {
            return false;
        }

        for (var i = 0; i < end; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(token[i]) || token[i] is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class Exchange(string token, IReadOnlyDictionary<string, string> extensions) : ISaslExchange
    {
        private bool _started;

        public string? ServerError { get; private set; }

        public byte[] Start()
        {
            _started = true;
            return InitialResponse(token, extensions);
        }

        public byte[]? Respond(ReadOnlySpan<byte> challenge)
        {
            if (challenge.IsEmpty && ServerError is null)
            {
                return null;
            }

            if (!_started || ServerError is not null)
            {
                throw new KafkaAuthenticationException($"SASL OAUTHBEARER authentication failed: {ServerError ?? "the broker sent an unexpected challenge"}.");
            }

            // RFC 7628 §3.2.3: the error status is JSON, e.g. {"status":"invalid_token"}; it carries no secret.
            ServerError = Encoding.UTF8.GetString(challenge);
            return [(byte)Separator];
        }
    }
}
