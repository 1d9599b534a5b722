using Samsa.Testing.Tls;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// A test that needs stunnel (<see cref="TlsFront"/>). Where stunnel is missing it is reported Skipped with the
/// reason, except in CI (<c>CI=true</c>), where it runs and fails saying stunnel is missing: CI installs it, so a
/// missing stunnel there is a broken setup, not a reason to pass.
/// </summary>
public sealed class StunnelFactAttribute : FactAttribute
{
    public StunnelFactAttribute()
    {
        if (TlsFront.StunnelPath is null && !IsCi)
        {
            Skip = TlsFront.MissingStunnel;
        }
    }

    internal static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
