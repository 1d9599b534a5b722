using System.Text;
using Samsa.Records;

namespace Samsa.Tests.Records;

public class Crc32CTests
{
    /// <summary>Bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78), the definition itself.</summary>
    internal static uint Reference(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }

    [Fact]
    public void CheckValue() => Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void Empty() => Assert.Equal(0u, Crc32C.Compute([]));

    [Fact]
    public void ThirtyTwoZeros() => Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));

    [Fact]
    public void ThirtyTwoOnes()
    {
        var data = new byte[32];
        Array.Fill(data, (byte)0xFF);
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(data));
    }

    [Fact]
    public void MatchesReferenceOnRandomData()
    {
        var random = new Random(1234);
        var data = new byte[100_003];
        random.NextBytes(data);
        Assert.Equal(Reference(data), Crc32C.Compute(data));

        // Every tail length and alignment, so the 8-, 4- and 1-byte paths all run.
        for (var start = 0; start < 9; start++)
        {
            for (var length = 0; length < 40; length++)
            {
                var slice = data.AsSpan(start, length);
                Assert.Equal(Reference(slice), Crc32C.Compute(slice));
            }
        }
    }

    [Fact]
    public void UpdateChainsAcrossPieces()
    {
        var data = Encoding.ASCII.GetBytes("123456789");
        var state = Crc32C.Update(0xFFFFFFFF, data.AsSpan(0, 5));
        state = Crc32C.Update(state, data.AsSpan(5));
        Assert.Equal(0xE3069283u, ~state);
    }
}
