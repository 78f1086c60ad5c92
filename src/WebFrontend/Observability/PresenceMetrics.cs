using System.Diagnostics.Metrics;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Observability;

/// <summary>
/// The front end's instruments (meter <see cref="Telemetry.MeterName"/>). Deliveries are counted
/// once per fan-out (one <c>Add(n)</c> for the n connections an event went to), never once per
/// connection, so that the fan-out of one event to 10,000 connections costs no more than before.
/// Open streams, local rooms and drops are plain fields read at each scrape: they are shown from the
/// start (a measurement made before the exporter listens would be lost).
/// </summary>
internal sealed class PresenceMetrics
{
    private static readonly KeyValuePair<string, object?> PresenceKind = new("kind", "presence");
    private static readonly KeyValuePair<string, object?> FeedKind = new("kind", "feed");

    /// <summary>Publish-to-delivery latency and grain calls, from a millisecond to ten seconds.</summary>
    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private readonly TimeProvider _time;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _publishes;
    private readonly Histogram<double> _deliveryLatency;
    private readonly Histogram<double> _grainCallDuration;
    private int _openStreams;
    private int _localRooms;
    private long _slowConsumersDropped;

    public PresenceMetrics(IMeterFactory meters, TimeProvider time)
    {
        _time = time;
        var meter = meters.Create(Telemetry.MeterName);
        meter.CreateObservableUpDownCounter(
            "presence.streams.open", () => Volatile.Read(ref _openStreams), "{stream}", "Event streams open on this front end");
        meter.CreateObservableUpDownCounter(
            "presence.rooms.local", () => Volatile.Read(ref _localRooms), "{room}", "Rooms with at least one connection on this front end (one stream subscription each)");
        _deliveries = meter.CreateCounter<long>(
            "presence.deliveries", "{frame}", "Frames written to connections, by kind: presence (counts) or feed (events, replayed ones included)");
        meter.CreateObservableCounter(
            "presence.slow_consumers.dropped", () => Interlocked.Read(ref _slowConsumersDropped), "{connection}",
            "Connections ended because more waited for them than Sse:MaxPendingEvents or Sse:MaxPendingBytes");
        _publishes = meter.CreateCounter<long>(
            "presence.publishes", "{request}", "Publish requests, by outcome");
        _deliveryLatency = meter.CreateHistogram(
            "presence.feed.delivery_latency", "s", "From a feed event's publish (the feed grain's clock) to the end of its fan-out to this front end's connections", advice: SecondsBuckets);
        _grainCallDuration = meter.CreateHistogram(
            "presence.grain_call.duration", "s", "Grain calls made by the front end, by grain interface and method", advice: SecondsBuckets);
    }

    public void StreamOpened() => Interlocked.Increment(ref _openStreams);

    public void StreamClosed() => Interlocked.Decrement(ref _openStreams);

    public void RoomOpened() => Interlocked.Increment(ref _localRooms);

    public void RoomClosed() => Interlocked.Decrement(ref _localRooms);

    /// <summary>One fan-out (or one connection's opening snapshot and replay): <paramref name="frames"/> frames written.</summary>
    public void Delivered(bool isFeedEvent, int frames)
    {
        if (frames > 0)
        {
            _deliveries.Add(frames, isFeedEvent ? FeedKind : PresenceKind);
        }
    }

    /// <summary>A feed event's fan-out has ended: how long since it was published.</summary>
    public void FeedEventDelivered(DateTimeOffset publishedAt) =>
        _deliveryLatency.Record(Math.Max(0, (_time.GetUtcNow() - publishedAt).TotalSeconds));

    public void SlowConsumerDropped() => Interlocked.Increment(ref _slowConsumersDropped);

    public void Published(string outcome) => _publishes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void GrainCalled(string grain, string method, TimeSpan duration) =>
        _grainCallDuration.Record(duration.TotalSeconds, new("grain", grain), new("method", method));
}
