using System.Text;

namespace Samsa;

/// <summary>
/// An OAuth 2 bearer token for SASL/OAUTHBEARER, as a token provider returns it
/// (<see cref="ProducerBuilder{TKey, TValue}.SetOAuthBearerTokenProvider"/>).
/// </summary>
/// <param name="Value">The token itself (RFC 6750 <c>b64token</c> characters, usually a JWT). Never printed.</param>
/// <param name="Expiry">When the token stops being valid. It is refreshed before then
/// (<c>sasl.login.refresh.window.factor</c>), and the broker ends the session no later than this (KIP-368).</param>
/// <param name="PrincipalName">Who the token names (a JWT's <c>sub</c>); used in log messages.</param>
public sealed record OAuthBearerToken(string Value, DateTimeOffset Expiry, string PrincipalName)
{
    /// <summary>SASL extensions to send with this token (KIP-342), added to those of the options; names are letters only.</summary>
    public IReadOnlyDictionary<string, string>? Extensions { get; init; }

    /// <summary>When the token was issued, if known (a JWT's <c>iat</c>); refreshes are timed from it, else from when it was received.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Value = (hidden), Expiry = ").Append(Expiry.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        builder.Append(", PrincipalName = ").Append(PrincipalName);
        if (Extensions is { Count: > 0 })
        {
            builder.Append(", Extensions = ").Append(string.Join(", ", Extensions.Keys));
        }

        return true;
    }
}
