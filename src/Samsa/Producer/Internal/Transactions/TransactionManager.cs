using Microsoft.Extensions.Logging;
using Samsa.Diagnostics;

namespace Samsa.Producer.Internal;

/// <summary>Where a transactional producer stands; see docs/DESIGN.md, "Transactions", for the transitions.</summary>
internal enum TransactionState
{
    /// <summary>InitTransactions not called yet (or it failed retriably).</summary>
    Uninitialized,

    /// <summary>InitTransactions in progress.</summary>
    Initializing,

    /// <summary>No transaction open: BeginTransaction may start one.</summary>
    Ready,

    /// <summary>A transaction is open: records and offsets may be added.</summary>
    InTransaction,

    /// <summary>CommitTransaction in progress: flushing, then EndTxn(commit).</summary>
    Committing,

    /// <summary>AbortTransaction in progress: unsent records failed, in-flight ones awaited, then EndTxn(abort).</summary>
    Aborting,

    /// <summary>Something in the open transaction failed: only AbortTransaction is allowed.</summary>
    AbortableError,

    /// <summary>Fenced, refused or otherwise unable to go on: the producer must be disposed.</summary>
    Fatal,
}

/// <summary>
/// A transactional producer's transactions (Java's <c>TransactionManager</c> rules, our own code): the state machine,
/// the partitions registered with the coordinator (AddPartitionsToTxn, batched, one request at a time) before their
/// first batch may be sent, offsets (AddOffsetsToTxn + TxnOffsetCommit), and the end (EndTxn). With transactions
/// version 2 (KIP-890, a broker that finalizes <c>transaction.version</c> 2) partitions and offsets are added by
/// Produce v12 and TxnOffsetCommit v5 themselves, and every EndTxn gives the producer a new epoch.
/// </summary>
/// <remarks>
/// Records count as "appending" from the state check at the call until they are in a batch or failed (a record waiting
/// for metadata or memory keeps its count), so a commit or abort, which first moves the state on, can wait until no
/// record of the transaction is still on its way into a batch. The count is the only cost on the produce path: one
/// interlocked increment and decrement per record, and a field compare per partition append.
/// </remarks>
internal sealed partial class TransactionManager : IDisposable
{
    private readonly ProducerEngine _engine;
    private readonly ProducerIdentity _identity;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly CancellationTokenSource _closing = new();

    // Partitions that got a record in this transaction and are not registered with the coordinator yet.
    private readonly List<PartitionAccumulator> _unregistered = [];

    // SendOffsetsToTransaction calls of this transaction not finished yet; a commit waits for them.
    private readonly List<Task> _offsetCalls = [];

    private int _state;
    private int _generation;
    private int _appending;
    private TaskCompletionSource? _appendsDone;

    // The init, commit or abort running, or the last one: a caller that stopped waiting for it can wait for it again,
    // also once it has finished (until the next BeginTransaction), as with Java's retried commitTransaction.
    private Task? _operation;
    private TransactionState _operationKind;

    // The first failure of the open transaction: a commit fails with it, and the transaction must abort.
    private KafkaException? _abortableError;

    // The coordinator may know of this transaction (partitions or offsets were sent), so it must be ended with EndTxn.
    private bool _started;

    // A partition's sequences broke (KIP-360): the next abort ends with InitProducerId for a new epoch.
    private bool _epochBumpRequired;

    // The AddPartitionsToTxn round now running; Task.CompletedTask when none.
    private Task _registration = Task.CompletedTask;

    public TransactionManager(ProducerEngine engine, ProducerIdentity identity, ILogger logger)
    {
        _engine = engine;
        _identity = identity;
        _logger = logger;
        TransactionalId = engine.Options.TransactionalId!;
        _identity.BumpRequested += OnEpochBumpRequested;
    }

    public string TransactionalId { get; }

    public TransactionState State => (TransactionState)Volatile.Read(ref _state);

    /// <summary>True when the coordinator's broker runs transactions version 2 (KIP-890): Produce v12 adds partitions itself.</summary>
    public bool UsesVersion2 { get; private set; }

    // ---- the produce path ----

    /// <summary>
    /// Called before a record is serialized: null when the record may join the open transaction (then call
    /// <see cref="EndAppend"/> once the call is done with it), else why it may not.
    /// </summary>
    public KafkaException? TryBeginAppend(string? topic)
    {
        Interlocked.Increment(ref _appending);
        var state = State;
        if (state == TransactionState.InTransaction)
        {
            return null;
        }

        EndAppend();
        return RefusalFor(state, $"A record for topic '{topic}'", isRecord: true);
    }

    /// <summary>A record that will be appended later (it waits for metadata or memory) keeps the transaction's count up until then.</summary>
    public void HoldAppend() => Interlocked.Increment(ref _appending);

