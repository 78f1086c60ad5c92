using Orleans.Configuration;

namespace Presence.Grains;

/// <summary>How many queues the memory streams spread the rooms' streams over; every silo of a cluster must use the same number.</summary>
public static class StreamQueues
{
    /// <summary>
    /// One process runs every queue, so more queues bring no more parallelism, only pollers and
    /// cache: each queue polls every 5 ms, and each keeps its own pool of 1 MB cache blocks, which
    /// grows to two blocks once its first has filled: at the soak's load after some 35 minutes with
    /// 8 queues (16 MB), after some 6 with 2 (4 MB).
    /// </summary>
    public const int Embedded = 2;

    /// <summary>Orleans' default, spread over the silos.</summary>
    public const int Cluster = HashRingStreamQueueMapperOptions.DEFAULT_NUM_QUEUES;
}
