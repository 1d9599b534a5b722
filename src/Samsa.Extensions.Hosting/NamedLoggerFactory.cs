using Microsoft.Extensions.Logging;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Gives a named producer its own categories (<c>Samsa.Network.orders</c> for <c>Samsa.Network</c>), so that two
/// producers in one host can be told apart and filtered each on its own; the host's factory does the rest.
/// </summary>
internal sealed class NamedLoggerFactory(ILoggerFactory inner, string name) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => inner.CreateLogger($"{categoryName}.{name}");

    // The host owns its factory and its providers: a producer adds none and disposes nothing.
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("A producer's logger factory takes no providers; add them to the host's logging.");

    public void Dispose()
    {
    }
}
