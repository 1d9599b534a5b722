using System.Buffers;
using Samsa.Protocol;

namespace Samsa.Tests.Protocol;

/// <summary>
/// The protocol primitives (<see cref="VarInt"/>, <see cref="KafkaWriter"/>, <see cref="KafkaReader"/>)
/// against exact bytes from the Kafka protocol guide, and round trips at every boundary.
/// </summary>
public sealed class PrimitiveTests
{
    private static byte[] Write(Action<KafkaWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1);
        write(new KafkaWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

    // ---- zig-zag --------------------------------------------------------------------------

    [Theory]
    [InlineData(0, 0u)]
    [InlineData(-1, 1u)]
    [InlineData(1, 2u)]
    [InlineData(-2, 3u)]
    [InlineData(2, 4u)]
    [InlineData(-64, 127u)]
    [InlineData(64, 128u)]
    [InlineData(int.MaxValue, 0xFFFFFFFEu)]
    [InlineData(int.MinValue, 0xFFFFFFFFu)]
    public void ZigZag32(int value, uint encoded)
    {
        Assert.Equal(encoded, VarInt.ZigZag(value));
        Assert.Equal(value, VarInt.UnZigZag(encoded));
    }

    [Theory]
    [InlineData(0L, 0UL)]
    [InlineData(-1L, 1UL)]
    [InlineData(1L, 2UL)]
    [InlineData(-2L, 3UL)]
    [InlineData((long)int.MaxValue, 0xFFFFFFFEUL)]
    [InlineData((long)int.MinValue, 0xFFFFFFFFUL)]
    [InlineData(long.MaxValue, 0xFFFFFFFFFFFFFFFEUL)]
    [InlineData(long.MinValue, 0xFFFFFFFFFFFFFFFFUL)]
    public void ZigZag64(long value, ulong encoded)
    {
        Assert.Equal(encoded, VarInt.ZigZag64(value));
        Assert.Equal(value, VarInt.UnZigZag64(encoded));
    }

    // ---- varint encodings -----------------------------------------------------------------

    [Theory]
    [InlineData(0u, "00")]
    [InlineData(1u, "01")]
    [InlineData(127u, "7F")]
    [InlineData(128u, "8001")]
    [InlineData(300u, "AC02")]
    [InlineData(16383u, "FF7F")]
    [InlineData(16384u, "808001")]
    [InlineData(uint.MaxValue, "FFFFFFFF0F")]
    public void UnsignedVarIntBytes(uint value, string hex)
    {
        Span<byte> span = stackalloc byte[VarInt.MaxLength32];
        var length = VarInt.WriteUnsigned(span, value);
        Assert.Equal(hex, Hex(span[..length]));

        Span<byte> span64 = stackalloc byte[VarInt.MaxLength64];
        var length64 = VarInt.WriteUnsigned64(span64, value);
        Assert.Equal(hex, Hex(span64[..length64]));

        Assert.Equal(hex, Hex(Write(w => w.WriteUnsignedVarInt(value))));

        var bytes = Convert.FromHexString(hex);
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadUnsignedVarInt());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(bytes.Length, reader.Position);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData(0, "00")]
    [InlineData(-1, "01")]
    [InlineData(1, "02")]
    [InlineData(-2, "03")]
    [InlineData(-64, "7F")]
    [InlineData(64, "8001")]
    [InlineData(150, "AC02")]
    [InlineData(int.MaxValue, "FEFFFFFF0F")]
    [InlineData(int.MinValue, "FFFFFFFF0F")]
    public void SignedVarIntBytes(int value, string hex)
    {
        Assert.Equal(hex, Hex(Write(w => w.WriteVarInt(value))));
        var reader = new KafkaReader(Convert.FromHexString(hex));
        Assert.Equal(value, reader.ReadVarInt());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData(0L, "00")]
    [InlineData(-1L, "01")]
    [InlineData(1L, "02")]
    [InlineData(150L, "AC02")]
    [InlineData((long)int.MinValue, "FFFFFFFF0F")]
    [InlineData(4294967296L, "8080808020")]
    [InlineData(long.MaxValue, "FEFFFFFFFFFFFFFFFF01")]
    [InlineData(long.MinValue, "FFFFFFFFFFFFFFFFFF01")]
    public void SignedVarLongBytes(long value, string hex)
    {
        Assert.Equal(hex, Hex(Write(w => w.WriteVarLong(value))));
        var reader = new KafkaReader(Convert.FromHexString(hex));
        Assert.Equal(value, reader.ReadVarLong());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void MaxLengthsMatchTheLongestEncodings()
    {
        Assert.Equal(VarInt.MaxLength32, VarInt.SizeOfUnsigned(uint.MaxValue));
        Assert.Equal(VarInt.MaxLength32, VarInt.SizeOfSigned(int.MinValue));
        Assert.Equal(VarInt.MaxLength64, VarInt.SizeOfUnsigned64(ulong.MaxValue));
        Assert.Equal(VarInt.MaxLength64, VarInt.SizeOfSigned64(long.MinValue));
    }

    // ---- SizeOf* agrees with what is written ---------------------------------------------

    private static IEnumerable<ulong> InterestingUnsigned()
    {
        // Every 7-bit boundary, its neighbours, and a spread of pseudo-random values.
        for (var bits = 0; bits <= 64; bits++)
        {
            var p = bits == 64 ? ulong.MaxValue : (1UL << bits);
            yield return p;
            yield return p - 1;
            yield return p + 1;
        }

        var random = new Random(20240607);
        for (var i = 0; i < 2000; i++)
        {
            yield return (ulong)random.NextInt64() >> random.Next(64);
        }
    }

    [Fact]
    public void SizeOfUnsignedMatchesWrittenLength()
    {
        Span<byte> span = stackalloc byte[VarInt.MaxLength64];
        foreach (var value64 in InterestingUnsigned())
        {
            var length64 = VarInt.WriteUnsigned64(span, value64);
            Assert.True(VarInt.SizeOfUnsigned64(value64) == length64, $"SizeOfUnsigned64({value64}) = {VarInt.SizeOfUnsigned64(value64)}, wrote {length64}");

            var value = unchecked((uint)value64);
            var length = VarInt.WriteUnsigned(span, value);
            Assert.True(VarInt.SizeOfUnsigned(value) == length, $"SizeOfUnsigned({value}) = {VarInt.SizeOfUnsigned(value)}, wrote {length}");
        }
    }

    [Fact]
    public void SizeOfSignedMatchesWrittenLength()
    {
        Span<byte> span = stackalloc byte[VarInt.MaxLength64];
        foreach (var raw in InterestingUnsigned())
        {
            foreach (var value64 in new[] { unchecked((long)raw), -unchecked((long)raw) })
            {
                var length64 = VarInt.WriteSigned64(span, value64);
                Assert.True(VarInt.SizeOfSigned64(value64) == length64, $"SizeOfSigned64({value64}) = {VarInt.SizeOfSigned64(value64)}, wrote {length64}");
                Assert.Equal(length64, Write(w => w.WriteVarLong(value64)).Length);

                var value = unchecked((int)value64);
                var length = VarInt.WriteSigned(span, value);
                Assert.True(VarInt.SizeOfSigned(value) == length, $"SizeOfSigned({value}) = {VarInt.SizeOfSigned(value)}, wrote {length}");
                Assert.Equal(length, Write(w => w.WriteVarInt(value)).Length);
            }
        }
    }

    [Fact]
    public void VarIntsRoundTripOverARange()
    {
        foreach (var raw in InterestingUnsigned())
        {
            var u32 = unchecked((uint)raw);
            var s32 = unchecked((int)raw);
            var s64 = unchecked((long)raw);
            var bytes = Write(w =>
            {
                w.WriteUnsignedVarInt(u32);
                w.WriteVarInt(s32);
                w.WriteVarInt(-s32);
                w.WriteVarLong(s64);
                w.WriteVarLong(-s64);
            });
            var reader = new KafkaReader(bytes);
            Assert.Equal(u32, reader.ReadUnsignedVarInt());
            Assert.Equal(s32, reader.ReadVarInt());
            Assert.Equal(-s32, reader.ReadVarInt());
            Assert.Equal(s64, reader.ReadVarLong());
            Assert.Equal(-s64, reader.ReadVarLong());
            Assert.False(reader.Failed, reader.FailureReason);
            Assert.Equal(0, reader.Remaining);
        }
    }

    // ---- fixed-width primitives -----------------------------------------------------------

    [Fact]
    public void FixedWidthIntegersAreBigEndian()
    {
        Assert.Equal("7F", Hex(Write(w => w.WriteInt8(127))));
        Assert.Equal("80", Hex(Write(w => w.WriteInt8(-128))));
        Assert.Equal("FF", Hex(Write(w => w.WriteInt8(-1))));
        Assert.Equal("01", Hex(Write(w => w.WriteBoolean(true))));
        Assert.Equal("00", Hex(Write(w => w.WriteBoolean(false))));
        Assert.Equal("0102", Hex(Write(w => w.WriteInt16(0x0102))));
        Assert.Equal("FFFE", Hex(Write(w => w.WriteInt16(-2))));
        Assert.Equal("8000", Hex(Write(w => w.WriteInt16(short.MinValue))));
        Assert.Equal("FEDC", Hex(Write(w => w.WriteUInt16(0xFEDC))));
        Assert.Equal("01020304", Hex(Write(w => w.WriteInt32(0x01020304))));
        Assert.Equal("FFFFFFFF", Hex(Write(w => w.WriteInt32(-1))));
        Assert.Equal("80000000", Hex(Write(w => w.WriteInt32(int.MinValue))));
        Assert.Equal("FEDCBA98", Hex(Write(w => w.WriteUInt32(0xFEDCBA98))));
        Assert.Equal("0102030405060708", Hex(Write(w => w.WriteInt64(0x0102030405060708))));
        Assert.Equal("8000000000000000", Hex(Write(w => w.WriteInt64(long.MinValue))));
        Assert.Equal("3FF0000000000000", Hex(Write(w => w.WriteFloat64(1.0))));
        Assert.Equal("C000000000000000", Hex(Write(w => w.WriteFloat64(-2.0))));
    }

    [Fact]
    public void FixedWidthPrimitivesRoundTrip()
    {
        sbyte[] int8s = [0, 1, -1, sbyte.MinValue, sbyte.MaxValue];
        short[] int16s = [0, 1, -1, short.MinValue, short.MaxValue, 0x1234];
        ushort[] uint16s = [0, 1, ushort.MaxValue, 0x8000, 0x1234];
        int[] int32s = [0, 1, -1, int.MinValue, int.MaxValue, 0x12345678];
        uint[] uint32s = [0, 1, uint.MaxValue, 0x80000000, 0x12345678];
        long[] int64s = [0, 1, -1, long.MinValue, long.MaxValue, 0x123456789ABCDEF0];
        double[] float64s = [0.0, -0.0, 1.5, -1e300, double.Epsilon, double.MaxValue, double.NegativeInfinity, Math.PI];

        var bytes = Write(w =>
        {
            foreach (var v in int8s) { w.WriteInt8(v); }
            w.WriteBoolean(true);
            w.WriteBoolean(false);
            foreach (var v in int16s) { w.WriteInt16(v); }
            foreach (var v in uint16s) { w.WriteUInt16(v); }
            foreach (var v in int32s) { w.WriteInt32(v); }
            foreach (var v in uint32s) { w.WriteUInt32(v); }
            foreach (var v in int64s) { w.WriteInt64(v); }
            foreach (var v in float64s) { w.WriteFloat64(v); }
            w.WriteFloat64(double.NaN);
        });

        Assert.Equal((int8s.Length * 1) + 2 + (int16s.Length * 2) + (uint16s.Length * 2) + (int32s.Length * 4)
            + (uint32s.Length * 4) + (int64s.Length * 8) + ((float64s.Length + 1) * 8), bytes.Length);

        var reader = new KafkaReader(bytes);
        foreach (var v in int8s) { Assert.Equal(v, reader.ReadInt8()); }
        Assert.True(reader.ReadBoolean());
        Assert.False(reader.ReadBoolean());
        foreach (var v in int16s) { Assert.Equal(v, reader.ReadInt16()); }
        foreach (var v in uint16s) { Assert.Equal(v, reader.ReadUInt16()); }
        foreach (var v in int32s) { Assert.Equal(v, reader.ReadInt32()); }
        foreach (var v in uint32s) { Assert.Equal(v, reader.ReadUInt32()); }
        foreach (var v in int64s) { Assert.Equal(v, reader.ReadInt64()); }
        foreach (var v in float64s)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(v), BitConverter.DoubleToInt64Bits(reader.ReadFloat64()));
        }

