namespace Samsa.Protocol;

/// <summary>A request the generated code can encode; the connection adds the header and frame.</summary>
internal interface IKafkaRequest
{
    ApiKey ApiKey { get; }

    /// <summary>Header version for a given request version: 2 where the version is flexible, else 1.</summary>
    short RequestHeaderVersion(short version);

    void Write(KafkaWriter writer, short version);
}

/// <summary>A request whose response type is known, so the connection can decode it.</summary>
internal interface IKafkaRequest<TResponse> : IKafkaRequest
    where TResponse : IKafkaResponse<TResponse>
{
}

/// <summary>A response the generated code can decode.</summary>
internal interface IKafkaResponse<TSelf>
    where TSelf : IKafkaResponse<TSelf>
{
    /// <summary>Header version for a given response version (ApiVersions always uses 0).</summary>
    static abstract short ResponseHeaderVersion(short version);

    static abstract TSelf Read(ref KafkaReader reader, short version);
}
