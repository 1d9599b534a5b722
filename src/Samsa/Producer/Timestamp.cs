namespace Samsa;

/// <summary>Where a record's timestamp came from.</summary>
public enum TimestampType
{
    /// <summary>No timestamp was given; the producer uses the time of sending.</summary>
    NotAvailable = 0,

    /// <summary>Set by the producer (or the application) when the record was created.</summary>
    CreateTime = 1,

    /// <summary>Set by the broker when it appended the record (topic config <c>message.timestamp.type=LogAppendTime</c>).</summary>
    LogAppendTime = 2,
}

/// <summary>A record timestamp: milliseconds since the Unix epoch, and its type.</summary>
public readonly record struct Timestamp(long UnixTimestampMs, TimestampType Type)
{
    /// <summary>No timestamp: the producer stamps the record with the current time.</summary>
    public static Timestamp Default => default;

    /// <summary>A create-time timestamp for the given instant.</summary>
    public Timestamp(DateTimeOffset time)
        : this(time.ToUnixTimeMilliseconds(), TimestampType.CreateTime)
    {
    }

    /// <summary>The instant, in UTC.</summary>
    public DateTime UtcDateTime => DateTimeOffset.FromUnixTimeMilliseconds(UnixTimestampMs).UtcDateTime;
}
