namespace Samsa.Network;

/// <summary>
/// Receives the answer to one request, on the connection's receive loop. Implementations must
/// not block: they decode what they need from the span (valid only during the call) and hand
/// the rest of the work elsewhere.
/// </summary>
internal interface IResponseHandler
{
    /// <summary>The response body, after the response header.</summary>
    void OnResponse(ReadOnlySpan<byte> body, short apiVersion);

    /// <summary>The request will get no response: the connection failed or timed out.</summary>
    void OnFailure(KafkaException error);
}
