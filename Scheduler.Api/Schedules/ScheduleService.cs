using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Scheduler.Api.Security;
using Scheduler.Api.Targets;
using Scheduler.Api.Validation;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Observability;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Schedules;

/// <summary>Which contract a schedule came through (<c>api</c> or a seed adapter), and what that contract calls it.</summary>
/// <param name="Source">api, callme, tasks, celery or frappe.</param>
/// <param name="ExternalKey">The adapter's own key (a callme name@time, a task name).</param>
/// <param name="ExternalData">The adapter's own fields that have no place in the model, as JSON.</param>
internal sealed record ScheduleOrigin(string Source, string? ExternalKey = null, string? ExternalData = null)
{
    public static readonly ScheduleOrigin Api = new("api");
}

/// <summary>
/// Schedules: what to call and when. The one place a schedule is created, changed, paused, resumed,
/// triggered or deleted — the native endpoints (<c>SchedulesApi</c>) and every seed adapter call it. Every
/// change is committed before it returns and wakes the dispatchers; an IMMEDIATE schedule or a trigger
/// commits its run and hands it to Hangfire at once. The API never makes the call itself.
/// </summary>
internal sealed class ScheduleService(
    SchedulerDbContext db,
    RunHandOff handOff,
    ScheduleWriter writer,
    ScheduleQuota quota,
    TargetValidation targets,
    ScheduleSettings settings,
    ScheduleContinuations continuations,
    TimeProvider time,
    IOptions<LimitsOptions> limits,
    IOptions<SchedulingOptions> scheduling,
    SchedulerMetrics metrics,
    ILogger<ScheduleService> logger)
{
    /// <summary>
    /// Creates a schedule exactly as POST /schedules does — the one path for the API and every seed
    /// adapter. Returns the committed schedule, or the validation errors and nothing written.
    /// <paramref name="user"/>'s key is the one whose quota the schedule counts against.
    /// </summary>
    public Task<(Schedule? Schedule, ValidationErrors Errors)> CreateAsync(
        ScheduleRequest request, ScheduleOrigin origin, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        CreateAsync(request, origin, user, quota, writer, announce: true, cancellationToken);

    /// <summary>
    /// Walks <see cref="CreateAsync(ScheduleRequest, ScheduleOrigin, ClaimsPrincipal, CancellationToken)"/>'s path for
    /// <paramref name="request"/> without writing to Scheduler's database. Given <paramref name="elsewhere"/> (the
    /// warm-up's own database, <see cref="Hosting.RehearsalWriter"/>), it is the create's own code, committed there
    /// with the hand-off to that database's Hangfire and counted by a quota on that database, not logged. Without it,
    /// validation, the schedule and its run, and the insert, rolled back, or only made ready when
    /// <paramref name="execute"/> is false (<see cref="ScheduleWriter.RehearseAsync"/>), and no quota taken. Nothing
    /// reaches Scheduler's Hangfire or dispatchers. Returns the schedule as it would have been answered, or the errors.
    /// </summary>
    public async Task<(Schedule? Schedule, ValidationErrors Errors)> RehearseCreateAsync(
        ScheduleRequest request, ClaimsPrincipal user, bool execute, Hosting.RehearsalWriter? elsewhere, CancellationToken cancellationToken)
    {
        if (elsewhere is not null)
        {
            return await CreateAsync(request, ScheduleOrigin.Api, user, elsewhere.Quota, elsewhere.Writer, announce: false, cancellationToken);
        }
        var errors = new ValidationErrors();
        var (schedule, runs) = await PrepareAsync(request, ScheduleOrigin.Api, user, time.GetUtcNow(), errors, cancellationToken);
        if (errors.Any)
        {
            return (null, errors);
        }
        await writer.RehearseAsync([schedule], runs, execute, cancellationToken);
        return (schedule, errors);
    }

    /// <summary>The create: validated, then committed by <paramref name="into"/> within <paramref name="within"/>'s quota.</summary>
    private async Task<(Schedule? Schedule, ValidationErrors Errors)> CreateAsync(
        ScheduleRequest request, ScheduleOrigin origin, ClaimsPrincipal user, ScheduleQuota within, ScheduleWriter into, bool announce,
        CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var (schedule, runs) = await PrepareAsync(request, origin, user, time.GetUtcNow(), errors, cancellationToken);
        if (errors.Any)
        {
            return (null, errors);
        }
        // Committed when this returns (the request is acknowledged from here); the run is then handed to
        // Hangfire in the background, and if that fails it stays PENDING without a job for reconciliation.
        await SaveWithinQuotaAsync(user, [schedule], runs, within, into, cancellationToken);
        if (announce)
        {
            Log.ScheduleCreated(logger, schedule.Id, WireName.Of(schedule.Type), schedule.NextRunAt);
        }
        return (schedule, errors);
    }

    /// <summary>
    /// Creates many schedules in one transaction, as POST /schedules/bulk does: all of them, or none and the
    /// errors, each field named <c>schedules[i].field</c>.
    /// </summary>
    public async Task<(List<Schedule>? Schedules, ValidationErrors Errors)> CreateManyAsync(
        IReadOnlyList<ScheduleRequest?>? items, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var max = limits.Value.MaxBulkSchedules;
        if (items is not { Count: > 0 })
        {
            errors.Add("schedules", "give at least one schedule.");
            return (null, errors);
        }
        if (items.Count > max)
        {
            errors.Add("schedules", $"at most {max} schedules per request (Limits:MaxBulkSchedules); got {items.Count}.");
            return (null, errors);
        }
        var now = time.GetUtcNow();
        var schedules = new List<Schedule>(items.Count);
        var runs = new List<Run>();
        for (var i = 0; i < items.Count; i++)
        {
            // JSON null passes deserialisation as an element of the list.
            if (items[i] is not { } item)
            {
                errors.Add($"schedules[{i}]", "must be a schedule object, not null.");
                continue;
            }
            var itemErrors = new ValidationErrors();
            var (schedule, itemRuns) = await PrepareAsync(item, ScheduleOrigin.Api, user, now, itemErrors, cancellationToken);
            errors.AddAll(itemErrors, $"schedules[{i}].");
            schedules.Add(schedule);
            runs.AddRange(itemRuns);
        }
        if (errors.Any)
        {
            return (null, errors);
        }
        // One transaction for all of them: a failure leaves none written.
        await SaveWithinQuotaAsync(user, schedules, runs, quota, writer, cancellationToken);
        Log.SchedulesCreated(logger, schedules.Count, schedules[0].Id, schedules[^1].Id);
        return (schedules, errors);
    }

    /// <summary>Live schedules with their targets, by id after <paramref name="after"/>.</summary>
    public Task<List<Schedule>> ListAsync(long after, int skip, int take, CancellationToken cancellationToken) =>
        db.Schedules.AsNoTracking().Include(s => s.Target).Include(s => s.Continuations)
            .Where(s => s.DeletedAt == null && s.Id > after).OrderBy(s => s.Id)
            .Skip(skip).Take(take).ToListAsync(cancellationToken);

    /// <summary>A live schedule with its target, or null.</summary>
    public Task<Schedule?> GetAsync(long id, CancellationToken cancellationToken) =>
        db.Schedules.AsNoTracking().Include(s => s.Target).Include(s => s.Continuations).FirstOrDefaultAsync(s => s.Id == id && s.DeletedAt == null, cancellationToken);

    /// <summary>
    /// Changes a schedule as PUT /schedules/{id} does (absent fields keep their values), and lets an
    /// adapter <paramref name="amend"/> its own fields in the same transaction. Returns the
    /// schedule, or the errors and nothing written, or neither when there is no such schedule.
    /// An adapter that changes several schedules at once opens the transaction itself, and commits it.
    /// </summary>
    public async Task<(Schedule? Schedule, ValidationErrors? Errors)> UpdateAsync(
        long id, ScheduleRequest request, ClaimsPrincipal user, Action<Schedule>? amend, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var transaction = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
        var schedule = await LockAsync(id, cancellationToken);
        if (schedule is null)
        {
            return (null, null);
        }
        // An adapter's own fields (its key, its data) change with the schedule, in the same transaction.
        amend?.Invoke(schedule);
        var now = time.GetUtcNow();
        var errors = new ValidationErrors();
        ApplyName(request, schedule, errors);
        await ApplyWhatAsync(request, schedule, now, isNew: false, errors, cancellationToken);
        string?[] callbacksBefore = [schedule.CallbackUrl, schedule.ErrorCallbackUrl];
        settings.Apply(request, schedule, errors);
        if (SecretDestinations.Moved(callbacksBefore, [schedule.CallbackUrl, schedule.ErrorCallbackUrl]))
        {
            var dropped = new List<string>();
            schedule.CallbackHeaders = SecretDestinations.WithoutUnsentSecrets(schedule.CallbackHeaders, request.CallbackHeaders, dropped);
            if (dropped.Count > 0)
            {
                Log.SecretsDropped(logger, "Schedule", id, string.Join(", ", dropped));
            }
        }
        var timingChanged = request.ScheduleType is not null || request.RunAt is not null || request.IntervalSeconds is not null
                            || request.DurationSeconds is not null || request.StartAt is not null || request.EndAt is not null
                            || request.CronExpression is not null || request.TimeZone is not null;
        var next = ScheduleTiming.Apply(request, schedule, isNew: false, now, scheduling.Value, errors);
        var newContinuations = await continuations.ValidateAsync(request.Continuations, now, errors, cancellationToken);
        if (newContinuations is not null && !errors.Any)
        {
            // Under a lock held to the commit: a concurrent write cannot close the other half of a cycle.
            await continuations.CheckCyclesAsync(id, newContinuations, errors, cancellationToken);
        }
        if (errors.Any)
        {
            return (null, errors);
        }
        if (timingChanged && schedule.Type != ScheduleType.Immediate)
        {
            schedule.NextRunAt = next;
            // New timing revives a schedule that had run its course (a closed window, a completed ONCE).
            if (schedule.Status is ScheduleStatus.Stopped or ScheduleStatus.Completed && next is not null)
            {
                // It can run again, so it counts against its key's quota again.
                await quota.ReserveAsync(schedule.CreatedBy ?? ScheduleQuota.OwnerOf(user), 1, cancellationToken);
                schedule.Status = ScheduleStatus.Active;
            }
        }
        schedule.UpdatedAt = now;
        await SaveAndWakeDispatchersAsync(schedule, cancellationToken);
        if (newContinuations is not null)
        {
            await continuations.ReplaceAsync(id, newContinuations, now, cancellationToken);
        }
        if (transaction is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return (await ReloadAsync(schedule, cancellationToken), null);
    }

    /// <summary>Deletes a schedule as DELETE /schedules/{id} does; false when there is no such schedule.</summary>
    public async Task<bool> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var schedule = await LockAsync(id, cancellationToken);
        if (schedule is null)
        {
            return false;
        }
        var now = time.GetUtcNow();
        schedule.DeletedAt = schedule.UpdatedAt = now;
        schedule.NextRunAt = null;
        await db.SaveChangesAsync(cancellationToken);
        // Runs not yet started will not start; running ones finish and are recorded.
        var remark = $"Cancelled: schedule {id} was deleted at {now:O}.";
        var cancelled = await db.Database.ExecuteSqlRawAsync(CancelPendingRunsSql,
            [new NpgsqlParameter<DateTimeOffset>("now", now), new NpgsqlParameter<string>("remark", remark), new NpgsqlParameter<long>("id", id)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.RunCompleted(RunStatus.Cancelled, schedule.Type, cancelled);
        quota.Forget(schedule.CreatedBy);
        return true;
    }

    private static readonly string CancelPendingRunsSql = $"""
        UPDATE scheduler.runs
        SET status = {Sql.Literal(RunStatus.Cancelled)}, completed_at = @now, updated_at = @now, {RunStatements.AppendRemark("@remark")}
        WHERE schedule_id = @id AND status = {Sql.Literal(RunStatus.Pending)}
        """;

    /// <summary>Pauses an ACTIVE schedule: the schedule, or the error (another status), or neither when there is no such schedule.</summary>
    public Task<(Schedule? Schedule, ValidationErrors? Errors)> PauseAsync(long id, CancellationToken cancellationToken) =>
        ChangeStatusAsync(id, ScheduleStatus.Active, ScheduleStatus.Paused, cancellationToken);

    /// <summary>Resumes a PAUSED schedule from its next occurrence after now; results as <see cref="PauseAsync"/>.</summary>
    public Task<(Schedule? Schedule, ValidationErrors? Errors)> ResumeAsync(long id, CancellationToken cancellationToken) =>
        ChangeStatusAsync(id, ScheduleStatus.Paused, ScheduleStatus.Active, cancellationToken);

    /// <summary>Commits a manual run of a live schedule, due now, and hands it to Hangfire; null when there is no such schedule.</summary>
    public async Task<Run?> TriggerAsync(long id, CancellationToken cancellationToken)
    {
        if (!await db.Schedules.AnyAsync(s => s.Id == id && s.DeletedAt == null, cancellationToken))
        {
            return null;
        }
        var now = time.GetUtcNow();
        var run = new Run
        {
            ScheduleId = id,
            DueAt = RunAtParser.TruncateToMicroseconds(now),
            Trigger = RunTrigger.Manual,
            CreatedAt = now,
            UpdatedAt = now,
            // The run's attempts continue the trigger's request (the API's, or the dashboard's button).
            TraceParent = SchedulerTracing.CurrentTraceParent(),
        };
        db.Runs.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        // In the background: the request does not wait for the job, and runs committed together share one.
        // If the process dies first, the run stays PENDING without a job and reconciliation enqueues it.
        handOff.Post(new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt));
        return run;
    }

    /// <summary>
    /// Commits new schedules through <paramref name="into"/> (<see cref="ScheduleWriter.SaveAsync"/>), after taking room
    /// for them in their key's quota, <paramref name="within"/> (<c>Limits:MaxActiveSchedulesPerKey</c>; above it
    /// <see cref="ScheduleQuotaExceededException"/>, a 409).
    /// </summary>
    private static async Task SaveWithinQuotaAsync(
        ClaimsPrincipal user, List<Schedule> schedules, IReadOnlyList<Run> runs, ScheduleQuota within, ScheduleWriter into, CancellationToken cancellationToken)
    {
        var owner = ScheduleQuota.OwnerOf(user);
        await within.ReserveAsync(owner, schedules.Count, cancellationToken);
        try
        {
            await into.SaveAsync(schedules, runs);
        }
        catch
        {
            within.Release(owner, schedules.Count);
            throw;
        }
    }

    /// <summary>
    /// Validates a request into a new schedule (not yet saved) and, for IMMEDIATE, its run; the errors name
    /// each bad field. The dispatcher creates the runs of every other kind when they come due.
    /// </summary>
    private async Task<(Schedule Schedule, Run[] Runs)> PrepareAsync(
        ScheduleRequest request, ScheduleOrigin origin, ClaimsPrincipal user, DateTimeOffset now, ValidationErrors errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var schedule = new Schedule
        {
            Source = origin.Source, ExternalKey = origin.ExternalKey, ExternalData = origin.ExternalData, CreatedAt = now, UpdatedAt = now,
            CreatedBy = ScheduleQuota.OwnerOf(user),
        };
        ApplyName(request, schedule, errors);
        await ApplyWhatAsync(request, schedule, now, isNew: true, errors, cancellationToken);
        settings.Apply(request, schedule, errors);
        // Inserted with the schedule (ScheduleWriter); nothing names a new schedule yet, so no cycle to check.
        schedule.Continuations = await continuations.ValidateAsync(request.Continuations, now, errors, cancellationToken) ?? [];
        var first = ScheduleTiming.Apply(request, schedule, isNew: true, now, scheduling.Value, errors);
        if (errors.Any)
        {
            return (schedule, []);
        }
        if (schedule.Type == ScheduleType.Immediate)
        {
            return (schedule, [new Run { Schedule = schedule, DueAt = first!.Value, Trigger = RunTrigger.Immediate, CreatedAt = now, UpdatedAt = now }]);
        }
        schedule.NextRunAt = first;
        return (schedule, []);
    }

    private async Task<(Schedule? Schedule, ValidationErrors? Errors)> ChangeStatusAsync(
        long id, ScheduleStatus from, ScheduleStatus to, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var schedule = await LockAsync(id, cancellationToken);
        if (schedule is null)
        {
            return (null, null);
        }
        if (schedule.Status != from)
        {
            var verb = to == ScheduleStatus.Paused ? "paused" : "resumed";
            var errors = new ValidationErrors();
            errors.Add("status", $"Schedule {id} is {WireName.Of(schedule.Status)}; only {WireName.Of(from)} schedules can be {verb}.");
            return (null, errors);
        }
        var now = time.GetUtcNow();
        schedule.Status = to;
        schedule.UpdatedAt = now;
        if (to == ScheduleStatus.Active && schedule.Type != ScheduleType.Once)
        {
            // Occurrences that fell while paused are not missed: the schedule goes on from now.
            schedule.NextRunAt = Occurrences.NextAtOrAfter(schedule, now);
            if (schedule.NextRunAt is null)
            {
                schedule.Status = ScheduleStatus.Stopped;
            }
        }
        await SaveAndWakeDispatchersAsync(schedule, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (await ReloadAsync(schedule, cancellationToken), null);
    }

    private static void ApplyName(ScheduleRequest request, Schedule schedule, ValidationErrors errors)
    {
        if (request.Name is null)
        {
            return;
        }
        schedule.Name = request.Name.Trim();
        if (schedule.Name.Length > TargetValidation.MaxNameLength)
        {
            errors.Add("name", $"must be at most {TargetValidation.MaxNameLength} characters.");
        }
        else if (FreeText.HasControlCharacters(schedule.Name))
        {
            errors.Add("name", FreeText.Rule);
        }
    }

    /// <summary>What the schedule runs: an existing target, an inline one, or a named job (exactly one).</summary>
    private async Task ApplyWhatAsync(
        ScheduleRequest request, Schedule schedule, DateTimeOffset now, bool isNew, ValidationErrors errors, CancellationToken cancellationToken)
    {
        var given = new[] { request.TargetId is not null, request.Target is not null, request.JobName is not null }.Count(g => g);
        if (given > 1)
        {
            errors.Add(request.JobName is not null ? "job_name" : "target", "give one of target_id, target or job_name.");
            return;
        }
        if (request.Args is { } args && request.JobName is null && schedule.JobName is null)
        {
            errors.Add("args", "applies to named jobs only (give job_name).");
        }
        if (given == 0)
        {
            if (isNew)
            {
                errors.Add("target_id", "give target_id (an existing target), target (an inline target object) or job_name (a named job).");
            }
            else if (request.Args is { } newArgs && schedule.JobName is { } current)
            {
                var spec = await db.JobTypes.Where(j => j.Name == current).Select(j => j.ArgsSpec).FirstOrDefaultAsync(cancellationToken);
                SetArgs(schedule, newArgs, NamedJobArg.Deserialize(spec), errors);
            }
            return;
        }
        if (request.Target is { } inline)
        {
            var target = targets.Validate(inline, "target.", inline: true, errors);
            if (target is not null)
            {
                target.CreatedAt = target.UpdatedAt = now;
                (schedule.Target, schedule.TargetId, schedule.JobName, schedule.JobArgs) = (target, null, null, null);
            }
        }
        else if (request.TargetId is { } targetId)
        {
            if (await db.Targets.AnyAsync(t => t.Id == targetId && !t.Inline && t.DeletedAt == null, cancellationToken))
            {
                (schedule.Target, schedule.TargetId, schedule.JobName, schedule.JobArgs) = (null, targetId, null, null);
            }
            else
            {
                errors.Add("target_id", $"Target {targetId} not found.");
            }
        }
        else if (request.JobName is { } jobName)
        {
            if (await db.JobTypes.AsNoTracking().FirstOrDefaultAsync(j => j.Name == jobName, cancellationToken) is { } job)
            {
                (schedule.Target, schedule.TargetId, schedule.JobName) = (null, null, jobName);
                schedule.JobArgs = null;
                SetArgs(schedule, request.Args, NamedJobArg.Deserialize(job.ArgsSpec), errors);
            }
            else
            {
                var known = await db.JobTypes.OrderBy(j => j.Name).Select(j => j.Name).ToListAsync(cancellationToken);
                errors.Add("job_name", $"'{jobName}' is not a named job; known: {string.Join(", ", known)} (GET /jobs).");
            }
        }
    }

    /// <summary>The job's args, checked against the arguments it declares (<see cref="NamedJobArg"/>): types and bounds.</summary>
    private static void SetArgs(Schedule schedule, System.Text.Json.JsonElement? args, IReadOnlyList<NamedJobArg>? spec, ValidationErrors errors)
    {
        var before = errors.Count;
        foreach (var (field, message) in NamedJobArg.Check(schedule.JobName!, spec, args))
        {
            errors.Add(field, message);
        }
        if (args is null || errors.Count != before)
        {
            return;
        }
        var json = args.Value.GetRawText();
        if (json.Length > ScheduleSettings.MaxArgsLength)
        {
            errors.Add("args", $"must be at most {ScheduleSettings.MaxArgsLength} characters of JSON.");
            return;
        }
        schedule.JobArgs = json;
    }

    /// <summary>Loads the schedule row locked (the dispatcher skips it meanwhile), or null if it does not exist.</summary>
    private async Task<Schedule?> LockAsync(long id, CancellationToken cancellationToken) =>
        (await db.Schedules.FromSql($"SELECT *, xmin FROM scheduler.schedules WHERE id = {id} AND deleted_at IS NULL FOR UPDATE")
            .ToListAsync(cancellationToken)).SingleOrDefault();

    private async Task<Schedule> ReloadAsync(Schedule schedule, CancellationToken cancellationToken)
    {
        if (schedule.TargetId is { } targetId && schedule.Target is null)
        {
            schedule.Target = await db.Targets.AsNoTracking().FirstOrDefaultAsync(t => t.Id == targetId, cancellationToken);
        }
        await continuations.LoadAsync(schedule, cancellationToken);
        return schedule;
    }

    private async Task SaveAndWakeDispatchersAsync(Schedule schedule, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken);
        // Delivered when the transaction commits (at once outside one); only a schedule that will be
        // dispatched soon needs the dispatchers' attention (DispatchSignal.Horizon).
        if (schedule is { Status: ScheduleStatus.Active, DeletedAt: null, NextRunAt: { } next } && DispatchSignal.Needed(next, time.GetUtcNow()))
        {
            await db.Database.ExecuteSqlRawAsync(DispatchSignal.NotifySql, [DispatchSignal.Payload(next)], cancellationToken);
        }
    }
}
