using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Tests.Protocol;

public sealed class ReaderFailureTests
{
    public static TheoryData<string, short> AllVersions() => MessageCatalog.AllVersions();

    [Theory]
    [MemberData(nameof(AllVersions))]
    public void EveryTruncationFailsAndStaysFailed(string name, short version)
    {
        var entry = MessageCatalog.Get(name);
        var bytes = entry.Encode(Samples.Create(entry, version, nulls: false), version);
        for (var length = 0; length < bytes.Length; length++)
        {
            var outcome = entry.Read(bytes[..length], version);
            Assert.True(outcome.Failed, $"{name} v{version} truncated to {length} of {bytes.Length} bytes decoded without failing");
            Assert.NotNull(outcome.FailureReason);
        }
    }

    [Fact]
    public void FailureIsStickyAndSurfacesThroughThrowIfFailed()
    {
        var bytes = Convert.FromHexString("000000010001"); // MetadataResponse v0: one broker, then cut short
        var reader = new KafkaReader(bytes);
        MetadataResponse.Read(ref reader, 0);
        Assert.True(reader.Failed);
        var reason = reader.FailureReason;
        Assert.Equal(0, reader.ReadInt32());
        Assert.True(reader.Failed);
        Assert.Equal(reason, reader.FailureReason);
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var again = new KafkaReader(bytes);
            MetadataResponse.Read(ref again, 0);
            again.ThrowIfFailed("MetadataResponse");
        });
    }

    [Fact]
    public void BogusArrayLengthFailsWithoutAllocatingAHugeList()
    {
        // MetadataResponse v0 claiming int.MaxValue brokers, followed by a few bytes.
        var bytes = Convert.FromHexString("7fffffff0000000000000000");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var reader = new KafkaReader(bytes);
        MetadataResponse.Read(ref reader, 0);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(reader.Failed);
        Assert.Contains("array length", reader.FailureReason, StringComparison.Ordinal);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void BogusCompactArrayLengthFails()
    {
        // ProduceResponse v9: compact array count varint 0xffffff7f (about 268 million) with nothing behind it.
        var reader = new KafkaReader(Convert.FromHexString("ffffff7f"));
        ProduceResponse.Read(ref reader, 9);
        Assert.True(reader.Failed);
    }

    [Fact]
    public void NullForNonNullableFieldFails()
    {
        // MetadataResponse v0: no brokers, one topic whose name is null (nullable only from v12).
        var reader = new KafkaReader(Convert.FromHexString("00000000" + "00000001" + "0000" + "ffff" + "00000000"));
        MetadataResponse.Read(ref reader, 0);
        Assert.True(reader.Failed);
    }

    [Fact]
    public void UnknownTaggedFieldsAreSkipped()
    {
        // InitProducerIdResponse v2: throttle, error, producer id, epoch, then an unknown tag 5 of 2 bytes.
        var reader = new KafkaReader(Convert.FromHexString("00000000" + "0000" + "000000000000002a" + "0001" + "01" + "05 02 abcd".Replace(" ", "", StringComparison.Ordinal)));
        var response = InitProducerIdResponse.Read(ref reader, 2);
        reader.ThrowIfFailed("InitProducerIdResponse");
        Assert.Equal(0, reader.Remaining);
        Assert.Equal(42, response.ProducerId);
        Assert.Equal(1, response.ProducerEpoch);
    }

    [Fact]
    public void UnsupportedVersionFailsTheReader()
    {
        var reader = new KafkaReader([]);
        ProduceRequest.Read(ref reader, 99);
        Assert.True(reader.Failed);
    }
}
