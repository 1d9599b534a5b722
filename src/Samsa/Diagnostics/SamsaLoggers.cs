using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Samsa.Diagnostics;

/// <summary>
/// One producer's loggers, one per area (category): what <c>SetLoggerFactory</c> creates, or the one logger of
/// <c>SetLogger</c> for every area.
/// </summary>
internal sealed class SamsaLoggers
{
    public const string ProducerCategory = "Samsa.Producer";
    public const string NetworkCategory = "Samsa.Network";
    public const string MetadataCategory = "Samsa.Metadata";
    public const string SecurityCategory = "Samsa.Security";

    private SamsaLoggers(ILogger producer, ILogger network, ILogger metadata, ILogger security)
    {
        Producer = producer;
        Network = network;
        Metadata = metadata;
        Security = security;
    }

    public static SamsaLoggers Null { get; } = From(NullLogger.Instance);

    /// <summary>Delivery, retries, idempotence, shutdown, interceptors.</summary>
    public ILogger Producer { get; }

    /// <summary>Connections to brokers.</summary>
    public ILogger Network { get; }

    /// <summary>Metadata refreshes.</summary>
    public ILogger Metadata { get; }

    /// <summary>TLS and SASL.</summary>
    public ILogger Security { get; }

    public static SamsaLoggers From(ILogger logger) => new(logger, logger, logger, logger);

    public static SamsaLoggers From(ILoggerFactory factory) => new(
        factory.CreateLogger(ProducerCategory),
        factory.CreateLogger(NetworkCategory),
        factory.CreateLogger(MetadataCategory),
        factory.CreateLogger(SecurityCategory));
}
