using System.Buffers.Binary;
using Samsa.Compression;
using Samsa.Protocol;

namespace Samsa.Records;

/// <summary>One decoded v2 record.</summary>
internal sealed class DecodedRecord
{
    public sbyte Attributes { get; init; }

    public int OffsetDelta { get; init; }

    public long TimestampDelta { get; init; }

    /// <summary>Base timestamp plus delta.</summary>
    public long Timestamp { get; init; }

    public byte[]? Key { get; init; }

    public byte[]? Value { get; init; }

    public List<Header> Headers { get; init; } = [];
}

/// <summary>One decoded v2 record batch, every header field as found on the wire.</summary>
internal sealed class DecodedBatch
{
    public long BaseOffset { get; init; }

    public int BatchLength { get; init; }

    public int PartitionLeaderEpoch { get; init; }

    public sbyte Magic { get; init; }

    public uint Crc { get; init; }

    public short Attributes { get; init; }

    public CompressionType Compression => (CompressionType)(Attributes & RecordBatchBuilder.CompressionMask);

    public bool IsLogAppendTime => (Attributes & RecordBatchBuilder.TimestampTypeFlag) != 0;

    public bool IsTransactional => (Attributes & RecordBatchBuilder.TransactionalFlag) != 0;

    public bool IsControl => (Attributes & RecordBatchBuilder.ControlFlag) != 0;

    public int LastOffsetDelta { get; init; }

    public long BaseTimestamp { get; init; }

    public long MaxTimestamp { get; init; }

    public long ProducerId { get; init; }

    public short ProducerEpoch { get; init; }

    public int BaseSequence { get; init; }

    public int RecordCount { get; init; }

    public List<DecodedRecord> Records { get; init; } = [];
}

/// <summary>
/// Decodes v2 record batches: the inverse of <see cref="RecordBatchBuilder"/>, for tests, the
/// benchmark verifier and checks of the Produce encoder. Clarity over speed; it allocates freely.
/// </summary>
internal static class RecordBatchReader
{
    /// <summary>
    /// Decodes every batch in <paramref name="data"/>. A fetch response may end in a partial batch;
    /// <paramref name="ignoreTruncatedTail"/> skips it instead of throwing.
    /// </summary>
    public static List<DecodedBatch> ReadAll(ReadOnlySpan<byte> data, bool ignoreTruncatedTail = false)
    {
        var batches = new List<DecodedBatch>();
        while (!data.IsEmpty)
        {
            if (ignoreTruncatedTail && (data.Length < RecordBatchBuilder.HeaderSize
                || BinaryPrimitives.ReadInt32BigEndian(data[RecordBatchBuilder.BatchLengthOffset..]) > data.Length - 12))
            {
                break;
            }

            batches.Add(ReadOne(data, out var consumed));
            data = data[consumed..];
        }

        return batches;
    }

