using Samsa.Cluster;

namespace Samsa.Producer.Internal;

/// <summary>
/// The partitions of one topic the producer writes to. It starts unresolved while its metadata
/// is fetched; records produced meanwhile wait in a queue and are appended, in call order, the
/// moment it resolves, so waiting for metadata never reorders a caller's records.
/// </summary>
internal sealed class TopicState(string name)
{
    private List<Action<TopicState, KafkaException?>>? _waiting = [];
    private KafkaException? _failure;

    public string Name { get; } = name;

    public TopicInfo Info { get; set; } = null!;

    /// <summary>Indexed by partition; replaced (grown) when the topic gains partitions.</summary>
    public PartitionAccumulator[] Partitions { get; set; } = [];

    /// <summary>True once metadata is known and every waiting record has been appended.</summary>
    public bool IsReady { get; private set; }

    /// <summary>
    /// Runs <paramref name="append"/> when the topic resolves (with the error if it cannot),
    /// or at once if it already has.
    /// </summary>
    public void WhenResolved(Action<TopicState, KafkaException?> append)
    {
        KafkaException? failure;
        lock (this)
        {
            if (_waiting is not null)
            {
                _waiting.Add(append);
                return;
            }

            failure = _failure;
        }

        append(this, failure);
    }

    /// <summary>Ends the wait: appends every waiting record in order, then opens the fast path.</summary>
    public void Resolve(KafkaException? failure)
    {
        lock (this)
        {
            _failure = failure;
            foreach (var append in _waiting ?? [])
            {
                append(this, failure);
            }

            _waiting = null;
            IsReady = failure is null;
        }
    }

    /// <summary>Completes when the topic has resolved, either way.</summary>
    public Task WaitResolvedAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WhenResolved((_, _) => done.TrySetResult());
        return done.Task;
    }
}
