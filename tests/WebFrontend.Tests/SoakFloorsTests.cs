using Presence.Bench;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// How the soak bench tells a leak from the collector's rhythm: RSS climbs between compactions and
/// falls at each; the floors where the falls end are compared, not every sample.
/// </summary>
public sealed class SoakFloorsTests
{
    private const double SampleSeconds = 5;

    /// <summary>
    /// RSS sampled every 5 s over <paramref name="cycles"/> cycles of 5 minutes: from its floor it
    /// climbs 1 MB a sample, then a compaction gives back the climb in two samples (most in the first).
    /// </summary>
    private static List<SoakSample> Saw(int cycles, double firstFloor, double floorRisePerCycle)
    {
        var samples = new List<SoakSample>();
        for (var cycle = 0; cycle < cycles; cycle++)
        {
            var floor = firstFloor + cycle * floorRisePerCycle;
            for (var step = 0; step < 58; step++)
            {
                samples.Add(new SoakSample(samples.Count * SampleSeconds, floor + step, OpenFiles: 100));
            }
            var nextFloor = floor + floorRisePerCycle;
            samples.Add(new SoakSample(samples.Count * SampleSeconds, nextFloor + 5, OpenFiles: 100));
            samples.Add(new SoakSample(samples.Count * SampleSeconds, nextFloor, OpenFiles: 100));
        }
        samples.Add(new SoakSample(samples.Count * SampleSeconds, firstFloor + cycles * floorRisePerCycle + 1, OpenFiles: 100));
        return samples;
    }

    [Fact]
    public void FlatFloors_UnderASaw_ComeOutFlat_ThoughEverySampleSlopesUp()
    {
        // Cut just after the second compaction: the samples' least-squares slope is steep (the
        // second climb weighs at the end), the floors' is zero.
        var samples = Saw(cycles: 3, firstFloor: 400, floorRisePerCycle: 0)[..121];

        var floors = Soak.CompactionFloors(samples);

        Assert.Equal([400.0, 400.0], floors.Select(floor => floor.RssMb));
        Assert.Equal([59 * SampleSeconds, 119 * SampleSeconds], floors.Select(floor => floor.Seconds));
        Assert.Equal(0, Soak.Slope(floors) * 60, precision: 6);
        Assert.True(Soak.Slope(samples) * 60 > 2, $"samples' slope {Soak.Slope(samples) * 60} MB/min");
    }

    [Fact]
    public void RisingFloors_ComeOutAsTheirRise()
    {
        // 3 MB more at each compaction, one every 5 minutes: 0.6 MB a minute.
        var floors = Soak.CompactionFloors(Saw(cycles: 6, firstFloor: 400, floorRisePerCycle: 3));

        Assert.Equal([403.0, 406.0, 409.0, 412.0, 415.0, 418.0], floors.Select(floor => floor.RssMb));
        Assert.Equal(0.6, Soak.Slope(floors) * 60, precision: 6);
    }

    [Fact]
    public void ACompactionInTwoFalls_WithABumpBetween_IsOneFloor_AtItsBottom()
    {
        // The samples of a 36-minute soak around its 22nd minute.
        double[] rss = [568, 568, 568, 537, 538, 447, 451, 451, 453, 457, 457, 462, 466];
        var samples = rss.Select((mb, i) => new SoakSample(i * SampleSeconds, mb, OpenFiles: 100)).ToList();

        var floors = Soak.CompactionFloors(samples);

        Assert.Equal([(25.0, 447.0)], floors.Select(floor => (floor.Seconds, floor.RssMb)));
    }

    [Fact]
    public void FloorsOffTheirLine_GiveTheSlopeAStandardError_FloorsOnItNone()
    {
        // A minute apart: 400, 403, 400 MB lie 1, 2 and 1 MB off their flat line.
        SoakSample[] bumped = [new(0, 400, 100), new(60, 403, 100), new(120, 400, 100)];
        SoakSample[] rising = [new(0, 400, 100), new(60, 401, 100), new(120, 402, 100)];

        Assert.Equal(0, Soak.Slope(bumped) * 60, precision: 6);
        Assert.Equal(Math.Sqrt(3), Soak.SlopeStandardError(bumped) * 60, precision: 6);
        Assert.Equal(1, Soak.Slope(rising) * 60, precision: 6);
        Assert.Equal(0, Soak.SlopeStandardError(rising) * 60, precision: 6);
        Assert.True(double.IsNaN(Soak.SlopeStandardError(rising[..2])), "two floors always lie on their line");
        // One degree of freedom: Student's t for 95% on one side is 6.314 (the textbooks' table).
        Assert.Equal(6.314 * Math.Sqrt(3), Soak.SlopeMargin(bumped) * 60, precision: 2);
    }

    [Fact]
    public void NoCompaction_NoFloor_NoSlope()
    {
        var climbing = Saw(cycles: 1, firstFloor: 400, floorRisePerCycle: 0)[..58];

        Assert.Empty(Soak.CompactionFloors(climbing));
        Assert.True(double.IsNaN(Soak.Slope([])));
    }
}
