using Samsa.Protocol;

namespace Samsa.Network;

/// <summary>Decodes a response with its generated reader and completes a task with it.</summary>
internal sealed class ResponseHandler<TResponse> : IResponseHandler
    where TResponse : IKafkaResponse<TResponse>
{
    private readonly TaskCompletionSource<TResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResponse> Task => _completion.Task;

    public void OnResponse(ReadOnlySpan<byte> body, short apiVersion)
    {
        try
        {
            var reader = new KafkaReader(body);
            var response = TResponse.Read(ref reader, apiVersion);
            reader.ThrowIfFailed($"{typeof(TResponse).Name} v{apiVersion}");
            _completion.TrySetResult(response);
        }
        catch (KafkaProtocolException e)
        {
            _completion.TrySetException(new KafkaNetworkException(e.Message, e));
        }
    }

    public void OnFailure(KafkaException error) => _completion.TrySetException(error);
}
