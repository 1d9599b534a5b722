using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Samsa.Compression;
using Samsa.Protocol;

namespace Samsa.Records;

/// <summary>
/// The open record batch (magic v2) of one partition. Records are encoded into their wire form as
/// they arrive, after a reserved header, so sealing an uncompressed batch only fills in the header
/// and a compressed batch is compressed straight into a second buffer that also reserves the header.
/// Both buffers come from <see cref="ArrayPool{T}"/> and are kept across <see cref="Reset"/>.
/// Not thread-safe: the producer owns each builder under its partition's lock.
/// </summary>
internal sealed class RecordBatchBuilder : IDisposable
{
    /// <summary>Bytes of a v2 batch before its first record.</summary>
    public const int HeaderSize = 61;

    // Offsets of the v2 header fields.
    internal const int BaseOffsetOffset = 0;
    internal const int BatchLengthOffset = 8;
    internal const int PartitionLeaderEpochOffset = 12;
    internal const int MagicOffset = 16;
    internal const int CrcOffset = 17;
    internal const int AttributesOffset = 21;
    internal const int LastOffsetDeltaOffset = 23;
    internal const int BaseTimestampOffset = 27;
    internal const int MaxTimestampOffset = 35;
    internal const int ProducerIdOffset = 43;
    internal const int ProducerEpochOffset = 51;
    internal const int BaseSequenceOffset = 53;
    internal const int RecordCountOffset = 57;

    internal const byte Magic = 2;
    internal const short TransactionalFlag = 0x10;
    internal const short ControlFlag = 0x20;
    internal const short TimestampTypeFlag = 0x08;
    internal const short CompressionMask = 0x07;

    private readonly int _initialCapacity;
    private readonly ArrayPool<byte> _pool;
    private byte[] _buffer;
    private int _length = HeaderSize;
    private PooledBufferWriter? _compressed;
    private long _maxTimestamp;
    private bool _sealed;
    private bool _disposed;

    // Set while the record buffer holds the sealed batch compressed in place of its records (see Seal): the
    // codec to undo it with, and the sealed length.
    private CompressionType _compressedInPlace;
    private int _compressedInPlaceLength;

    // Every codec writes into this, per thread, and the result is copied to where the batch keeps it: the
    // codecs ask for worst-case room (lz4 its bound per block), which would otherwise round every batch's
    // output buffer up to twice the batch.
    [ThreadStatic]
    private static PooledBufferWriter? t_compressionScratch;

    /// <param name="initialCapacity">The buffer's starting size; it grows as records need.</param>
    /// <param name="pool">Where the record and compression buffers come from; <see cref="ArrayPool{T}.Shared"/> when null.</param>
    public RecordBatchBuilder(int initialCapacity, ArrayPool<byte>? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        _initialCapacity = Math.Max(initialCapacity, HeaderSize + 64);
        _pool = pool ?? ArrayPool<byte>.Shared;
        _buffer = _pool.Rent(_initialCapacity);
    }

    public int RecordCount { get; private set; }

    /// <summary>Bytes the sealed batch takes uncompressed, header included.</summary>
    public int SizeInBytes => _length;

    /// <summary>The bytes of the arrays the builder holds (records and compression output), used or not.</summary>
    public int HeldBytes => _buffer.Length + (_compressed?.Capacity ?? 0);

    /// <summary>The first record's timestamp, which is the batch's base timestamp.</summary>
    public long FirstTimestamp { get; private set; }

    /// <summary>The largest record timestamp so far (timestamps may go backwards).</summary>
    public long MaxTimestamp => _maxTimestamp;

    /// <summary>
    /// Empties the builder for the next batch; what <see cref="Seal"/> returned becomes invalid. After
    /// <see cref="ReleaseBuffers"/> it takes a buffer of the initial size from the pool again.
    /// </summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_buffer.Length == 0)
        {
            _buffer = _pool.Rent(_initialCapacity);
        }

