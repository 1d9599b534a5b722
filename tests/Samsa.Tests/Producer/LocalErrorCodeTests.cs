namespace Samsa.Tests.Producer;

/// <summary>
/// Client-side failures carry codes of their own (<c>Local*</c>, below -1), distinct from every protocol
/// code a broker can send, so that a caller can switch on <see cref="KafkaException.ErrorCode"/>.
/// </summary>
public sealed class LocalErrorCodeTests
{
    private static readonly KafkaException Cause = new KafkaBrokerException(ErrorCode.ClusterAuthorizationFailed, null, "t", 0);

    public static TheoryData<string, KafkaException, ErrorCode> ClientSideExceptions() => new()
    {
        { "buffer full", new BufferFullException("full"), ErrorCode.LocalBufferFull },
        { "closed", new ProducerClosedException("closed"), ErrorCode.LocalProducerClosed },
        { "request timeout", new KafkaTimeoutException("slow"), ErrorCode.LocalTimedOut },
        { "delivery timeout", KafkaTimeoutException.DeliveryTimeout("late", "t", 0), ErrorCode.LocalMessageTimedOut },
        { "network", new KafkaNetworkException("lost"), ErrorCode.LocalTransport },
        { "invalid record", new InvalidRecordException("no topic"), ErrorCode.LocalInvalidRecord },
        { "record too large", new RecordTooLargeException("big"), ErrorCode.LocalRecordTooLarge },
        { "key serializer", new SerializationException("k", Samsa.Serialization.MessageComponentType.Key, new InvalidOperationException()), ErrorCode.LocalKeySerialization },
        { "value serializer", new SerializationException("v", new InvalidOperationException()), ErrorCode.LocalValueSerialization },
        { "fatal", new ProducerFatalException("fatal", Cause), ErrorCode.LocalFatal },
        { "tls", new SslAuthenticationException("untrusted"), ErrorCode.LocalSsl },
        { "transaction aborted", new TransactionAbortedException("aborted before it was sent"), ErrorCode.LocalTransactionAborted },
    };

    [Theory]
    [MemberData(nameof(ClientSideExceptions))]
    public void EveryClientSideExceptionHasItsOwnLocalCode(string what, KafkaException error, ErrorCode expected)
    {
        Assert.True(ErrorCodes.IsLocal(error.ErrorCode), what);
        Assert.Equal(expected, error.ErrorCode);
        Assert.StartsWith("LOCAL_", ErrorCodes.Name(error.ErrorCode), StringComparison.Ordinal);
    }

    [Fact]
    public void NoTwoClientSideExceptionsShareACode()
    {
        var codes = ClientSideExceptions().Select(row => (ErrorCode)row[2]).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
    }

    [Fact]
    public void NoProtocolCodeIsLocalAndEveryLocalCodeIsBelowMinusOne()
    {
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            Assert.Equal((short)code < -1, ErrorCodes.IsLocal(code));
            Assert.Equal(ErrorCodes.IsLocal(code), Enum.GetName(code)!.StartsWith("Local", StringComparison.Ordinal));
        }

        Assert.False(ErrorCodes.IsLocal(ErrorCode.UnknownServerError));
        Assert.False(ErrorCodes.IsLocal(ErrorCode.RequestTimedOut));
    }

    [Theory]
    [InlineData(ErrorCode.LocalBufferFull, -184)] // librdkafka's _QUEUE_FULL
    [InlineData(ErrorCode.LocalMessageTimedOut, -192)] // _MSG_TIMED_OUT
    [InlineData(ErrorCode.LocalTransport, -195)] // _TRANSPORT
    [InlineData(ErrorCode.LocalProducerClosed, -197)] // _DESTROY
    [InlineData(ErrorCode.LocalFatal, -150)] // _FATAL
    [InlineData(ErrorCode.LocalTransactionAborted, -152)] // _PURGE_QUEUE, which librdkafka reports for records an abort purged
    [InlineData(ErrorCode.LocalKeySerialization, -162)]
    [InlineData(ErrorCode.LocalValueSerialization, -161)]
    public void CodesSharedWithLibrdkafkaKeepItsNumbers(ErrorCode code, short librdkafka) =>
        Assert.Equal(librdkafka, (short)code);

    [Fact]
    public void AFatalErrorKeepsItsCauseAndItsCode()
    {
        var fatal = new ProducerFatalException("fatal", Cause);
        Assert.Same(Cause, fatal.Cause);
        Assert.Same(Cause, fatal.InnerException);
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, fatal.Cause.ErrorCode);
        Assert.True(fatal.IsFatal);
    }

    [Fact]
    public void ABrokerErrorKeepsTheProtocolCode()
    {
        var error = new KafkaBrokerException(ErrorCode.NotEnoughReplicas, "isr", "t", 1);
        Assert.False(ErrorCodes.IsLocal(error.ErrorCode));
        Assert.True(error.IsRetriable);
    }
}