    public void EndAppend()
    {
        if (Interlocked.Decrement(ref _appending) == 0)
        {
            Volatile.Read(ref _appendsDone)?.TrySetResult();
        }
    }

    /// <summary>
    /// A record is about to go into <paramref name="partition"/>: the first of the transaction there registers the
    /// partition with the coordinator (classic protocol), which its sender waits for.
    /// </summary>
    public void OnAppend(PartitionAccumulator partition)
    {
        var generation = Volatile.Read(ref _generation);
        if (Volatile.Read(ref partition.TransactionRequested) == generation)
        {
            return;
        }

        lock (_lock)
        {
            if (partition.TransactionRequested == _generation || State is not (TransactionState.InTransaction or TransactionState.Committing))
            {
                // Appended while aborting: the abort fails the batch before anything sends it.
                return;
            }

            partition.TransactionRequested = _generation;
            if (UsesVersion2)
            {
                // KIP-890: the Produce request itself adds the partition to the transaction.
                _started = true;
                Volatile.Write(ref partition.TransactionAdded, _generation);
                return;
            }

            _unregistered.Add(partition);
            if (_registration.IsCompleted)
            {
                _registration = RegisterPartitionsAsync();
            }
        }
    }

    /// <summary>Whether a sender may send the partition's batches: it is part of the open transaction at the coordinator.</summary>
    public bool MaySend(PartitionAccumulator partition) =>
        Volatile.Read(ref partition.TransactionAdded) == Volatile.Read(ref _generation);

    /// <summary>A record of the transaction failed for good: the transaction can no longer commit.</summary>
    public void OnRecordFailed(KafkaException error)
    {
        if (error is TransactionAbortedException || error.IsFatal)
        {
            if (error.IsFatal)
            {
                OnFatal(error);
            }

            return;
        }

        MakeAbortable(error);
    }

    public void OnFatal(KafkaException error)
    {
        lock (_lock)
        {
            _state = (int)TransactionState.Fatal;
            _unregistered.Clear();
        }
    }

    // ---- the public operations ----

    public Task InitAsync()
    {
        lock (_lock)
        {
            switch (State)
            {
                case TransactionState.Uninitialized:
                    _state = (int)TransactionState.Initializing;
                    return _operation = RunAsync(InitCoreAsync, onFailure: TransactionState.Uninitialized);
                case TransactionState.Initializing:
                    return _operation!;
                default:
                    throw RefusalFor(State, "InitTransactions");
            }
        }
    }

    public void Begin()
    {
        lock (_lock)
        {
            if (State != TransactionState.Ready)
            {
                throw RefusalFor(State, "BeginTransaction");
            }

            _generation++;
            _operationKind = TransactionState.Ready;
            _started = false;
            _abortableError = null;
            _offsetCalls.Clear();
            _state = (int)TransactionState.InTransaction;
        }
    }

    public Task CommitAsync()
    {
        lock (_lock)
        {
            switch (State)
            {
                case TransactionState.InTransaction:
                    return StartEnding(TransactionState.Committing, CommitCoreAsync);
                case TransactionState.Committing:
                case TransactionState.Ready when _operationKind == TransactionState.Committing:
                    return _operation!;
                default:
                    throw RefusalFor(State, "CommitTransaction");
            }
        }
    }

    public Task AbortAsync()
    {
        lock (_lock)
        {
            switch (State)
            {
                case TransactionState.InTransaction or TransactionState.AbortableError:
                    return StartEnding(TransactionState.Aborting, AbortCoreAsync);
                case TransactionState.Aborting:
                case TransactionState.Ready when _operationKind == TransactionState.Aborting:
                    return _operation!;
                default:
                    throw RefusalFor(State, "AbortTransaction");
            }
        }
    }

    public Task SendOffsetsAsync(IReadOnlyList<TopicPartitionOffset> offsets, ConsumerGroupMetadata group)
    {
        lock (_lock)
        {
            if (State != TransactionState.InTransaction)
            {
                throw RefusalFor(State, "SendOffsetsToTransaction");
            }

            if (offsets.Count == 0)
            {
                return Task.CompletedTask;
            }

            _started = true;
            var call = SendOffsetsCoreAsync(offsets, group);
            _offsetCalls.Add(call);
            return call;
        }
    }

    /// <summary>
    /// At dispose: a transaction still open is aborted until <paramref name="deadline"/> (as Java's close does);
    /// what is left, the coordinator aborts at <c>transaction.timeout.ms</c> or when a producer with the same id initializes.
    /// </summary>
    public async Task AbortOnCloseAsync(CancellationToken deadline)
    {
        if (State is not (TransactionState.InTransaction or TransactionState.AbortableError or TransactionState.Aborting))
        {
            return;
        }

        TransactionLog.AbortOnClose(_logger, TransactionalId);
        try
        {
            await AbortAsync().WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KafkaException || (e is OperationCanceledException && deadline.IsCancellationRequested))
        {
            // Best effort: the close goes on, and the coordinator finishes the abort.
        }
    }