        Assert.True(double.IsNaN(reader.ReadFloat64()));
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
        Assert.Equal(bytes.Length, reader.Position);
    }

    [Fact]
    public void AnyNonZeroByteReadsAsTrue()
    {
        var reader = new KafkaReader([0x02, 0xFF, 0x00]);
        Assert.True(reader.ReadBoolean());
        Assert.True(reader.ReadBoolean());
        Assert.False(reader.ReadBoolean());
        Assert.False(reader.Failed);
    }

    [Fact]
    public void UuidIsWrittenMostSignificantByteFirst()
    {
        var guid = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        var bytes = Write(w => w.WriteUuid(guid));
        Assert.Equal("00112233445566778899AABBCCDDEEFF", Hex(bytes));

        var reader = new KafkaReader(bytes);
        Assert.Equal(guid, reader.ReadUuid());
        Assert.False(reader.Failed);
        Assert.Equal(0, reader.Remaining);

        Assert.Equal(new string('0', 32), Hex(Write(w => w.WriteUuid(Guid.Empty))));
        var reader2 = new KafkaReader(Convert.FromHexString("0102030405060708090A0B0C0D0E0F10"));
        Assert.Equal(Guid.Parse("01020304-0506-0708-090a-0b0c0d0e0f10"), reader2.ReadUuid());
    }

    // ---- strings and bytes ----------------------------------------------------------------

    [Theory]
    [InlineData(null, "FFFF")]
    [InlineData("", "0000")]
    [InlineData("abc", "0003616263")]
    [InlineData("h\u00e9llo", "000668C3A96C6C6F")]
    public void StringBytes(string? value, string hex)
    {
        var bytes = Write(w => w.WriteString(value));
        Assert.Equal(hex, Hex(bytes));
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadString());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData(null, "00")]
    [InlineData("", "01")]
    [InlineData("abc", "04616263")]
    [InlineData("h\u00e9llo", "0768C3A96C6C6F")]
    public void CompactStringBytes(string? value, string hex)
    {
        var bytes = Write(w => w.WriteCompactString(value));
        Assert.Equal(hex, Hex(bytes));
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadCompactString());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void LongStringsRoundTrip()
    {
        var value = new string('x', 200);
        var compact = Write(w => w.WriteCompactString(value));
        Assert.Equal("C901", Hex(compact.AsSpan(0, 2))); // 201 as an unsigned varint
        Assert.Equal(202, compact.Length);

        var max = new string('y', short.MaxValue);
        var classic = Write(w => w.WriteString(max));
        Assert.Equal("7FFF", Hex(classic.AsSpan(0, 2)));

        var reader = new KafkaReader([.. compact, .. classic]);
        Assert.Equal(value, reader.ReadCompactString());
        Assert.Equal(max, reader.ReadString());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void StringLongerThanInt16IsRejected()
    {
        var tooLong = new string('z', short.MaxValue + 1);
        Assert.Throws<ArgumentException>(() => Write(w => w.WriteString(tooLong)));
        // Two-byte UTF-8 characters count as bytes, not chars.
        var wide = new string('\u00e9', (short.MaxValue / 2) + 1);
        Assert.Throws<ArgumentException>(() => Write(w => w.WriteString(wide)));
    }

    [Fact]
    public void BytesEncodings()
    {
        Assert.Equal("FFFFFFFF", Hex(Write(w => w.WriteBytes(default, isNull: true))));
        Assert.Equal("00000000", Hex(Write(w => w.WriteBytes([]))));
        Assert.Equal("00000003010203", Hex(Write(w => w.WriteBytes([1, 2, 3]))));
        Assert.Equal("00", Hex(Write(w => w.WriteCompactBytes(default, isNull: true))));
        Assert.Equal("01", Hex(Write(w => w.WriteCompactBytes([]))));
        Assert.Equal("04010203", Hex(Write(w => w.WriteCompactBytes([1, 2, 3]))));
        Assert.Equal("0A0B", Hex(Write(w => w.WriteRaw([0x0A, 0x0B]))));
        Assert.Equal("", Hex(Write(w => w.WriteRaw([]))));
    }

    [Fact]
    public void BytesRoundTrip()
    {
        var big = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        var bytes = Write(w =>
        {
            w.WriteBytes(default, isNull: true);
            w.WriteBytes([]);
            w.WriteBytes(big);
            w.WriteCompactBytes(default, isNull: true);
            w.WriteCompactBytes([]);
            w.WriteCompactBytes(big);
            w.WriteRaw([9, 8, 7]);
        });

        var reader = new KafkaReader(bytes);
        Assert.Null(reader.ReadBytes());
        Assert.Equal(Array.Empty<byte>(), reader.ReadBytes());
        Assert.Equal(big, reader.ReadBytes());
        Assert.Null(reader.ReadCompactBytes());
        Assert.Equal(Array.Empty<byte>(), reader.ReadCompactBytes());
        Assert.Equal(big, reader.ReadCompactBytes());
        Assert.Equal("090807", Hex(reader.ReadRaw(3)));
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    // ---- array lengths and tagged fields --------------------------------------------------

    [Fact]
    public void ArrayLengthEncodings()
    {
        Assert.Equal("00000000", Hex(Write(w => w.WriteArrayLength(0))));
        Assert.Equal("00000003", Hex(Write(w => w.WriteArrayLength(3))));
        Assert.Equal("FFFFFFFF", Hex(Write(w => w.WriteArrayLength(-1))));
        Assert.Equal("00", Hex(Write(w => w.WriteCompactArrayLength(-1))));
        Assert.Equal("01", Hex(Write(w => w.WriteCompactArrayLength(0))));
        Assert.Equal("03", Hex(Write(w => w.WriteCompactArrayLength(2))));
        Assert.Equal("8001", Hex(Write(w => w.WriteCompactArrayLength(127))));
        Assert.Equal("00", Hex(Write(w => w.WriteEmptyTaggedFields())));
    }

    [Fact]
    public void ArrayLengthsRoundTrip()
    {
        var bytes = Write(w =>
        {
            w.WriteArrayLength(-1);
            w.WriteCompactArrayLength(-1);
            w.WriteArrayLength(0);
            w.WriteCompactArrayLength(0);
            w.WriteArrayLength(2);
            w.WriteInt8(1);
            w.WriteInt8(2);
            w.WriteCompactArrayLength(2);
            w.WriteInt8(3);
            w.WriteInt8(4);
        });

        var reader = new KafkaReader(bytes);
        Assert.Equal(-1, reader.ReadArrayLength());
        Assert.Equal(-1, reader.ReadCompactArrayLength());
        Assert.Equal(0, reader.ReadArrayLength());
        Assert.Equal(0, reader.ReadCompactArrayLength());
        Assert.Equal(2, reader.ReadArrayLength());
        Assert.Equal(1, reader.ReadInt8());
        Assert.Equal(2, reader.ReadInt8());
        Assert.Equal(2, reader.ReadCompactArrayLength());
        Assert.Equal(3, reader.ReadInt8());
        Assert.Equal(4, reader.ReadInt8());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData("00000003")] // three elements, no bytes behind them
    [InlineData("FFFFFFFE")] // -2
    [InlineData("03AA")] // compact: two elements, one byte behind them
    public void ImpossibleArrayLengthsFail(string hex)
    {
        var reader = new KafkaReader(Convert.FromHexString(hex));
        var count = hex.Length == 8 ? reader.ReadArrayLength() : reader.ReadCompactArrayLength();
        Assert.True(reader.Failed);
        Assert.Equal(-1, count);
        Assert.Contains("array length", reader.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void TaggedFieldsAreSkipped()
    {
        // Two tagged fields (tag 0: 2 bytes, tag 5: 1 byte), then an INT16.
        var reader = new KafkaReader(Convert.FromHexString("02" + "0002AAAA" + "0501BB" + "1234"));
        reader.SkipTaggedFields();
        Assert.Equal(0x1234, reader.ReadInt16());
        Assert.False(reader.Failed, reader.FailureReason);
        Assert.Equal(0, reader.Remaining);
    }

    // ---- failure --------------------------------------------------------------------------

    [Fact]
    public void ReadPastTheEndFailsAndStaysFailed()
    {
        var reader = new KafkaReader([0x00, 0x01, 0x02]);
        Assert.Equal(1, reader.ReadInt16());
        Assert.False(reader.Failed);
        Assert.Equal(1, reader.Remaining);

        Assert.Equal(0, reader.ReadInt16()); // needs 2 bytes, 1 left
        Assert.True(reader.Failed);
        var reason = reader.FailureReason;
        Assert.NotNull(reason);
        Assert.Contains("at byte 2 of 3", reason, StringComparison.Ordinal);
        Assert.Equal(2, reader.Position);
        Assert.Equal(0, reader.Remaining);

        // One byte is still there, but a failed reader reads nothing more.
        Assert.Equal(0, reader.ReadInt8());
        Assert.False(reader.ReadBoolean());
        Assert.Equal(0, reader.ReadInt32());
        Assert.Equal(0u, reader.ReadUInt32());
        Assert.Equal(0, reader.ReadUInt16());
        Assert.Equal(0L, reader.ReadInt64());
        Assert.Equal(0.0, reader.ReadFloat64());
        Assert.Equal(Guid.Empty, reader.ReadUuid());
        Assert.Equal(0u, reader.ReadUnsignedVarInt());
        Assert.Equal(0, reader.ReadVarInt());
        Assert.Equal(0L, reader.ReadVarLong());
        Assert.Null(reader.ReadString());
        Assert.Null(reader.ReadCompactString());
        Assert.Null(reader.ReadBytes());
        Assert.Null(reader.ReadCompactBytes());
        Assert.True(reader.ReadRaw(0).IsEmpty);
        Assert.Equal(2, reader.Position);
        Assert.True(reader.Failed);
        Assert.Equal(reason, reader.FailureReason); // the first failure is kept

        reader.Fail("something else");
        Assert.Equal(reason, reader.FailureReason);
    }

    [Fact]
    public void ThrowIfFailedNamesWhatAndWhere()
    {
        var ok = new KafkaReader([0x01]);
        ok.ReadInt8();
        ok.ThrowIfFailed("nothing"); // does not throw

        var e = Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader([0x01]);
            reader.ReadInt64();
            reader.ThrowIfFailed("TestMessage");
        });
        Assert.Contains("TestMessage", e.Message, StringComparison.Ordinal);
        Assert.Contains("needed 8 bytes, 1 left at byte 0 of 1", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0005616263")] // STRING of 5 bytes, 3 there
    [InlineData("FFFE")] // STRING of length -2
    [InlineData("06616263")] // COMPACT_STRING of 5 bytes, 3 there
    public void TruncatedStringsFail(string hex)
    {
        var reader = new KafkaReader(Convert.FromHexString(hex));
        var value = hex.Length == 8 ? reader.ReadCompactString() : reader.ReadString();
        Assert.Null(value);
        Assert.True(reader.Failed);
    }

    [Theory]
    [InlineData("00000005010203")] // BYTES of 5, 3 there
    [InlineData("FFFFFFFE")] // BYTES of length -2
    [InlineData("0601")] // COMPACT_BYTES of 5, 1 there
    public void TruncatedBytesFail(string hex)
    {
        var reader = new KafkaReader(Convert.FromHexString(hex));
        var value = hex.Length == 4 ? reader.ReadCompactBytes() : reader.ReadBytes();
        Assert.Null(value);
        Assert.True(reader.Failed);
    }

    [Fact]
    public void VarIntLongerThanTenBytesFails()
    {
        // Ten bytes with the continuation bit set, then a terminator: 11 bytes.
        var reader = new KafkaReader(Convert.FromHexString("80808080808080808080" + "00"));
        Assert.Equal(0L, reader.ReadVarLong());
        Assert.True(reader.Failed);
        Assert.Contains("varint longer than 10 bytes", reader.FailureReason, StringComparison.Ordinal);
        Assert.Equal(0, reader.ReadInt8()); // sticky, although a byte is left

        // The same for the unsigned reader.
        var unsigned = new KafkaReader(Convert.FromHexString("FFFFFFFFFFFFFFFFFFFF01"));
        Assert.Equal(0UL, unsigned.ReadUnsignedVarLong());
        Assert.True(unsigned.Failed);

        // Ten bytes is still fine.
        var ten = new KafkaReader(Convert.FromHexString("FFFFFFFFFFFFFFFFFF01"));
        Assert.Equal(long.MinValue, ten.ReadVarLong());
        Assert.False(ten.Failed, ten.FailureReason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("80")]
    [InlineData("FFFF")]
    public void VarIntRunningPastTheEndFails(string hex)
    {
        var reader = new KafkaReader(Convert.FromHexString(hex));
        Assert.Equal(0, reader.ReadVarInt());
        Assert.True(reader.Failed);
        Assert.Contains("varint ran past the end", reader.FailureReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8080808010")] // 2^32
    [InlineData("FFFFFFFFFFFFFFFFFF01")] // 2^64 - 1
    public void VarIntTooBigFor32BitsFails(string hex)
    {
        var unsigned = new KafkaReader(Convert.FromHexString(hex));
        Assert.Equal(0u, unsigned.ReadUnsignedVarInt());
        Assert.True(unsigned.Failed);
        Assert.Contains("32 bits", unsigned.FailureReason, StringComparison.Ordinal);

        var signed = new KafkaReader(Convert.FromHexString(hex));
        Assert.Equal(0, signed.ReadVarInt());
        Assert.True(signed.Failed);
        Assert.Contains("32 bits", signed.FailureReason, StringComparison.Ordinal);
    }
}
