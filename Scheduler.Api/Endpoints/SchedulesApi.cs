using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scheduler.Api.Contracts;
using Scheduler.Api.Security;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// Schedules: what to call and when (seed 001's API, with ONCE, CRON, policies and trigger-now). Every
/// change is committed before the answer and wakes the dispatchers; an IMMEDIATE schedule or a trigger
/// commits its run and hands it to Hangfire at once. The API never makes the call itself.
/// </summary>
public static class SchedulesApi
{
    public static IEndpointRouteBuilder MapSchedulesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/schedules").WithTags("Schedules");
        api.MapPost("", CreateSchedule).WithName("CreateSchedule")
            .WithSummary("Create a schedule: IMMEDIATE, ONCE, INTERVAL, WINDOW or CRON.");
        api.MapPost("/bulk", CreateSchedules).WithName("CreateSchedules")
            .WithSummary("Create many schedules in one request and one transaction: all of them, or none (400 names each bad field as schedules[i].field).");
        api.MapGet("", ListSchedules).WithName("ListSchedules")
            .WithSummary("List live schedules by id, limit at a time (default 100). With 'cursor' (empty for the first page) the answer is a page with next_cursor; without, a list and X-Next-Cursor.");
        api.MapGet("/{id:long}", GetSchedule).WithName("GetSchedule").WithSummary("Get a schedule.");
        api.MapPut("/{id:long}", UpdateSchedule).WithName("UpdateSchedule")
            .WithSummary("Change a schedule; fields not given keep their values. The next occurrence is recomputed. A callback URL at another origin drops the secret callback headers not given again.");
        api.MapDelete("/{id:long}", DeleteSchedule).WithName("DeleteSchedule")
            .WithSummary("Delete a schedule: its pending runs are CANCELLED, its history stays.");
        api.MapPost("/{id:long}/pause", PauseSchedule).WithName("PauseSchedule").WithSummary("Pause an ACTIVE schedule.");
        api.MapPost("/{id:long}/resume", ResumeSchedule).WithName("ResumeSchedule")
            .WithSummary("Resume a PAUSED schedule from its next occurrence after now.");
        api.MapPost("/{id:long}/trigger", TriggerSchedule).WithName("TriggerSchedule")
            .WithSummary("Run a schedule once now, outside its cadence.");
        return app;
    }

    public sealed record Services(
        SchedulerDbContext Db,
        RunEnqueuer Enqueuer,
        RunHandOff HandOff,
        ScheduleWriter Writer,
        ScheduleQuota Quota,
        ClaimsPrincipal User,
        TimeProvider Time,
        IOptions<ExecutionOptions> Execution,
        IOptions<SchedulingOptions> Scheduling,
        ILogger<Services> Logger);

    public static async Task<Results<Created<ScheduleResponse>, ValidationProblem>> CreateSchedule(
        ScheduleRequest request, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (schedule, errors) = await CreateAsync(request, services, new ScheduleOrigin("api"), cancellationToken);
        return schedule is null ? errors.ToProblem() : TypedResults.Created($"/schedules/{schedule.Id}", ScheduleResponse.From(schedule));
    }

    /// <summary>Which contract a schedule came through (<c>api</c> or a seed adapter), and what that contract calls it.</summary>
    /// <param name="Source">api, callme, tasks, celery or frappe.</param>
    /// <param name="ExternalKey">The adapter's own key (a callme name@time, a task name).</param>
    /// <param name="ExternalData">The adapter's own fields that have no place in the model, as JSON.</param>
    public sealed record ScheduleOrigin(string Source, string? ExternalKey = null, string? ExternalData = null);

    /// <summary>
    /// Creates a schedule exactly as POST /schedules does — the one path for the API and every seed
    /// adapter. Returns the committed schedule, or the validation errors and nothing written.
    /// </summary>
    internal static async Task<(Schedule? Schedule, ValidationErrors Errors)> CreateAsync(
        ScheduleRequest request, Services services, ScheduleOrigin origin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var errors = new ValidationErrors();
        var (schedule, runs) = await PrepareAsync(request, services, origin, services.Time.GetUtcNow(), errors, cancellationToken);
        if (errors.Any)
        {
            return (null, errors);
        }
        // Committed when this returns (the request is acknowledged from here); the run is then handed to
        // Hangfire in the background, and if that fails it stays PENDING without a job for reconciliation.
        await SaveWithinQuotaAsync(services, [schedule], runs, cancellationToken);
        Log.ScheduleCreated(services.Logger, schedule.Id, WireName.Of(schedule.Type), schedule.NextRunAt);
        return (schedule, errors);
    }

    public static async Task<Results<Created<BulkScheduleResponse>, ValidationProblem>> CreateSchedules(
        BulkScheduleRequest request, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(services);
        var max = LimitsOptions.Current.MaxBulkSchedules;
        if (request.Schedules is not { Count: > 0 } items)
        {
            return ValidationErrors.Problem("schedules", "give at least one schedule.");
        }
        if (items.Count > max)
        {
            return ValidationErrors.Problem("schedules", $"at most {max} schedules per request (Limits:MaxBulkSchedules); got {items.Count}.");
        }
        var now = services.Time.GetUtcNow();
        var errors = new ValidationErrors();
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
            var (schedule, itemRuns) = await PrepareAsync(item, services, new ScheduleOrigin("api"), now, itemErrors, cancellationToken);
            errors.AddAll(itemErrors, $"schedules[{i}].");
            schedules.Add(schedule);
            runs.AddRange(itemRuns);
        }
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        // One transaction for all of them: a failure leaves none written.
        await SaveWithinQuotaAsync(services, schedules, runs, cancellationToken);
        Log.SchedulesCreated(services.Logger, schedules.Count, schedules[0].Id, schedules[^1].Id);
        return TypedResults.Created("/schedules", new BulkScheduleResponse(schedules.Count, schedules.Select(ScheduleResponse.From).ToList()));
    }

    /// <summary>
    /// Commits new schedules as <see cref="ScheduleWriter.SaveAsync"/> does, after taking room for them in their
    /// key's quota (<c>Limits:MaxActiveSchedulesPerKey</c>; above it <see cref="ScheduleQuotaExceededException"/>, a 409).
    /// </summary>
    private static async Task SaveWithinQuotaAsync(Services services, List<Schedule> schedules, IReadOnlyList<Run> runs, CancellationToken cancellationToken)
    {
        var owner = ScheduleQuota.OwnerOf(services.User);
        await services.Quota.ReserveAsync(owner, schedules.Count, cancellationToken);
        try
        {
            await services.Writer.SaveAsync(schedules, runs);
        }
        catch
        {
            services.Quota.Release(owner, schedules.Count);
            throw;
        }
    }

    /// <summary>
    /// Validates a request into a new schedule (not yet saved) and, for IMMEDIATE, its run; the errors name
    /// each bad field. The dispatcher creates the runs of every other kind when they come due.
    /// </summary>
    private static async Task<(Schedule Schedule, Run[] Runs)> PrepareAsync(
        ScheduleRequest request, Services services, ScheduleOrigin origin, DateTimeOffset now, ValidationErrors errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var schedule = new Schedule
        {
            Source = origin.Source, ExternalKey = origin.ExternalKey, ExternalData = origin.ExternalData, CreatedAt = now, UpdatedAt = now,
            CreatedBy = ScheduleQuota.OwnerOf(services.User),
        };
        ApplyName(request, schedule, errors);
        await ApplyWhatAsync(request, schedule, services, now, isNew: true, errors, cancellationToken);
        ScheduleSettings.Apply(request, schedule, errors);
        var first = ScheduleTiming.Apply(request, schedule, isNew: true, now, services.Scheduling.Value, errors);
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

    public static async Task<Results<Ok<List<ScheduleResponse>>, Ok<Page<ScheduleResponse>>, ValidationProblem>> ListSchedules(
        [AsParameters] Paging.Query paging, SchedulerDbContext db, HttpResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paging);
        ArgumentNullException.ThrowIfNull(db);
        var errors = new ValidationErrors();
        var after = Paging.Check(paging.Skip, paging.Limit, paging.Cursor, keys: 1, errors)?[0] ?? 0;
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        var limit = Paging.LimitOf(paging.Limit);
        var schedules = await db.Schedules.AsNoTracking().Include(s => s.Target)
            .Where(s => s.DeletedAt == null && s.Id > after).OrderBy(s => s.Id)
            .Skip(paging.Skip ?? 0).Take(limit + 1).ToListAsync(cancellationToken);
        var (items, next) = Paging.Cut(schedules, limit, s => [s.Id], ScheduleResponse.From);
        return Paging.ListOrPage(items, next, paging.Cursor, response) is { } page ? TypedResults.Ok(page) : TypedResults.Ok(items);
    }

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> GetSchedule(long id, SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var schedule = await db.Schedules.AsNoTracking().Include(s => s.Target)
            .FirstOrDefaultAsync(s => s.Id == id && s.DeletedAt == null, cancellationToken);
        return schedule is null ? NotFound(id) : TypedResults.Ok(ScheduleResponse.From(schedule));
    }

    public static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> UpdateSchedule(
        long id, ScheduleRequest request, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        var (schedule, errors) = await UpdateAsync(id, request, services, null, cancellationToken);
        return schedule is not null ? TypedResults.Ok(ScheduleResponse.From(schedule))
            : errors is not null ? errors.ToProblem()
            : NotFound(id);
    }

    /// <summary>
    /// Changes a schedule as PUT /schedules/{id} does (absent fields keep their values), and lets an
    /// adapter <paramref name="amend"/> its own fields in the same transaction. Returns the
    /// schedule, or the errors and nothing written, or neither when there is no such schedule.
    /// An adapter that changes several schedules at once opens the transaction itself, and commits it.
    /// </summary>
    internal static async Task<(Schedule? Schedule, ValidationErrors? Errors)> UpdateAsync(
        long id, ScheduleRequest request, Services services, Action<Schedule>? amend, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(services);
        await using var transaction = services.Db.Database.CurrentTransaction is null ? await services.Db.Database.BeginTransactionAsync(cancellationToken) : null;
        var schedule = await LockAsync(services.Db, id, cancellationToken);
        if (schedule is null)
        {
            return (null, null);
        }
        // An adapter's own fields (its key, its data) change with the schedule, in the same transaction.
        amend?.Invoke(schedule);
        var now = services.Time.GetUtcNow();
        var errors = new ValidationErrors();
        ApplyName(request, schedule, errors);
        await ApplyWhatAsync(request, schedule, services, now, isNew: false, errors, cancellationToken);
        string?[] callbacksBefore = [schedule.CallbackUrl, schedule.ErrorCallbackUrl];
        ScheduleSettings.Apply(request, schedule, errors);
        if (SecretDestinations.Moved(callbacksBefore, [schedule.CallbackUrl, schedule.ErrorCallbackUrl]))
        {
            var dropped = new List<string>();
            schedule.CallbackHeaders = SecretDestinations.WithoutUnsentSecrets(schedule.CallbackHeaders, request.CallbackHeaders, dropped);
            if (dropped.Count > 0)
            {
                Log.SecretsDropped(services.Logger, "Schedule", id, string.Join(", ", dropped));
            }
        }
        var timingChanged = request.ScheduleType is not null || request.RunAt is not null || request.IntervalSeconds is not null
                            || request.DurationSeconds is not null || request.StartAt is not null || request.EndAt is not null
                            || request.CronExpression is not null || request.TimeZone is not null;
        var next = ScheduleTiming.Apply(request, schedule, isNew: false, now, services.Scheduling.Value, errors);
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
                await services.Quota.ReserveAsync(schedule.CreatedBy ?? ScheduleQuota.OwnerOf(services.User), 1, cancellationToken);
                schedule.Status = ScheduleStatus.Active;
            }
        }
        schedule.UpdatedAt = now;
        await SaveAndWakeDispatchersAsync(services.Db, schedule, cancellationToken);
        if (transaction is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        return (await ReloadAsync(services.Db, schedule, cancellationToken), null);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(long id, [AsParameters] Services services, CancellationToken cancellationToken) =>
        await DeleteAsync(id, services, cancellationToken) ? TypedResults.NoContent() : NotFound(id);

    /// <summary>Deletes a schedule as DELETE /schedules/{id} does; false when there is no such schedule.</summary>
    internal static async Task<bool> DeleteAsync(long id, Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        await using var transaction = await services.Db.Database.BeginTransactionAsync(cancellationToken);
        var schedule = await LockAsync(services.Db, id, cancellationToken);
        if (schedule is null)
        {
            return false;
        }
        var now = services.Time.GetUtcNow();
        schedule.DeletedAt = schedule.UpdatedAt = now;
        schedule.NextRunAt = null;
        await services.Db.SaveChangesAsync(cancellationToken);
        // Runs not yet started will not start; running ones finish and are recorded.
        var remark = $"Cancelled: schedule {id} was deleted at {now:O}.";
        await services.Db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE scheduler.runs
            SET status = 'CANCELLED', completed_at = {now}, updated_at = {now}, remarks = array_append(remarks, {remark})
            WHERE schedule_id = {id} AND status = 'PENDING'
            """, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        services.Quota.Forget(schedule.CreatedBy);
        return true;
    }

    public static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> PauseSchedule(
        long id, [AsParameters] Services services, CancellationToken cancellationToken) =>
        await ChangeStatusAsync(id, services, ScheduleStatus.Active, ScheduleStatus.Paused, cancellationToken);

    public static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> ResumeSchedule(
        long id, [AsParameters] Services services, CancellationToken cancellationToken) =>
        await ChangeStatusAsync(id, services, ScheduleStatus.Paused, ScheduleStatus.Active, cancellationToken);

    public static async Task<Results<Created<RunResponse>, ProblemHttpResult>> TriggerSchedule(
        long id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!await services.Db.Schedules.AnyAsync(s => s.Id == id && s.DeletedAt == null, cancellationToken))
        {
            return NotFound(id);
        }
        var now = services.Time.GetUtcNow();
        var run = new Run
        {
            ScheduleId = id,
            DueAt = RunAtParser.TruncateToMicroseconds(now),
            Trigger = RunTrigger.Manual,
            CreatedAt = now,
            UpdatedAt = now,
        };
        services.Db.Runs.Add(run);
        await services.Db.SaveChangesAsync(cancellationToken);
        EnqueueCommitted(services, run);
        return TypedResults.Created($"/runs/{run.Id}", RunResponse.From(run, withAttempts: false));
    }

    private static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> ChangeStatusAsync(
        long id, Services services, ScheduleStatus from, ScheduleStatus to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        await using var transaction = await services.Db.Database.BeginTransactionAsync(cancellationToken);
        var schedule = await LockAsync(services.Db, id, cancellationToken);
        if (schedule is null)
        {
            return NotFound(id);
        }
        if (schedule.Status != from)
        {
            var verb = to == ScheduleStatus.Paused ? "paused" : "resumed";
            return ValidationErrors.Problem("status", $"Schedule {id} is {WireName.Of(schedule.Status)}; only {WireName.Of(from)} schedules can be {verb}.");
        }
        var now = services.Time.GetUtcNow();
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
        await SaveAndWakeDispatchersAsync(services.Db, schedule, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.Ok(ScheduleResponse.From(await ReloadAsync(services.Db, schedule, cancellationToken)));
    }

    /// <summary>
    /// Hands a committed run to Hangfire, in the background: the request does not wait for the job, and runs
    /// committed together share one. If the process dies first, the run stays PENDING without a job and
    /// reconciliation enqueues it.
    /// </summary>
    private static void EnqueueCommitted(Services services, Run run) =>
        services.HandOff.Post(new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt));

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
    private static async Task ApplyWhatAsync(
        ScheduleRequest request, Schedule schedule, Services services, DateTimeOffset now, bool isNew, ValidationErrors errors, CancellationToken cancellationToken)
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
                var spec = await services.Db.JobTypes.Where(j => j.Name == current).Select(j => j.ArgsSpec).FirstOrDefaultAsync(cancellationToken);
                SetArgs(schedule, newArgs, NamedJobArg.Deserialize(spec), errors);
            }
            return;
        }
        if (request.Target is { } inline)
        {
            var target = TargetValidation.Validate(inline, "target.", inline: true, services.Execution.Value, errors);
            if (target is not null)
            {
                target.CreatedAt = target.UpdatedAt = now;
                (schedule.Target, schedule.TargetId, schedule.JobName, schedule.JobArgs) = (target, null, null, null);
            }
        }
        else if (request.TargetId is { } targetId)
        {
            if (await services.Db.Targets.AnyAsync(t => t.Id == targetId && !t.Inline && t.DeletedAt == null, cancellationToken))
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
            if (await services.Db.JobTypes.AsNoTracking().FirstOrDefaultAsync(j => j.Name == jobName, cancellationToken) is { } job)
            {
                (schedule.Target, schedule.TargetId, schedule.JobName) = (null, null, jobName);
                schedule.JobArgs = null;
                SetArgs(schedule, request.Args, NamedJobArg.Deserialize(job.ArgsSpec), errors);
            }
            else
            {
                var known = await services.Db.JobTypes.OrderBy(j => j.Name).Select(j => j.Name).ToListAsync(cancellationToken);
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
    private static async Task<Schedule?> LockAsync(SchedulerDbContext db, long id, CancellationToken cancellationToken) =>
        (await db.Schedules.FromSql($"SELECT *, xmin FROM scheduler.schedules WHERE id = {id} AND deleted_at IS NULL FOR UPDATE")
            .ToListAsync(cancellationToken)).SingleOrDefault();

    private static async Task<Schedule> ReloadAsync(SchedulerDbContext db, Schedule schedule, CancellationToken cancellationToken)
    {
        if (schedule.TargetId is { } targetId && schedule.Target is null)
        {
            schedule.Target = await db.Targets.AsNoTracking().FirstOrDefaultAsync(t => t.Id == targetId, cancellationToken);
        }
        return schedule;
    }

    private static async Task SaveAndWakeDispatchersAsync(SchedulerDbContext db, Schedule schedule, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken);
        // Delivered when the transaction commits (at once outside one); only a schedule that will be
        // dispatched needs the dispatchers' attention.
        if (schedule is { Status: ScheduleStatus.Active, DeletedAt: null, NextRunAt: { } next })
        {
            await db.Database.ExecuteSqlRawAsync(DispatchSignal.NotifySql, [DispatchSignal.Payload(next)], cancellationToken);
        }
    }

    private static ProblemHttpResult NotFound(long id) => Problems.NotFound($"Schedule {id} not found");
}