    /// <summary>Ends coordinator requests still being retried (the engine disposes its connections next).</summary>
    public void Dispose()
    {
        // Not disposed: an operation ending at this moment may still read its token.
        _closing.Cancel();
        _identity.BumpRequested -= OnEpochBumpRequested;
    }

    // ---- the operations' bodies ----

    private async Task InitCoreAsync()
    {
        var identity = await InitProducerIdAsync(ProducerIdAndEpoch.None).ConfigureAwait(false);
        _identity.Set(identity);
        lock (_lock)
        {
            _state = (int)TransactionState.Ready;
        }

        TransactionLog.Initialized(_logger, TransactionalId, identity.ProducerId, identity.Epoch, UsesVersion2 ? 2 : 1);
    }

    private async Task CommitCoreAsync()
    {
        await WaitForAppendsAsync().ConfigureAwait(false);
        await WaitForOffsetCallsAsync().ConfigureAwait(false);

        // Every record of the transaction acknowledged (or failed) before EndTxn: Java's commit does the same flush.
        await _engine.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        await WaitForRegistrationAsync().ConfigureAwait(false);
        KafkaException? failed;
        bool started;
        lock (_lock)
        {
            failed = _abortableError;
            started = _started;
        }

        if (failed is not null)
        {
            throw AbortRequired(failed, "CommitTransaction");
        }

        if (started)
        {
            await EndTransactionAsync(commit: true).ConfigureAwait(false);
        }

        Finish("committed");
    }

    private async Task AbortCoreAsync()
    {
        var aborted = new TransactionAbortedException($"The transaction of transactional.id '{TransactionalId}' was aborted before this record was sent; it was never sent.");

        // Records still on their way into a batch land in one and are failed by the next pass.
        do
        {
            _engine.FailUnsent(_ => aborted);
        }
        while (!await WaitForAppendsAsync(TimeSpan.FromMilliseconds(10)).ConfigureAwait(false));
        _engine.FailUnsent(_ => aborted);

        // Batches already sent cannot be called back: wait for their answers, so the abort markers come after them.
        await _engine.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        await WaitForRegistrationAsync().ConfigureAwait(false);
        await WaitForOffsetCallsAsync().ConfigureAwait(false);
        bool started, bump;
        KafkaException? cause;
        lock (_lock)
        {
            _unregistered.Clear();
            started = _started;
            bump = _epochBumpRequired;
            cause = _abortableError;
        }

        if (cause is TransactionTimedOutException)
        {
            // The coordinator aborted it already and moved the id to a new epoch (KIP-588): take that epoch.
            bump = true;
        }
        else if (started)
        {
            await EndTransactionAsync(commit: false).ConfigureAwait(false);
        }

        if (bump)
        {
            var current = _identity.Current;
            var next = await InitProducerIdAsync(current).ConfigureAwait(false);
            _identity.Set(next);
            TransactionLog.EpochBumped(_logger, TransactionalId, next.ProducerId, next.Epoch);
            lock (_lock)
            {
                _epochBumpRequired = false;
            }
        }

        Finish("aborted");
    }

    private void Finish(string outcome)
    {
        lock (_lock)
        {
            _state = (int)TransactionState.Ready;
            _abortableError = null;
            _started = false;
            _offsetCalls.Clear();
        }

        TransactionLog.Ended(_logger, TransactionalId, outcome);
    }

    // Starts a commit or abort (under _lock), in state Committing or Aborting; a failure leaves the transaction abortable.
    private Task StartEnding(TransactionState ending, Func<Task> body)
    {
        _state = (int)ending;
        _operationKind = ending;
        return _operation = RunAsync(body, onFailure: TransactionState.AbortableError);
    }

