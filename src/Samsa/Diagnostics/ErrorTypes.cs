namespace Samsa.Diagnostics;

/// <summary>
/// The <c>error.type</c> of a failure, low in cardinality as the semantic conventions ask: a broker's
/// error code by its Kafka name (<c>NOT_LEADER_OR_FOLLOWER</c>), else the exception's type name
/// (<c>Samsa.KafkaTimeoutException</c>).
/// </summary>
internal static class ErrorTypes
{
    public static string Of(KafkaException error) => error switch
    {
        KafkaBrokerException broker => ErrorCodes.Name(broker.ErrorCode),
        _ when error.GetType() == typeof(KafkaException) && error.ErrorCode != ErrorCode.UnknownServerError => ErrorCodes.Name(error.ErrorCode),
        _ => error.GetType().FullName ?? error.GetType().Name,
    };
}
