namespace Samsa.ProtocolGen;

/// <summary>Which definitions to generate, and the file name of each output.</summary>
public static class Generator
{
    /// <summary>The APIs the producer speaks; each contributes a request and a response.</summary>
    public static readonly string[] Apis =
    [
        "ApiVersions", "Metadata", "Produce", "InitProducerId", "FindCoordinator", "AddPartitionsToTxn",
        "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit", "SaslHandshake", "SaslAuthenticate", "DescribeCluster",
        "GetTelemetrySubscriptions", "PushTelemetry",
    ];

    public static readonly string[] Headers = ["RequestHeader", "ResponseHeader"];

    /// <summary>Generates every file, keyed by file name, in a stable order.</summary>
    public static SortedDictionary<string, string> Generate(string messagesDir)
    {
        var names = Apis.SelectMany(api => new[] { api + "Request", api + "Response" }).Concat(Headers);
        var output = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var messages = new List<MessageSpec>();
        foreach (var name in names)
        {
            var path = Path.Combine(messagesDir, name + ".json");
            if (!File.Exists(path))
            {
                throw new IOException($"Missing definition {path}.");
            }

            var message = SchemaParser.Load(path);
            if (message.Name != name)
            {
                throw new InvalidDataException($"{path} defines {message.Name}, expected {name}.");
            }

            messages.Add(message);
            output[name + ".g.cs"] = CSharpEmitter.Emit(message, name + ".json");
        }

        output["ApiKey.g.cs"] = CSharpEmitter.EmitApiKeys(messages);

        // The error-code table sits beside the messages folder in ../shared/kafka-protocol.
        output["ErrorCode.g.cs"] = ErrorCodeEmitter.Emit(Path.Combine(messagesDir, "..", "error-codes.csv"));
        return output;
    }
}
