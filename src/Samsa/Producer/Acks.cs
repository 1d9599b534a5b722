namespace Samsa;

/// <summary><c>acks</c>: how many replicas must have a record before the leader answers.</summary>
public enum Acks : short
{
    /// <summary><c>acks=all</c> (-1): every in-sync replica; the Java client's default.</summary>
    All = -1,

    /// <summary><c>acks=0</c>: no answer at all; results carry offset -1.</summary>
    None = 0,

    /// <summary><c>acks=1</c>: the leader alone.</summary>
    Leader = 1,
}
