using System.Text;

namespace Samsa.Security.Sasl;

/// <summary>
/// One SASL mechanism on the client side. A producer has one, shared by its connections; each
/// authentication (and each KIP-368 re-authentication) runs a fresh <see cref="ISaslExchange"/>.
/// </summary>
internal interface ISaslMechanism
{
    /// <summary>The mechanism's IANA name, as sent in SaslHandshake.</summary>
    string Name { get; }

    /// <summary>
    /// Starts an exchange, fetching what it needs first (an OAUTHBEARER token), so that the connection is
    /// held only for the exchange itself.
    /// </summary>
    /// <param name="host">The broker's host name, as the connection dialled it (bootstrap or advertised): GSSAPI names the
    /// service principal <c>service/host</c> with it, AWS_MSK_IAM signs for it; the other mechanisms ignore it.</param>
    /// <param name="minimumValidity">For a re-authentication, the session lifetime the broker granted last time: a
    /// credential that expires sooner than that is what limited the session, and is refreshed rather than reused (a
    /// session bounded by a token that was already used would only get shorter).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    ValueTask<ISaslExchange> BeginAsync(string host, TimeSpan minimumValidity, CancellationToken cancellationToken);
}

/// <summary>The client's side of one SASL exchange: a first message, then one answer per server challenge.</summary>
internal interface ISaslExchange
{
    /// <summary>The client's first message.</summary>
    byte[] Start();

    /// <summary>
    /// The answer to what the server sent back in a successful SaslAuthenticate response, or null when the
    /// exchange is complete.
    /// </summary>
    /// <exception cref="KafkaAuthenticationException">The server's message is wrong (a SCRAM server signature
    /// that does not match, a nonce that is not ours).</exception>
    byte[]? Respond(ReadOnlySpan<byte> challenge);

    /// <summary>What the server said went wrong, where the mechanism carries that inside the exchange (OAUTHBEARER).</summary>
    string? ServerError { get; }
}

/// <summary>PLAIN (RFC 4616): one message, <c>authzid NUL authcid NUL passwd</c>, with an empty authzid as Kafka's Java client sends.</summary>
internal sealed class PlainMechanism(string username, string password) : ISaslMechanism
{
    public string Name => "PLAIN";

    public ValueTask<ISaslExchange> BeginAsync(string host, TimeSpan minimumValidity, CancellationToken cancellationToken) => new(new Exchange(username, password));

    /// <summary>The RFC 4616 message.</summary>
    internal static byte[] Message(string username, string password) => Encoding.UTF8.GetBytes($"\0{username}\0{password}");

    private sealed class Exchange(string username, string password) : ISaslExchange
    {
        public string? ServerError => null;

        public byte[] Start() => Message(username, password);

        public byte[]? Respond(ReadOnlySpan<byte> challenge) =>
            challenge.IsEmpty ? null : throw new KafkaAuthenticationException("The broker answered a SASL/PLAIN message with a challenge; PLAIN has none.");
    }
}
