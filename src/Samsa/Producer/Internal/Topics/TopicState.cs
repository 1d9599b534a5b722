using Samsa.Cluster;

namespace Samsa.Producer.Internal;

/// <summary>
/// The partitions of one topic the producer writes to. It starts unresolved while its metadata
/// is fetched; records produced meanwhile wait in a queue, holding their buffer memory, and are
/// appended in call order the moment it resolves, so waiting for metadata never reorders a caller's records.
/// </summary>
internal sealed class TopicState(string name)
{
    private List<PendingRecord>? _waiting = [];
    private TaskCompletionSource? _resolved;
    private volatile bool _isReady;

    public string Name { get; } = name;

    public TopicInfo Info { get; set; } = null!;

    /// <summary>Indexed by partition; replaced (grown) when the topic gains partitions.</summary>
    public PartitionAccumulator[] Partitions { get; set; } = [];

    /// <summary>True once metadata is known and every waiting record has been appended.</summary>
    public bool IsReady => _isReady;

    /// <summary>Why the topic could not be resolved; null while waiting or once resolved.</summary>
    public KafkaException? Failure { get; private set; }

    /// <summary>Queues the record until the topic resolves; false if it has already (append or fail it now, see <see cref="Failure"/>).</summary>
    public bool TryEnqueue(PendingRecord record)
    {
        lock (this)
        {
            if (_waiting is null)
            {
                return false;
            }

            _waiting.Add(record);
            return true;
        }
    }

    /// <summary>
    /// Ends the wait, the first time only (the metadata wait and dispose may both end it): appends
    /// every waiting record in order, or fails them with <paramref name="failure"/>, then opens the fast path.
    /// </summary>
    public void Resolve(KafkaException? failure)
    {
        lock (this)
        {
            if (_waiting is null)
            {
                return;
            }

            Failure = failure;

            // By index: a delivery handler run for a record that fails here may produce to this
            // topic again, on this thread (the lock is reentrant); its record joins the end of the
            // list and goes out after the others, still in call order.
            for (var i = 0; i < _waiting.Count; i++)
            {
                var record = _waiting[i];
                record.Writer.OnTopicResolved(record, failure);
            }

            _waiting = null;
            _isReady = failure is null;
            _resolved?.TrySetResult();
        }
    }

    /// <summary>Completes when the topic has resolved, either way.</summary>
    public Task WaitResolvedAsync()
    {
        lock (this)
        {
            return _waiting is null
                ? Task.CompletedTask
                : (_resolved ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }
}
