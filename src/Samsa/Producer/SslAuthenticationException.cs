namespace Samsa;

/// <summary>
/// The TLS handshake with a broker failed: its certificate is not trusted, names another host, has
/// expired, or the broker refused the handshake (for example because it requires a client certificate).
/// The message says what was wrong and which <c>ssl.*</c> setting fixes it. As the Java client's
/// <c>SslAuthenticationException</c>, it is a <see cref="KafkaAuthenticationException"/>: fatal for the producer.
/// </summary>
public sealed class SslAuthenticationException(string message, Exception? innerException = null)
    : KafkaAuthenticationException(message, ErrorCode.LocalSsl, innerException);
