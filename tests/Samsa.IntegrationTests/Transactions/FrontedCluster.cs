using Samsa.Testing;
using Samsa.Testing.Proxy;

namespace Samsa.IntegrationTests.Transactions;

/// <summary>A mock cluster behind a <see cref="KafkaProxy"/>, with its <see cref="TransactionFront"/> unless started
/// without; disposing stops the proxy, then the cluster.</summary>
internal sealed class FrontedCluster : IAsyncDisposable
{
    private FrontedCluster(MockCluster mock, bool withFront)
    {
        Mock = mock;
        Proxy = KafkaProxy.Start(mock);
        if (withFront)
        {
            Proxy.EnableTransactionFront();
        }
    }

    public MockCluster Mock { get; }

    public KafkaProxy Proxy { get; }

    public TransactionFront Front => Proxy.TransactionFront ?? throw new InvalidOperationException("Started without the transaction front.");

    public static FrontedCluster Start(MockCluster mock, bool withFront = true)
    {
        try
        {
            return new FrontedCluster(mock, withFront);
        }
        catch
        {
            mock.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        Mock.Dispose();
    }
}
