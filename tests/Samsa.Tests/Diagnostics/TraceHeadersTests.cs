using System.Text;
using Samsa.Compression;
using Samsa.Records;

namespace Samsa.Tests.Diagnostics;

/// <summary>
/// The trace-context headers are written after the caller's own, straight into the record, and the size
/// the producer checks against max.request.size counts them.
/// </summary>
public sealed class TraceHeadersTests
{
    private static readonly Header[] TraceContext =
    [
        new("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8.ToArray()),
        new("tracestate", "congo=t61rcWkgMzE"u8.ToArray()),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ExtraHeadersFollowTheCallersHeadersWhichStayUntouched(bool callerHasHeaders)
    {
        var headers = callerHasHeaders ? new Headers().Add("mine", "kept").Add("empty", (byte[]?)null) : null;
        using var builder = new RecordBatchBuilder(1024);
        Assert.True(builder.TryAppend(1000, "k"u8, false, "v"u8, false, headers, 16384, TraceContext));

        var record = Assert.Single(Assert.Single(RecordBatchReader.ReadAll(builder.Seal(CompressionType.None, Compressor.DefaultLevel, -1, -1, -1, false).Span)).Records);
        var expected = (headers?.ToList() ?? []).Concat(TraceContext).ToList();
        Assert.Equal(expected.Select(h => h.Key), record.Headers.Select(h => h.Key));
        Assert.Equal(expected.Select(h => h.Value is null ? null : Encoding.UTF8.GetString(h.Value)), record.Headers.Select(h => h.Value is null ? null : Encoding.UTF8.GetString(h.Value)));
        Assert.Equal(callerHasHeaders ? 2 : 0, headers?.Count ?? 0);
    }

    [Fact]
    public void TheSizeEstimateCountsTheExtraHeadersExactly()
    {
        var headers = new Headers().Add("mine", "kept");
        using var builder = new RecordBatchBuilder(1024);
        builder.TryAppend(1000, "k"u8, false, "value"u8, false, headers, 16384, TraceContext);

        var estimate = RecordBatchBuilder.EstimateRecordSize("k"u8, false, "value"u8, false, headers, TraceContext);
        Assert.Equal(builder.SizeInBytes, estimate);
        Assert.True(estimate > RecordBatchBuilder.EstimateRecordSize("k"u8, false, "value"u8, false, headers));
    }
}
