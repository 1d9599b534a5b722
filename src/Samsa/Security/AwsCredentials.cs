using System.Globalization;
using System.Text;

namespace Samsa;

/// <summary>
/// AWS credentials for SASL/AWS_MSK_IAM, as a credentials provider returns them
/// (<see cref="ProducerBuilder{TKey, TValue}.SetAwsCredentialsProvider"/>).
/// </summary>
/// <param name="AccessKeyId">The access key id (<c>AKIA…</c> for a user, <c>ASIA…</c> for temporary credentials).</param>
/// <param name="SecretAccessKey">The secret access key. Never printed.</param>
/// <param name="SessionToken">The session token of temporary credentials (an assumed role, SSO, an instance profile), or
/// null for a user's long-term keys. Never printed.</param>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken = null)
{
    /// <summary>When temporary credentials stop being valid, if known (informational: the provider is asked again at
    /// every authentication, so it decides when to refresh).</summary>
    public DateTimeOffset? Expiration { get; init; }

    // The key id is shown (AWS does not treat it as secret, and it says which identity was used); the rest is not.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("AccessKeyId = ").Append(AccessKeyId);
        builder.Append(", SecretAccessKey = (hidden)");
        builder.Append(", SessionToken = ").Append(SessionToken is null ? "" : "(hidden)");
        if (Expiration is { } expiration)
        {
            builder.Append(", Expiration = ").Append(expiration.ToString("O", CultureInfo.InvariantCulture));
        }

        return true;
    }
}