    /// <summary>Decodes the batch at the start of <paramref name="data"/>.</summary>
    public static DecodedBatch ReadOne(ReadOnlySpan<byte> data, out int consumed)
    {
        if (data.Length < RecordBatchBuilder.HeaderSize)
        {
            throw new KafkaProtocolException($"A record batch needs at least {RecordBatchBuilder.HeaderSize} bytes, only {data.Length} left.");
        }

        var batchLength = BinaryPrimitives.ReadInt32BigEndian(data[RecordBatchBuilder.BatchLengthOffset..]);
        if (batchLength < RecordBatchBuilder.HeaderSize - 12 || batchLength > data.Length - 12)
        {
            throw new KafkaProtocolException($"Record batch length {batchLength} is impossible with {data.Length - 12} bytes after it.");
        }

        var magic = (sbyte)data[RecordBatchBuilder.MagicOffset];
        if (magic != RecordBatchBuilder.Magic)
        {
            throw new KafkaProtocolException($"Record batch magic is {magic}; only magic 2 is supported.");
        }

        var batch = data[..(12 + batchLength)];
        consumed = batch.Length;

        var storedCrc = BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatchBuilder.CrcOffset..]);
        var actualCrc = Crc32C.Compute(batch[RecordBatchBuilder.AttributesOffset..]);
        if (storedCrc != actualCrc)
        {
            throw new KafkaProtocolException($"Record batch CRC mismatch: stored 0x{storedCrc:X8}, computed 0x{actualCrc:X8}.");
        }

        var reader = new KafkaReader(batch);
        var baseOffset = reader.ReadInt64();
        reader.ReadInt32(); // batch length, checked above
        var leaderEpoch = reader.ReadInt32();
        reader.ReadInt8(); // magic
        reader.ReadUInt32(); // crc
        var attributes = reader.ReadInt16();
        var lastOffsetDelta = reader.ReadInt32();
        var baseTimestamp = reader.ReadInt64();
        var maxTimestamp = reader.ReadInt64();
        var producerId = reader.ReadInt64();
        var producerEpoch = reader.ReadInt16();
        var baseSequence = reader.ReadInt32();
        var count = reader.ReadInt32();
        reader.ThrowIfFailed("record batch header");

        var result = new DecodedBatch
        {
            BaseOffset = baseOffset,
            BatchLength = batchLength,
            PartitionLeaderEpoch = leaderEpoch,
            Magic = magic,
            Crc = storedCrc,
            Attributes = attributes,
            LastOffsetDelta = lastOffsetDelta,
            BaseTimestamp = baseTimestamp,
            MaxTimestamp = maxTimestamp,
            ProducerId = producerId,
            ProducerEpoch = producerEpoch,
            BaseSequence = baseSequence,
            RecordCount = count,
        };

        if (count < 0)
        {
            throw new KafkaProtocolException($"Record batch claims {count} records.");
        }

        var recordsSection = batch[RecordBatchBuilder.HeaderSize..];
        if (result.Compression == CompressionType.None)
        {
            ReadRecords(recordsSection, result);
        }
        else
        {
            using var decompressed = new PooledBufferWriter((int)Math.Clamp(recordsSection.Length * 4L, 256, 1 << 24));
            Compressor.Decompress(result.Compression, recordsSection, decompressed);
            ReadRecords(decompressed.WrittenSpan, result);
        }

        return result;
    }

    private static void ReadRecords(ReadOnlySpan<byte> section, DecodedBatch batch)
    {
        var reader = new KafkaReader(section);
        for (var i = 0; i < batch.RecordCount; i++)
        {
            var length = reader.ReadVarInt();
            var start = reader.Position;
            var attributes = reader.ReadInt8();
            var timestampDelta = reader.ReadVarLong();
            var offsetDelta = reader.ReadVarInt();
            var key = ReadVarBytes(ref reader);
            var value = ReadVarBytes(ref reader);
            var headerCount = reader.ReadVarInt();
            if (headerCount < 0 || headerCount > reader.Remaining)
            {
                reader.Fail($"header count {headerCount} is impossible");
            }

            var headers = new List<Header>(Math.Max(headerCount, 0));
            for (var h = 0; h < headerCount && !reader.Failed; h++)
            {
                var keyLength = reader.ReadVarInt();
                if (keyLength < 0)
                {
                    reader.Fail($"header key length {keyLength}");
                    break;
                }

                var headerKey = System.Text.Encoding.UTF8.GetString(reader.ReadRaw(keyLength));
                headers.Add(new Header(headerKey, ReadVarBytes(ref reader)));
            }

            reader.ThrowIfFailed($"record {i} of {batch.RecordCount}");
            if (reader.Position - start != length)
            {
                throw new KafkaProtocolException($"Record {i} declares {length} bytes but its fields take {reader.Position - start}.");
            }

            batch.Records.Add(new DecodedRecord
            {
                Attributes = attributes,
                OffsetDelta = offsetDelta,
                TimestampDelta = timestampDelta,
                Timestamp = batch.BaseTimestamp + timestampDelta,
                Key = key,
                Value = value,
                Headers = headers,
            });
        }

        if (reader.Remaining != 0)
        {
            throw new KafkaProtocolException($"{reader.Remaining} bytes left after the {batch.RecordCount} records of the batch.");
        }
    }

    private static byte[]? ReadVarBytes(ref KafkaReader reader)
    {
        var length = reader.ReadVarInt();
        if (length < -1)
        {
            reader.Fail($"byte length {length}");
            return null;
        }

        return length == -1 ? null : reader.ReadRaw(length).ToArray();
    }
}