    // Runs an init, commit or abort: a failure leaves the state the rules say (fatal stays fatal).
    private async Task RunAsync(Func<Task> body, TransactionState onFailure)
    {
        await Task.Yield();
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var error = e as KafkaException ?? new KafkaException($"The transaction operation failed: {e.Message}", innerException: e);
            if (error.IsFatal)
            {
                _engine.EnterFatalState(error);
                OnFatal(error);
            }
            else
            {
                lock (_lock)
                {
                    if (State != TransactionState.Fatal)
                    {
                        var next = error.TxnRequiresAbort ? TransactionState.AbortableError : onFailure;
                        _state = (int)next;
                        if (next == TransactionState.AbortableError)
                        {
                            _abortableError ??= error;
                        }
                    }
                }
            }

            throw error;
        }
    }

    private void MakeAbortable(KafkaException error)
    {
        lock (_lock)
        {
            if (_abortableError is not null || State is not (TransactionState.InTransaction or TransactionState.Committing or TransactionState.AbortableError))
            {
                // Only the first failure counts; the records this one fails come back here as later ones.
                return;
            }

            _abortableError = error;
            if (State == TransactionState.InTransaction)
            {
                _state = (int)TransactionState.AbortableError;
            }

            _unregistered.Clear();
        }

        TransactionLog.Abortable(_logger, TransactionalId, error.Message);

        // Nothing more of this transaction can commit: what is not sent yet fails now rather than go out for nothing.
        // On the pool: the failure may be noticed under a sender's or a partition's lock, and failing takes every partition's.
        var failure = AbortRequired(error, "This record's transaction");
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Engine.FailUnsent(_ => state.Failure), (Engine: _engine, Failure: failure), preferLocal: false);
    }

    // Called by a sender while it drains (under its locks), once per drain until the epoch moves.
    private void OnEpochBumpRequested(ProducerIdAndEpoch failed)
    {
        lock (_lock)
        {
            if (_epochBumpRequired)
            {
                return;
            }

            _epochBumpRequired = true;
        }

        MakeAbortable(new TransactionAbortableException(
            $"The sequence state of a partition broke (producer id {failed.ProducerId}, epoch {failed.Epoch}): the transaction must abort, and the abort moves the producer to a new epoch.",
            ErrorCode.OutOfOrderSequenceNumber));
    }

    private async Task WaitForAppendsAsync()
    {
        while (!await WaitForAppendsAsync(Timeout.InfiniteTimeSpan).ConfigureAwait(false))
        {
        }
    }

    // True when no record is on its way into a batch; false if the time ran out first.
    private async Task<bool> WaitForAppendsAsync(TimeSpan timeout)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The exchange is a full fence: a record that ends after it sees the waiter, one that ended before it left the count at 0.
        Interlocked.Exchange(ref _appendsDone, done);
        if (Volatile.Read(ref _appending) == 0)
        {
            return true;
        }

        try
        {
            await done.Task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return Volatile.Read(ref _appending) == 0;
        }
    }

    private async Task WaitForOffsetCallsAsync()
    {
        Task[] calls;
        lock (_lock)
        {
            calls = [.. _offsetCalls];
        }

        try
        {
            await Task.WhenAll(calls).ConfigureAwait(false);
        }
        catch (KafkaException)
        {
            // Their callers were told; a failure made the transaction abortable, which the commit reads.
        }
    }

    private async Task WaitForRegistrationAsync()
    {
        while (true)
        {
            Task registration;
            lock (_lock)
            {
                registration = _registration;
            }

            if (registration.IsCompleted)
            {
                return;
            }

            await registration.ConfigureAwait(false);
        }
    }

    private KafkaException RefusalFor(TransactionState state, string what, bool isRecord = false) => state switch
    {
        TransactionState.Fatal => _engine.FatalError ?? new TransactionStateException($"{what} is not possible: the transactional producer '{TransactionalId}' has failed for good. Dispose it."),
        TransactionState.AbortableError => AbortRequired(_abortableError, what),
        TransactionState.Uninitialized or TransactionState.Initializing =>
            new TransactionStateException($"{what} is not possible yet: the transactional producer '{TransactionalId}' is {Describe(state)}. Call InitTransactions first (once), then BeginTransaction."),
        TransactionState.Ready when isRecord =>
            new TransactionStateException($"{what} was refused: the transactional producer '{TransactionalId}' has no open transaction (it is {Describe(state)}). Call BeginTransaction before producing; it was not sent."),
        _ => new TransactionStateException($"{what} is not possible now: the transactional producer '{TransactionalId}' is {Describe(state)}."),
    };

    private TransactionAbortableException AbortRequired(KafkaException? cause, string what) =>
        cause as TransactionAbortableException is { } same && what == "CommitTransaction"
            ? same
            : new TransactionAbortableException(
                $"{what} cannot commit: the transaction of '{TransactionalId}' failed ({cause?.Message ?? "unknown cause"}). Call AbortTransaction, then start a new transaction.",
                cause?.ErrorCode ?? ErrorCode.UnknownServerError,
                cause);

    private static string Describe(TransactionState state) => state switch
    {
        TransactionState.Uninitialized => "not initialized",
        TransactionState.Initializing => "initializing",
        TransactionState.Ready => "ready, with no transaction open",
        TransactionState.InTransaction => "in a transaction",
        TransactionState.Committing => "committing a transaction (call CommitTransaction again to wait for it)",
        TransactionState.Aborting => "aborting a transaction (call AbortTransaction again to wait for it)",
        TransactionState.AbortableError => "in a transaction that must be aborted",
        _ => "failed for good",
    };
}
