using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Tests.Protocol;

/// <summary>
/// Exact encodings worked out by hand from the protocol rules, field by field, so that the golden
/// files cannot silently bless a generator bug. Each test also decodes the bytes and re-encodes.
/// Classic: STRING = int16 length + UTF-8 (null = -1), BYTES/ARRAY = int32 length (null = -1).
/// Flexible: COMPACT_* = unsigned varint of length + 1 (null = 0), and every structure ends with
/// a tagged-field section: varint count, then (varint tag, varint size, bytes) per field.
/// </summary>
public sealed class HandDerivedBytesTests
{
    [Fact]
    public void ApiVersionsRequestV0IsEmpty()
    {
        Check(new ApiVersionsRequest { ClientSoftwareName = "ignored", ClientSoftwareVersion = "ignored" }, 0, "", ApiVersionsRequest.Read, (m, w, v) => m.Write(w, v));
    }

    [Fact]
    public void ApiVersionsRequestV3()
    {
        Check(new ApiVersionsRequest { ClientSoftwareName = "samsa", ClientSoftwareVersion = "1.0" }, 3,
            "06 73616d7361" + // ClientSoftwareName: compact length 5+1, "samsa"
            "04 312e30" +     // ClientSoftwareVersion: compact length 3+1, "1.0"
            "00",             // no tagged fields
            ApiVersionsRequest.Read, (m, w, v) => m.Write(w, v));
    }

    [Fact]
    public void ApiVersionsResponseV0()
    {
        var response = new ApiVersionsResponse
        {
            ErrorCode = 0,
            ApiKeys = [new() { ApiKey = 18, MinVersion = 0, MaxVersion = 4 }],
            ThrottleTimeMs = 100, // not in v0 and ignorable: dropped
        };
        Check(response, 0,
            "0000" +                   // ErrorCode
            "00000001" +               // ApiKeys: int32 count 1
            "0012 0000 0004",          // ApiKey 18, MinVersion 0, MaxVersion 4
            ApiVersionsResponse.Read, (m, w, v) => m.Write(w, v), compareDecoded: false);
        Assert.Equal(0, ApiVersionsResponse.ResponseHeaderVersion(0));
        Assert.Equal(0, ApiVersionsResponse.ResponseHeaderVersion(3)); // always header v0
    }

    [Fact]
    public void ApiVersionsResponseV3WithTaggedFields()
    {
        var response = new ApiVersionsResponse
        {
            ErrorCode = 0,
            ApiKeys = [new() { ApiKey = 18, MinVersion = 0, MaxVersion = 4 }],
            ThrottleTimeMs = 100,
            SupportedFeatures = [new() { Name = "mv", MinVersion = 1, MaxVersion = 20 }],
            FinalizedFeaturesEpoch = 5,
            ZkMigrationReady = true,
        };
        Check(response, 3,
            "0000" +                       // ErrorCode
            "02" +                         // ApiKeys: compact count 1+1
            "0012 0000 0004 00" +          // ApiKey 18, Min 0, Max 4, element tagged fields: none
            "00000064" +                   // ThrottleTimeMs 100
            "03" +                         // three tagged fields (FinalizedFeatures is empty: default, not sent)
            "00 09" +                      // tag 0 SupportedFeatures, 9 bytes:
            "02 03 6d76 0001 0014 00" +    //   count 1+1, Name "mv", Min 1, Max 20, no tags
            "01 08 0000000000000005" +     // tag 1 FinalizedFeaturesEpoch = 5 (8 bytes)
            "03 01 01",                    // tag 3 ZkMigrationReady = true (1 byte)
            ApiVersionsResponse.Read, (m, w, v) => m.Write(w, v));
    }

    [Fact]
    public void MetadataRequestV1()
    {
        Check(new MetadataRequest { Topics = [new() { Name = "t" }] }, 1,
            "00000001" +   // Topics: int32 count 1
            "0001 74",     // Name "t" (AllowAutoTopicCreation only from v4; default true so nothing to lose)
            MetadataRequest.Read, (m, w, v) => m.Write(w, v));
        Check(new MetadataRequest { Topics = null }, 1, "ffffffff", MetadataRequest.Read, (m, w, v) => m.Write(w, v)); // null: all topics
    }

