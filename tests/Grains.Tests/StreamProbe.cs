using System.Threading.Channels;
using Orleans.Streams;

namespace Presence.Grains.Tests;

/// <summary>Subscribes to a stream and lets a test await the item it expects.</summary>
public sealed class StreamProbe<T> : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly Channel<T> _items = Channel.CreateUnbounded<T>();
    private readonly List<T> _received = [];
    private StreamSubscriptionHandle<T>? _subscription;

    /// <summary>Every item taken by <see cref="WaitForAsync"/> so far, in order.</summary>
    public IReadOnlyList<T> Received => _received;

    public static async Task<StreamProbe<T>> SubscribeAsync(IClusterClient client, string provider, StreamId stream)
    {
        var probe = new StreamProbe<T>();
        probe._subscription = await client.GetStreamProvider(provider).GetStream<T>(stream)
            .SubscribeAsync((item, _) => probe._items.Writer.WriteAsync(item).AsTask());
        return probe;
    }

    public async Task<T> WaitForAsync(Func<T, bool> expected, TimeSpan? timeout = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var item = await _items.Reader.ReadAsync(cancellation.Token);
            _received.Add(item);
            if (expected(item))
            {
                return item;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync();
        }
    }
}
