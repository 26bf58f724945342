using Microsoft.EntityFrameworkCore;
using Npgsql;
using Scheduler.Api.Validation;

namespace Scheduler.Api.Schedules;

/// <summary>
/// A schedule's <c>continuations</c> as the API writes them: checked (at most
/// <see cref="ContinuationStatements.MaxPerSchedule"/>, each naming a live schedule once), refused when they would
/// close a cycle, and replaced on PUT. A new schedule's are inserted with it (<see cref="ScheduleWriter"/>); it
/// needs no cycle check, as nothing can name it yet.
/// </summary>
internal sealed class ScheduleContinuations(SchedulerDbContext db)
{
    /// <summary>
    /// The continuations <paramref name="requested"/> asks for, in order (their <see cref="ScheduleContinuation.ScheduleId"/>
    /// not set), or null when the request gives none (absent: on PUT, keep them). Each bad field is named
    /// <c>continuations[i].field</c>.
    /// </summary>
    public async Task<List<ScheduleContinuation>?> ValidateAsync(
        IReadOnlyList<ContinuationRequest?>? requested, DateTimeOffset now, ValidationErrors errors, CancellationToken cancellationToken)
    {
        if (requested is null)
        {
            return null;
        }
        if (requested.Count > ContinuationStatements.MaxPerSchedule)
        {
            errors.Add("continuations", $"at most {ContinuationStatements.MaxPerSchedule} continuations; got {requested.Count}.");
            return null;
        }
        var before = errors.Count;
        var continuations = new List<ScheduleContinuation>(requested.Count);
        for (var i = 0; i < requested.Count; i++)
        {
            var field = $"continuations[{i}]";
            if (requested[i] is not { } item)
            {
                errors.Add(field, "must be an object with when and schedule_id, not null.");
                continue;
            }
            var when = default(ContinuationWhen);
            if (item.When is null || !WireName.TryParse(item.When.Trim(), out when))
            {
                errors.Add($"{field}.when", $"must be one of {string.Join(", ", WireName.Values<ContinuationWhen>())}.");
            }
            if (item.ScheduleId is not { } next)
            {
                errors.Add($"{field}.schedule_id", "give the id of the schedule that gets the run.");
            }
            else if (continuations.Any(c => c.NextScheduleId == next))
            {
                errors.Add($"{field}.schedule_id", $"schedule {next} is named twice; name it once (when any covers both outcomes).");
            }
            else
            {
                continuations.Add(new ScheduleContinuation { NextScheduleId = next, When = when, Position = i, CreatedAt = now });
            }
        }
        var ids = continuations.Select(c => c.NextScheduleId).ToArray();
        var live = ids.Length == 0 ? [] : await db.Schedules.Where(s => ids.Contains(s.Id) && s.DeletedAt == null).Select(s => s.Id).ToListAsync(cancellationToken);
        foreach (var missing in continuations.Where(c => !live.Contains(c.NextScheduleId)))
        {
            errors.Add($"continuations[{missing.Position}].schedule_id", $"Schedule {missing.NextScheduleId} not found.");
        }
        // Positions count the list as given; with every item accepted they are 0..n-1.
        return errors.Count == before ? continuations : null;
    }

    /// <summary>
    /// Refuses (an error naming the item) continuations of existing schedule <paramref name="scheduleId"/> that
    /// would lead back to it. Call inside the transaction that then writes them (<see cref="ReplaceAsync"/>): the
    /// check holds a lock until it ends, so two writes cannot each close half of a cycle.
    /// </summary>
    public async Task CheckCyclesAsync(long scheduleId, List<ScheduleContinuation> continuations, ValidationErrors errors, CancellationToken cancellationToken)
    {
        if (continuations.Count == 0)
        {
            return;
        }
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (!await ContinuationStatements.WouldCycleAsync(connection, scheduleId, continuations.Select(c => c.NextScheduleId).ToArray(), cancellationToken))
        {
            return;
        }
        // Only on refusal: which of them closes it, so the error names the item.
        foreach (var continuation in continuations)
        {
            if (await ContinuationStatements.WouldCycleAsync(connection, scheduleId, [continuation.NextScheduleId], cancellationToken))
            {
                errors.Add($"continuations[{continuation.Position}].schedule_id", continuation.NextScheduleId == scheduleId
                    ? $"schedule {scheduleId} cannot continue into itself (a cycle)."
                    : $"schedule {continuation.NextScheduleId} leads back to schedule {scheduleId} through continuations (a cycle).");
                return;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="continuations"/> schedule <paramref name="scheduleId"/>'s, in the caller's transaction.
    /// One that stays as it was keeps its created_at (reconciliation repairs runs that finished after it).
    /// </summary>
    public Task ReplaceAsync(long scheduleId, List<ScheduleContinuation> continuations, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlRawAsync(ReplaceSql,
            [
                new NpgsqlParameter<long>("id", scheduleId),
                new NpgsqlParameter<long[]>("next", continuations.Select(c => c.NextScheduleId).ToArray()),
                new NpgsqlParameter<string[]>("when", continuations.Select(c => WireName.Of(c.When)).ToArray()),
                new NpgsqlParameter<DateTimeOffset>("now", now),
            ], cancellationToken);

    private const string ReplaceSql = """
        DELETE FROM scheduler.schedule_continuations WHERE schedule_id = @id AND NOT (next_schedule_id = ANY(@next));
        INSERT INTO scheduler.schedule_continuations AS c (schedule_id, next_schedule_id, fires_when, position, created_at)
        SELECT @id, n.next, n.fires_when, (n.ord - 1)::int, @now
        FROM unnest(@next, @when) WITH ORDINALITY AS n(next, fires_when, ord)
        ON CONFLICT (schedule_id, next_schedule_id) DO UPDATE
        SET position = EXCLUDED.position, fires_when = EXCLUDED.fires_when,
            created_at = CASE WHEN c.fires_when = EXCLUDED.fires_when THEN c.created_at ELSE EXCLUDED.created_at END;
        """;

    /// <summary>Loads <paramref name="schedule"/>'s continuations into it (tracked, so a later save of the context leaves them be).</summary>
    public Task LoadAsync(Schedule schedule, CancellationToken cancellationToken) =>
        db.Entry(schedule).Collection(s => s.Continuations).LoadAsync(cancellationToken);
}
