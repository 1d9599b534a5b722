namespace Samsa.Diagnostics;

/// <summary>
/// Attribute and instrument names. Where the OpenTelemetry semantic conventions for messaging
/// (and for Kafka) name a thing, that name is used; Samsa's own instruments sit under <c>samsa.producer.</c>.
/// </summary>
internal static class TelemetryNames
{
    // Attributes (OpenTelemetry messaging semantic conventions)
    public const string MessagingSystem = "messaging.system";
    public const string MessagingOperationName = "messaging.operation.name";
    public const string MessagingOperationType = "messaging.operation.type";
    public const string DestinationName = "messaging.destination.name";
    public const string PartitionId = "messaging.destination.partition.id";
    public const string ClientId = "messaging.client.id";
    public const string MessageKey = "messaging.kafka.message.key";
    public const string Tombstone = "messaging.kafka.message.tombstone";
    public const string Offset = "messaging.kafka.offset";
    public const string BodySize = "messaging.message.body.size";
    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";

    // Samsa's own attributes
    public const string BrokerId = "samsa.broker.id";
    public const string CompressionType = "samsa.compression.type";

    // Attribute values
    public const string Kafka = "kafka";
    public const string Send = "send";

    // Instruments (semantic conventions)
    public const string SentMessages = "messaging.client.sent.messages";
    public const string OperationDuration = "messaging.client.operation.duration";

    // Instruments (Samsa's own, mirroring the Java producer's metrics)
    public const string BufferUsed = "samsa.producer.buffer.used";
    public const string BufferAvailable = "samsa.producer.buffer.available";
    public const string RecordsQueued = "samsa.producer.records.queued";
    public const string MetadataAge = "samsa.producer.metadata.age";
    public const string Connections = "samsa.producer.connections";
    public const string ConnectionsCreated = "samsa.producer.connections.created";
    public const string BatchSize = "samsa.producer.batch.size";
    public const string CompressionRatio = "samsa.producer.compression.ratio";
    public const string RequestRecords = "samsa.producer.request.records";
    public const string RequestDuration = "samsa.producer.request.duration";
    public const string RequestsInFlight = "samsa.producer.requests.in_flight";
    public const string ThrottleDuration = "samsa.producer.throttle.duration";
    public const string RecordRetries = "samsa.producer.record.retries";
    public const string RecordErrors = "samsa.producer.record.errors";
}
