namespace Samsa;

/// <summary>
/// The type of a key or value that is always null (Java's <c>Void</c>). It cannot be instantiated, so a
/// <c>Producer&lt;Null, string&gt;</c> sends records whose key is null.
/// </summary>
public sealed class Null
{
    private Null()
    {
    }
}
