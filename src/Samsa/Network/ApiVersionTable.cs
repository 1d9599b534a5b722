using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Network;

/// <summary>The API version ranges one broker advertised in its ApiVersions response.</summary>
internal sealed class ApiVersionTable
{
    private readonly Dictionary<short, (short Min, short Max)> _ranges = [];

    public ApiVersionTable(ApiVersionsResponse response)
    {
        foreach (var key in response.ApiKeys)
        {
            _ranges[key.ApiKey] = (key.MinVersion, key.MaxVersion);
        }

        // Finalized features (ApiVersions v3+) are valid only with a non-negative epoch.
        if (response.FinalizedFeaturesEpoch >= 0)
        {
            foreach (var feature in response.FinalizedFeatures)
            {
                FinalizedFeatures[feature.Name] = feature.MaxVersionLevel;
            }
        }
    }

    /// <summary>The cluster-wide finalized feature levels the broker reported (for example <c>transaction.version</c>); empty before ApiVersions v3.</summary>
    public Dictionary<string, short> FinalizedFeatures { get; } = [];

    /// <summary>The finalized level of a feature, 0 when the broker did not report it.</summary>
    public short FeatureLevel(string feature) => FinalizedFeatures.TryGetValue(feature, out var level) ? level : (short)0;

    /// <summary>
    /// The highest version both sides support, or -1 if the ranges do not meet. Picking the
    /// highest common version is what lets the same code talk to 2.x, 3.x and 4.x brokers.
    /// </summary>
    public short Pick(ApiKey apiKey, short ourMin, short ourMax)
    {
        if (!_ranges.TryGetValue((short)apiKey, out var theirs))
        {
            return -1;
        }

        var version = Math.Min(ourMax, theirs.Max);
        return version >= Math.Max(ourMin, theirs.Min) ? version : (short)-1;
    }

    public string Describe(ApiKey apiKey) =>
        _ranges.TryGetValue((short)apiKey, out var r) ? $"v{r.Min}-v{r.Max}" : "not at all";
}
