namespace Samsa;

/// <summary>
/// The producer could not authenticate to a broker: the broker refused the credentials, does not
/// enable the chosen mechanism, or could not prove its own identity (a SCRAM server signature that
/// does not match). The message carries the broker's own error message where it sent one. It is
/// fatal: retrying with the same settings cannot succeed, so every record not yet delivered fails
/// with it at once. Fix the credentials or settings and create a new producer.
/// </summary>
public sealed class KafkaAuthenticationException(string message, Exception? innerException = null)
    : KafkaException(message, ErrorCode.SaslAuthenticationFailed, isRetriable: false, innerException)
{
    /// <inheritdoc/>
    public override bool IsFatal => true;
}
