using System.Globalization;
using System.Text;
using Samsa.Records;

namespace Samsa.Benchmarks;

/// <summary>Deterministic, realistic-looking record contents.</summary>
internal static class TestData
{
    /// <summary>A JSON-like value of exactly <paramref name="size"/> bytes (ASCII), varying with <paramref name="i"/>.</summary>
    public static byte[] JsonValue(Random random, int i, int size)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{{\"id\":{i},\"customer\":\"customer-{random.Next(10_000)}\",\"total\":{random.Next(100_000) / 100.0},\"currency\":\"EUR\",\"status\":\"{(random.Next(3) == 0 ? "paid" : "open")}\",\"note\":\"");
        var sb = new StringBuilder(text);
        while (sb.Length < size - 2)
        {
            sb.Append((char)('a' + random.Next(26)));
        }

        sb.Append("\"}");
        var bytes = Encoding.ASCII.GetBytes(sb.ToString());
        return bytes.AsSpan(0, size).ToArray();
    }

    /// <summary>The records section (header excluded) of an uncompressed batch of about <paramref name="bytes"/> bytes.</summary>
    public static byte[] BatchBody(int bytes)
    {
        var random = new Random(42);
        using var builder = new RecordBatchBuilder(bytes + 1024);
        var ts = 1_700_000_000_000L;
        for (var i = 0; builder.SizeInBytes < bytes; i++)
        {
            var key = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"key-{i % 1000}"));
            var value = JsonValue(random, i, 100);
            _ = builder.TryAppend(ts + i / 10, key, false, value, false, null, int.MaxValue);
        }

        var batch = builder.Seal(CompressionType.None, 0, 1, 0, 0, false);
        return batch.Span[RecordBatchBuilder.HeaderSize..].ToArray().AsSpan(0, Math.Min(bytes, batch.Length - RecordBatchBuilder.HeaderSize)).ToArray();
    }
}