        _length = HeaderSize;
        RecordCount = 0;
        FirstTimestamp = 0;
        _maxTimestamp = 0;
        _sealed = false;
        _compressedInPlace = CompressionType.None;
        _compressed?.Reset();
    }

    /// <summary>
    /// Encodes one record into the batch. Returns false, writing nothing, when the batch already
    /// holds a record and this one would take it past <paramref name="batchSizeLimit"/>; an empty
    /// batch takes any record, so an oversized record travels alone as Kafka's producer does.
    /// <paramref name="extraHeaders"/> are written after <paramref name="headers"/> (the trace context), so
    /// the caller's <see cref="Headers"/> object is never copied to add them.
    /// </summary>
    public bool TryAppend(
        long timestampMs,
        ReadOnlySpan<byte> key,
        bool keyIsNull,
        ReadOnlySpan<byte> value,
        bool valueIsNull,
        Headers? headers,
        int batchSizeLimit,
        ReadOnlySpan<Header> extraHeaders = default)
    {
        if (_sealed)
        {
            throw new InvalidOperationException("The batch is sealed; Reset it before appending.");
        }

        var timestampDelta = RecordCount == 0 ? 0 : timestampMs - FirstTimestamp;
        var offsetDelta = RecordCount;
        var keyLength = keyIsNull ? -1 : key.Length;
        var valueLength = valueIsNull ? -1 : value.Length;

        var bodySize = BodySize(timestampDelta, offsetDelta, keyLength, valueLength, headers, extraHeaders);
        var recordSize = VarInt.SizeOfSigned64(bodySize) + bodySize;
        if ((long)_length + recordSize > Array.MaxLength - 1024)
        {
            throw new InvalidOperationException($"A record batch cannot grow to {(long)_length + recordSize} bytes.");
        }

        if (RecordCount > 0 && _length + (int)recordSize > batchSizeLimit)
        {
            return false;
        }

        EnsureCapacity(_length + (int)recordSize);
        var span = _buffer.AsSpan(_length, (int)recordSize);
        var pos = VarInt.WriteSigned(span, (int)bodySize);
        span[pos++] = 0; // record attributes: unused
        pos += VarInt.WriteSigned64(span[pos..], timestampDelta);
        pos += VarInt.WriteSigned(span[pos..], offsetDelta);
        pos += WriteBytes(span[pos..], key, keyLength);
        pos += WriteBytes(span[pos..], value, valueLength);
        if (headers is null && extraHeaders.IsEmpty)
        {
            span[pos++] = 0;
        }
        else
        {
            pos += VarInt.WriteSigned(span[pos..], (headers?.Count ?? 0) + extraHeaders.Length);
            if (headers is not null)
            {
                foreach (var header in headers)
                {
                    pos += WriteHeader(span[pos..], header);
                }
            }

            foreach (var header in extraHeaders)
            {
                pos += WriteHeader(span[pos..], header);
            }
        }

        System.Diagnostics.Debug.Assert(pos == span.Length, "record size computed and written disagree");

        if (RecordCount == 0)
        {
            FirstTimestamp = timestampMs;
            _maxTimestamp = timestampMs;
        }
        else if (timestampMs > _maxTimestamp)
        {
            _maxTimestamp = timestampMs;
        }

        _length += (int)recordSize;
        RecordCount++;
        return true;
    }

    /// <summary>
    /// The size of a batch holding only this record (header included), exactly as it would be
    /// encoded; a key or value length of -1 means null. The producer checks it against
    /// <c>max.request.size</c> before appending.
    /// </summary>
    public static int EstimateRecordSize(int keyLength, int valueLength, Headers? headers, ReadOnlySpan<Header> extraHeaders = default)
    {
        var bodySize = BodySize(0, 0, keyLength, valueLength, headers, extraHeaders);
        var total = HeaderSize + VarInt.SizeOfSigned64(bodySize) + bodySize;
        return total > int.MaxValue ? int.MaxValue : (int)total;
    }

    /// <inheritdoc cref="EstimateRecordSize(int, int, Headers?, ReadOnlySpan{Header})"/>
    public static int EstimateRecordSize(ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, Headers? headers, ReadOnlySpan<Header> extraHeaders = default) =>
        EstimateRecordSize(keyIsNull ? -1 : key.Length, valueIsNull ? -1 : value.Length, headers, extraHeaders);

    /// <summary>
    /// Completes the batch and returns it, compressed if asked. The memory stays valid until
    /// <see cref="Reset"/> or <see cref="Dispose"/>. Sealing again re-encodes with the new arguments.
    /// </summary>
    public ReadOnlyMemory<byte> Seal(
        CompressionType compression,
        int compressionLevel,
        long producerId,
        short producerEpoch,
        int baseSequence,
        bool isTransactional)
    {
        if (RecordCount == 0)
        {
            throw new InvalidOperationException("An empty record batch cannot be sealed.");
        }

        RestoreRecords();
        _sealed = true;
        var header = _buffer.AsSpan(0, HeaderSize);
        var attributes = (short)((short)compression & CompressionMask);
        if (isTransactional)
        {
            attributes |= TransactionalFlag;
        }

        BinaryPrimitives.WriteInt64BigEndian(header[BaseOffsetOffset..], 0);
        BinaryPrimitives.WriteInt32BigEndian(header[PartitionLeaderEpochOffset..], -1);
        header[MagicOffset] = Magic;
        BinaryPrimitives.WriteInt16BigEndian(header[AttributesOffset..], attributes);
        BinaryPrimitives.WriteInt32BigEndian(header[LastOffsetDeltaOffset..], RecordCount - 1);
        BinaryPrimitives.WriteInt64BigEndian(header[BaseTimestampOffset..], FirstTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(header[MaxTimestampOffset..], _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(header[ProducerIdOffset..], producerId);
        BinaryPrimitives.WriteInt16BigEndian(header[ProducerEpochOffset..], producerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(header[BaseSequenceOffset..], baseSequence);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordCountOffset..], RecordCount);

        Span<byte> batch;
        ReadOnlyMemory<byte> result;
        if (compression == CompressionType.None)
        {
            batch = _buffer.AsSpan(0, _length);
            result = _buffer.AsMemory(0, _length);
        }
        else
        {
            var scratch = t_compressionScratch ??= new PooledBufferWriter(64 * 1024);
            scratch.Reset();
            header.CopyTo(scratch.GetSpan(HeaderSize));
            scratch.Advance(HeaderSize);
            Compressor.Compress(compression, compressionLevel, _buffer.AsSpan(HeaderSize, _length - HeaderSize), scratch);
            var encoded = scratch.WrittenSpan;
            if (encoded.Length <= _buffer.Length)
            {
                // The batch keeps one array, as Java's does: the records are needed again only to split the batch
                // after the broker refused it as too large, and RestoreRecords decompresses them for that.
                encoded.CopyTo(_buffer);
                _compressedInPlace = compression;
                _compressedInPlaceLength = encoded.Length;
                batch = _buffer.AsSpan(0, encoded.Length);
                result = _buffer.AsMemory(0, encoded.Length);
            }
            else
            {
                // Incompressible records grew past their buffer: the output gets an array of its own.
                var compressed = _compressed ??= new PooledBufferWriter(encoded.Length, _pool);
                compressed.Reset();
                encoded.CopyTo(compressed.GetSpan(encoded.Length));
                compressed.Advance(encoded.Length);
                batch = compressed.WrittenSpanForPatching;
                result = compressed.WrittenMemory;
            }
        }

        BinaryPrimitives.WriteInt32BigEndian(batch[BatchLengthOffset..], batch.Length - 12);
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], Crc32C.Compute(batch[AttributesOffset..]));
        return result;
    }

    /// <summary>
    /// Moves every record from index <paramref name="keep"/> on into the empty <paramref name="tail"/>,
    /// re-encoding their offset and timestamp deltas against the tail's own base; this builder keeps the
    /// first <paramref name="keep"/> records and can be sealed again. Used to split a batch the broker
    /// refused as too large (MESSAGE_TOO_LARGE), as the Java producer does.
    /// </summary>
    public void MoveRecordsTo(RecordBatchBuilder tail, int keep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(keep, RecordCount);
        if (tail.RecordCount != 0)
        {
            throw new ArgumentException("The tail batch must be empty.", nameof(tail));
        }

        RestoreRecords();
        var position = HeaderSize;
        var keptEnd = 0;
        long keptMax = 0;
        for (var index = 0; index < RecordCount; index++)
        {
            // A record: varint body length, then attributes, varlong timestamp delta, varint offset
            // delta, and the key, value and headers, which are copied as they are.
            var reader = new KafkaReader(_buffer.AsSpan(position, _length - position));
            var bodyLength = reader.ReadVarInt();
            var bodyStart = reader.Position;
            reader.ReadInt8();
            var timestamp = FirstTimestamp + reader.ReadVarLong();
            reader.ReadVarInt();
            var rest = _buffer.AsSpan(position + reader.Position, bodyLength - (reader.Position - bodyStart));
            if (reader.Failed)
            {
                throw new InvalidOperationException($"Record {index} of the batch could not be read back: {reader.FailureReason}.");
            }

            if (index < keep)
            {
                keptMax = index == 0 ? timestamp : Math.Max(keptMax, timestamp);
            }
            else
            {
                tail.AppendEncoded(timestamp, rest);
            }

            position += bodyStart + bodyLength;
            if (index == keep - 1)
            {
                keptEnd = position;
            }
        }

        _length = keptEnd;
        RecordCount = keep;
        _maxTimestamp = keptMax;
        _sealed = false;
    }

    // Decompresses the records over the batch that Seal compressed in their place. Rare: a batch is sealed again
    // only after the broker refused it as too large and it was split.
    private void RestoreRecords()
    {
        if (_compressedInPlace == CompressionType.None)
        {
            return;
        }

        var records = new ArrayBufferWriter<byte>(_length - HeaderSize);
        Compressor.Decompress(_compressedInPlace, _buffer.AsSpan(HeaderSize, _compressedInPlaceLength - HeaderSize), records);
        if (records.WrittenCount != _length - HeaderSize)
        {
            throw new InvalidOperationException($"The batch decompressed to {records.WrittenCount} bytes of records, not the {_length - HeaderSize} it was compressed from.");
        }

        records.WrittenSpan.CopyTo(_buffer.AsSpan(HeaderSize));
        _compressedInPlace = CompressionType.None;
    }

    // Appends a record whose key, value and headers are already encoded (see MoveRecordsTo).
    private void AppendEncoded(long timestampMs, ReadOnlySpan<byte> keyValueHeaders)
    {
        if (RecordCount == 0)
        {
            FirstTimestamp = timestampMs;
            _maxTimestamp = timestampMs;
        }
        else if (timestampMs > _maxTimestamp)
        {
            _maxTimestamp = timestampMs;
        }

        var timestampDelta = timestampMs - FirstTimestamp;
        var bodySize = 1 + VarInt.SizeOfSigned64(timestampDelta) + VarInt.SizeOfSigned(RecordCount) + keyValueHeaders.Length;
        var recordSize = VarInt.SizeOfSigned(bodySize) + bodySize;
        EnsureCapacity(_length + recordSize);
        var span = _buffer.AsSpan(_length, recordSize);
        var pos = VarInt.WriteSigned(span, bodySize);
        span[pos++] = 0;
        pos += VarInt.WriteSigned64(span[pos..], timestampDelta);
        pos += VarInt.WriteSigned(span[pos..], RecordCount);
        keyValueHeaders.CopyTo(span[pos..]);
        _length += recordSize;
        RecordCount++;
    }

    /// <summary>
    /// Patches producer id, epoch and base sequence of a sealed batch and recomputes its CRC, for
    /// a retry under a new epoch or sequence; the records (compressed or not) are left untouched.
    /// </summary>
    public static void RewriteProducerState(Span<byte> batch, long producerId, short producerEpoch, int baseSequence)
    {
        if (batch.Length < HeaderSize || batch[MagicOffset] != Magic)
        {
            throw new ArgumentException("Not a sealed v2 record batch.", nameof(batch));
        }

        var batchLength = BinaryPrimitives.ReadInt32BigEndian(batch[BatchLengthOffset..]);
        if (batchLength < HeaderSize - 12 || batchLength > batch.Length - 12)
        {
            throw new ArgumentException($"Batch length {batchLength} does not fit the {batch.Length} bytes given.", nameof(batch));
        }

        batch = batch[..(12 + batchLength)];
        BinaryPrimitives.WriteInt64BigEndian(batch[ProducerIdOffset..], producerId);
        BinaryPrimitives.WriteInt16BigEndian(batch[ProducerEpochOffset..], producerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch[BaseSequenceOffset..], baseSequence);
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], Crc32C.Compute(batch[AttributesOffset..]));
    }

    /// <summary>
    /// Empties the builder while it waits to be reused, giving buffers grown past twice the initial capacity back to
    /// the pool (<see cref="Reset"/> takes one of the initial size again), so that an idle builder holds at most
    /// its standard buffers.
    /// </summary>
    public void ReleaseBuffers()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Buffers of a batch.size batch stay: with hundreds of partitions tens of thousands of batches a second go
        // round, and giving their buffers to the pool and taking them back (a rent and a return each, under the
        // pool's lock, and a copy when the compression output grows from the initial size) halved the throughput
        // of compressed batches. Only buffers grown past that (a batch under backlog, a huge record) go back.
        if (_buffer.Length > 2 * _initialCapacity)
        {
            _pool.Return(_buffer);
            _buffer = [];
        }

        _length = HeaderSize;
        RecordCount = 0;
        if (_compressed is { Capacity: var capacity } && capacity > 2 * _initialCapacity)
        {
            _compressed.Dispose();
            _compressed = null;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        var buffer = _buffer;
        _buffer = [];
        _length = HeaderSize;
        RecordCount = 0;
        if (buffer.Length > 0)
        {
            _pool.Return(buffer);
        }

        _compressed?.Dispose();
        _compressed = null;
    }

    // Computed in 64 bits so absurd inputs fail cleanly instead of wrapping.
    private static long BodySize(long timestampDelta, int offsetDelta, int keyLength, int valueLength, Headers? headers, ReadOnlySpan<Header> extraHeaders)
    {
        long size = 1 // attributes
            + VarInt.SizeOfSigned64(timestampDelta)
            + VarInt.SizeOfSigned(offsetDelta)
            + VarInt.SizeOfSigned(keyLength) + Math.Max(keyLength, 0)
            + VarInt.SizeOfSigned(valueLength) + Math.Max(valueLength, 0);

        if (headers is null && extraHeaders.IsEmpty)
        {
            return size + 1;
        }

        size += VarInt.SizeOfSigned((headers?.Count ?? 0) + extraHeaders.Length);
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                size += RecordHeaderSize(header);
            }
        }

        foreach (var header in extraHeaders)
        {
            size += RecordHeaderSize(header);
        }

        return size;
    }

    private static long RecordHeaderSize(in Header header)
    {
        var keyBytes = Encoding.UTF8.GetByteCount(header.Key);
        var headerValueLength = header.Value is null ? -1 : header.Value.Length;
        return VarInt.SizeOfSigned(keyBytes) + keyBytes
            + VarInt.SizeOfSigned(headerValueLength) + Math.Max(headerValueLength, 0);
    }

    private static int WriteHeader(Span<byte> span, in Header header)
    {
        // The UTF-8 length is counted again rather than remembered from the sizing pass:
        // keys are short, and remembering would need a per-record array.
        var keyBytes = Encoding.UTF8.GetByteCount(header.Key);
        var pos = VarInt.WriteSigned(span, keyBytes);
        pos += Encoding.UTF8.GetBytes(header.Key, span[pos..]);
        var headerValue = header.Value;
        pos += WriteBytes(span[pos..], headerValue, headerValue is null ? -1 : headerValue.Length);
        return pos;
    }

    private static int WriteBytes(Span<byte> destination, ReadOnlySpan<byte> bytes, int length)
    {
        var pos = VarInt.WriteSigned(destination, length);
        if (length > 0)
        {
            bytes.CopyTo(destination[pos..]);
            pos += length;
        }

        return pos;
    }

    private void EnsureCapacity(int needed)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var bigger = _pool.Rent((int)Math.Min(Math.Max((long)_buffer.Length * 2, needed), Array.MaxLength));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        _pool.Return(_buffer);
        _buffer = bigger;
    }
}
