namespace Samsa.Protocol;

/// <summary>Bytes from a broker that do not decode as the message they should be.</summary>
internal sealed class KafkaProtocolException(string message) : Exception(message);