    [Fact]
    public void MetadataRequestV0RejectsNonDefaultNonIgnorableField()
    {
        var request = new MetadataRequest { AllowAutoTopicCreation = false };
        var e = Assert.Throws<InvalidOperationException>(() => Encode((w, v) => request.Write(w, v), 3));
        Assert.Contains("AllowAutoTopicCreation", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MetadataRequestV12()
    {
        var request = new MetadataRequest
        {
            Topics = [new() { TopicId = new Guid("00112233-4455-6677-8899-aabbccddeeff"), Name = "t" }],
            AllowAutoTopicCreation = false,
            IncludeTopicAuthorizedOperations = true,
        };
        Check(request, 12,
            "02" +                                  // Topics: compact count 1+1
            "00112233445566778899aabbccddeeff" +    // TopicId, most significant byte first
            "02 74" +                               // Name "t" (compact, nullable from v10)
            "00" +                                  // topic: no tagged fields
            "00" +                                  // AllowAutoTopicCreation false
            "01" +                                  // IncludeTopicAuthorizedOperations true (cluster flag ended at v10)
            "00",                                   // no tagged fields
            MetadataRequest.Read, (m, w, v) => m.Write(w, v));
    }

    [Fact]
    public void ProduceRequestV3()
    {
        var request = new ProduceRequest
        {
            TransactionalId = "tx",
            Acks = -1,
            TimeoutMs = 30000,
            TopicData = [new() { Name = "t", PartitionData = [new() { Index = 0, Records = [1, 2, 3] }] }],
        };
        Check(request, 3,
            "0002 7478" +      // TransactionalId "tx"
            "ffff" +           // Acks -1
            "00007530" +       // TimeoutMs 30000
            "00000001" +       // TopicData count 1
            "0001 74" +        //   Name "t"
            "00000001" +       //   PartitionData count 1
            "00000000" +       //     Index 0
            "00000003 010203", //     Records: int32 length 3, bytes
            ProduceRequest.Read, (m, w, v) => m.Write(w, v));
        Assert.Equal(1, request.RequestHeaderVersion(3));
        Assert.Equal(ApiKey.Produce, request.ApiKey);
    }

    [Fact]
    public void ProduceRequestV9()
    {
        var request = new ProduceRequest
        {
            TransactionalId = null,
            Acks = -1,
            TimeoutMs = 30000,
            TopicData = [new() { Name = "t", PartitionData = [new() { Index = 0, Records = [1, 2, 3] }] }],
        };
        Check(request, 9,
            "00" +             // TransactionalId null: compact 0
            "ffff" +           // Acks -1
            "00007530" +       // TimeoutMs 30000
            "02" +             // TopicData compact count 1+1
            "02 74" +          //   Name "t"
            "02" +             //   PartitionData compact count 1+1
            "00000000" +       //     Index 0
            "04 010203" +      //     Records: compact length 3+1, bytes
            "00" +             //     partition: no tagged fields
            "00" +             //   topic: no tagged fields
            "00",              // no tagged fields
            ProduceRequest.Read, (m, w, v) => m.Write(w, v));
        Assert.Equal(2, request.RequestHeaderVersion(9));
    }

    [Fact]
    public void ProduceResponseV8()
    {
        var response = new ProduceResponse
        {
            Responses =
            [
                new()
                {
                    Name = "t",
                    PartitionResponses =
                    [
                        new()
                        {
                            Index = 1, ErrorCode = 0, BaseOffset = 10, LogAppendTimeMs = -1, LogStartOffset = 0,
                            RecordErrors = [new() { BatchIndex = 2, BatchIndexErrorMessage = "e" }],
                            ErrorMessage = null,
                        },
                    ],
                },
            ],
            ThrottleTimeMs = 0,
        };
        Check(response, 8,
            "00000001" +            // Responses count 1
            "0001 74" +             //   Name "t"
            "00000001" +            //   PartitionResponses count 1
            "00000001" +            //     Index 1
            "0000" +                //     ErrorCode 0
            "000000000000000a" +    //     BaseOffset 10
            "ffffffffffffffff" +    //     LogAppendTimeMs -1
            "0000000000000000" +    //     LogStartOffset 0
            "00000001" +            //     RecordErrors count 1
            "00000002 0001 65" +    //       BatchIndex 2, BatchIndexErrorMessage "e"
            "ffff" +                //     ErrorMessage null
            "00000000",             // ThrottleTimeMs 0
            ProduceResponse.Read, (m, w, v) => m.Write(w, v));
        Assert.Equal(0, ProduceResponse.ResponseHeaderVersion(8));
    }

    [Fact]
    public void ProduceResponseV10WithTaggedFields()
    {
        var response = new ProduceResponse
        {
            Responses =
            [
                new()
                {
                    Name = "t",
                    PartitionResponses =
                    [
                        new()
                        {
                            Index = 1, ErrorCode = 6, BaseOffset = -1, LogAppendTimeMs = -1, LogStartOffset = -1,
                            ErrorMessage = "x",
                            CurrentLeader = new() { LeaderId = 2, LeaderEpoch = 7 },
                        },
                    ],
                },
            ],
            ThrottleTimeMs = 0,
            NodeEndpoints = [new() { NodeId = 2, Host = "h", Port = 9092, Rack = null }],
        };
        Check(response, 10,
            "02" +                    // Responses compact count 1+1
            "02 74" +                 //   Name "t"
            "02" +                    //   PartitionResponses compact count 1+1
            "00000001" +              //     Index 1
            "0006" +                  //     ErrorCode 6 (NOT_LEADER_OR_FOLLOWER)
            "ffffffffffffffff" +      //     BaseOffset -1
            "ffffffffffffffff" +      //     LogAppendTimeMs -1
            "ffffffffffffffff" +      //     LogStartOffset -1
            "01" +                    //     RecordErrors: empty compact array
            "02 78" +                 //     ErrorMessage "x"
            "01" +                    //     one tagged field:
            "00 09" +                 //       tag 0 CurrentLeader, 9 bytes:
            "00000002 00000007 00" +  //         LeaderId 2, LeaderEpoch 7, no tags
            "00" +                    //   topic: no tagged fields
            "00000000" +              // ThrottleTimeMs 0
            "01" +                    // one tagged field:
            "00 0d" +                 //   tag 0 NodeEndpoints, 13 bytes:
            "02" +                    //     compact count 1+1
            "00000002 02 68 00002384 00 00", // NodeId 2, Host "h", Port 9092, Rack null, no tags
            ProduceResponse.Read, (m, w, v) => m.Write(w, v));
        Assert.Equal(1, ProduceResponse.ResponseHeaderVersion(10));
    }

    [Fact]
    public void ProduceResponseV9RejectsCurrentLeader()
    {
        // CurrentLeader is not ignorable and only exists from v10.
        var response = new ProduceResponse
        {
            Responses = [new() { Name = "t", PartitionResponses = [new() { CurrentLeader = new() { LeaderId = 1 } }] }],
        };
        Assert.Throws<InvalidOperationException>(() => Encode((w, v) => response.Write(w, v), 9));
    }

    [Fact]
    public void InitProducerIdRequestV4()
    {
        var request = new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60000, ProducerId = 42, ProducerEpoch = 3 };
        Check(request, 4,
            "00" +                 // TransactionalId null (compact)
            "0000ea60" +           // TransactionTimeoutMs 60000
            "000000000000002a" +   // ProducerId 42
            "0003" +               // ProducerEpoch 3
            "00",                  // no tagged fields
            InitProducerIdRequest.Read, (m, w, v) => m.Write(w, v));
    }

    [Fact]
    public void RequestHeaderV1()
    {
        var header = new RequestHeader { RequestApiKey = 3, RequestApiVersion = 12, CorrelationId = 7, ClientId = "c" };
        Check(header, 1, "0003 000c 00000007 0001 63", RequestHeader.Read, (m, w, v) => m.Write(w, v));
        header.ClientId = null;
        Check(header, 1, "0003 000c 00000007 ffff", RequestHeader.Read, (m, w, v) => m.Write(w, v));
    }

    [Fact]
    public void RequestHeaderV2KeepsClassicClientId()
    {
        var header = new RequestHeader { RequestApiKey = 3, RequestApiVersion = 12, CorrelationId = 7, ClientId = "c" };
        Check(header, 2,
            "0003" +      // RequestApiKey 3
            "000c" +      // RequestApiVersion 12
            "00000007" +  // CorrelationId 7
            "0001 63" +   // ClientId "c": still int16 length ("flexibleVersions": "none" on the field)
            "00",         // no tagged fields
            RequestHeader.Read, (m, w, v) => m.Write(w, v));
    }

    private static byte[] Encode(Action<KafkaWriter, short> write, short version)
    {
        using var buffer = new PooledBufferWriter();
        write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Check<T>(T message, short version, string expectedHex, ReadMessage<T> read, Action<T, KafkaWriter, short> write, bool compareDecoded = true)
    {
        var expected = Convert.FromHexString(expectedHex.Replace(" ", "", StringComparison.Ordinal));
        var actual = Encode((w, v) => write(message, w, v), version);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(actual));

        var reader = new KafkaReader(expected);
        var decoded = read(ref reader, version);
        reader.ThrowIfFailed(typeof(T).Name);
        Assert.Equal(0, reader.Remaining);
        if (compareDecoded)
        {
            Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(Encode((w, v) => write(decoded, w, v), version)));
        }
    }
}
