using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Scheduler.Api.Schedules;
using Scheduler.Core.Jobs;

namespace Scheduler.Tests.Api.Schedules;

/// <summary>
/// The wake-up signals for new schedules, as the dispatchers receive them: a session listening on the test
/// database's channel, and the announcer on a clock of the test's own. Each test's due times are its own, so a
/// signal from anything else on the channel cannot pass for one of these.
/// </summary>
public sealed class DispatchAnnouncerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private FakeTimeProvider _time = null!;
    private NpgsqlDataSource _database = null!;
    private NpgsqlConnection _listener = null!;
    private CancellationTokenSource _stop = null!;
    private Task _listening = null!;
    private readonly ConcurrentQueue<string> _received = new();

    [SetUp]
    public async Task ListenAsync()
    {
        // A start of its own each time, so the payloads (due times) of one test are not another's; on a whole
        // millisecond, as the payloads are.
        var start = DateTimeOffset.UtcNow.AddYears(1).AddDays(TestContext.CurrentContext.Random.Next(1, 1000));
        _time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(start.ToUnixTimeMilliseconds()));
        _database = NpgsqlDataSource.Create(TestAssemblySetup.ConnectionString);
        _listener = await _database.OpenConnectionAsync();
        _listener.Notification += (_, e) => _received.Enqueue(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {DispatchSignal.Channel}", _listener))
        {
            await listen.ExecuteNonQueryAsync();
        }
        _stop = new CancellationTokenSource();
        _listening = ReceiveAsync(_listener, _stop.Token);
    }

    private static async Task ReceiveAsync(NpgsqlConnection listener, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await listener.WaitAsync(stop);
            }
        }
        catch (OperationCanceledException)
        {
            // The test is over.
        }
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _listening;
        await _listener.DisposeAsync();
        await _database.DisposeAsync();
        _stop.Dispose();
    }

    private DispatchAnnouncer Announcer() => new(_database, _time, NullLogger<DispatchAnnouncer>.Instance);

    private DateTimeOffset In(TimeSpan ahead) => _time.GetUtcNow() + ahead;

    /// <summary>Waits for the signal announcing <paramref name="due"/>, and returns every one of this test's received so far, in order.</summary>
    private async Task<List<DateTimeOffset>> ReceivedThroughAsync(DateTimeOffset due, params DateTimeOffset[] ours)
    {
        var payloads = ours.Append(due).Select(DispatchSignal.Payload).ToHashSet();
        await Eventually.UntilAsync(() => _received.Contains(DispatchSignal.Payload(due)), Timeout, $"the signal for {due:O}");
        return _received.Where(payloads.Contains).Select(p => DispatchSignal.DueOf(p)!.Value).ToList();
    }

    [Test]
    public async Task An_occurrence_beyond_the_horizon_gets_no_signal()
    {
        var announcer = Announcer();
        var farOff = In(DispatchSignal.Horizon + TimeSpan.FromMinutes(1));
        var soon = In(TimeSpan.FromMilliseconds(200));

        await announcer.AnnounceAsync(farOff);
        // Sent after it, so it arrives after anything sent for the first: the first was not.
        await announcer.AnnounceAsync(soon);

        Assert.That(await ReceivedThroughAsync(soon, farOff), Is.EqualTo(new[] { soon }));
    }

    [Test]
    public async Task Signals_close_together_go_as_one_with_the_earliest_due_time()
    {
        var announcer = Announcer();
        var first = In(TimeSpan.FromMinutes(10));
        var later = In(TimeSpan.FromMinutes(7));
        var earliest = In(TimeSpan.FromMinutes(5));

        await announcer.AnnounceAsync(first);
        Assert.That(await ReceivedThroughAsync(first), Is.EqualTo(new[] { first }), "the first goes at once");
        // Within the spacing of the first (the test's clock has not moved): they wait, and go together.
        await announcer.AnnounceAsync(later);
        await announcer.AnnounceAsync(earliest);
        _time.Advance(DispatchAnnouncer.Spacing);
        var received = await ReceivedThroughAsync(earliest, first, later);

        // A marker sent after the shared signal shows that nothing was sent for the later one alone.
        var marker = In(TimeSpan.FromMilliseconds(300));
        await announcer.AnnounceAsync(marker);
        Assert.Multiple(async () =>
        {
            Assert.That(received, Is.EqualTo(new[] { first, earliest }));
            Assert.That(await ReceivedThroughAsync(marker, first, later, earliest), Is.EqualTo(new[] { first, earliest, marker }));
        });
    }

    [Test]
    public async Task An_urgent_occurrence_is_announced_at_once_however_recent_the_last_signal()
    {
        var announcer = Announcer();
        var first = In(TimeSpan.FromMinutes(10));
        var waiting = In(TimeSpan.FromMinutes(8));
        var urgent = In(DispatchAnnouncer.Urgent / 2);

        await announcer.AnnounceAsync(first);
        await announcer.AnnounceAsync(waiting);
        await announcer.AnnounceAsync(urgent);

        Assert.That(await ReceivedThroughAsync(urgent, first, waiting), Is.EqualTo(new[] { first, urgent }),
            "the urgent one went before the spacing was over; the other still waits");
        _time.Advance(DispatchAnnouncer.Spacing);
        Assert.That(await ReceivedThroughAsync(waiting, first, urgent), Is.EqualTo(new[] { first, urgent, waiting }), "then the waiting one goes");
    }
}
