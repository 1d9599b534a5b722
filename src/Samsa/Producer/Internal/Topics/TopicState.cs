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
    private bool _resolving;

    /// <summary>When (monotonic ms) a record last named the topic, as the metadata manager was last told.</summary>
    public long LastTouchedMs;

    public string Name { get; } = name;

    public TopicInfo Info { get; set; } = null!;

    /// <summary>Indexed by partition; replaced (grown) when the topic gains partitions.</summary>
    public PartitionAccumulator[] Partitions { get; set; } = [];

    /// <summary>True once metadata is known and every waiting record has been appended.</summary>
    public bool IsReady => _isReady;

    /// <summary>Why the topic could not be resolved; null while waiting or once resolved.</summary>
    public KafkaException? Failure { get; private set; }

    /// <summary>Records queued until the topic resolves (for the close's log line and the records-queued gauge).</summary>
    public int WaitingCount
    {
        get
        {
            lock (this)
            {
                return _waiting?.Count ?? 0;
            }
        }
    }

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
            if (_resolving)
            {
                return;
            }

            _resolving = true;
            Failure = failure;
        }

        // Appended outside the lock, so that no lock is held while a failed record's delivery
        // handler runs (it may produce to another topic that is resolving too). Records queued
        // meanwhile, by callers or by those handlers, are taken in the next round: still in call order.
        while (true)
        {
            List<PendingRecord> round;
            lock (this)
            {
                if (_waiting!.Count == 0)
                {
                    _waiting = null;
                    _isReady = failure is null;
                    _resolved?.TrySetResult();
                    return;
                }

                round = _waiting;
                _waiting = [];
            }

            foreach (var record in round)
            {
                record.Writer.OnTopicResolved(record, failure);
            }
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
