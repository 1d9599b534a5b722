namespace Samsa;

/// <summary>
/// A broker refused to let the producer in: its TLS handshake failed (<see cref="SslAuthenticationException"/>),
/// or SASL authentication failed (credentials refused, a mechanism the broker does not enable, an untrusted
/// token, or a SCRAM server that could not prove it knows the credentials); the message then carries the
/// broker's own error message where it sent one. Retrying with the same settings cannot help, so it is fatal for the
/// producer (<see cref="KafkaException.IsFatal"/>): every record not yet delivered fails with it at once,
/// and so does every later call. Dispose the producer and create a new one once the configuration is fixed.
/// </summary>
public class KafkaAuthenticationException : KafkaException
{
    /// <summary>Creates the exception; <paramref name="message"/> should say what was refused and which setting fixes it.</summary>
    public KafkaAuthenticationException(string message, Exception? innerException = null)
        : this(message, ErrorCode.SaslAuthenticationFailed, innerException)
    {
    }

    /// <summary>For subtypes whose failure has a closer error code.</summary>
    protected KafkaAuthenticationException(string message, ErrorCode errorCode, Exception? innerException)
        : base(message, errorCode, isRetriable: false, innerException)
    {
    }

    /// <inheritdoc/>
    public override bool IsFatal => true;
}
