using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scheduler.Api.Contracts;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// Schedules: what to call and when. Creating one commits the schedule and its first run in one
/// transaction, then hands the run to Hangfire; the API never makes the call itself.
/// </summary>
public static class SchedulesApi
{
    /// <summary>The kinds this version accepts; the others are recognised and refused with a clear message.</summary>
    public static readonly ScheduleType[] SupportedTypes = [ScheduleType.Immediate, ScheduleType.Once];

    public static IEndpointRouteBuilder MapSchedulesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/schedules").WithTags("Schedules");
        api.MapPost("", CreateSchedule).WithName("CreateSchedule")
            .WithSummary("Create a schedule: call a target now (IMMEDIATE) or at a time (ONCE).");
        api.MapGet("", ListSchedules).WithName("ListSchedules").WithSummary("List schedules.");
        api.MapGet("/{id:long}", GetSchedule).WithName("GetSchedule").WithSummary("Get a schedule.");
        return app;
    }

    public sealed record Services(
        SchedulerDbContext Db,
        RunEnqueuer Enqueuer,
        TimeProvider Time,
        IOptions<ExecutionOptions> Execution,
        ILogger<Services> Logger);

    public static async Task<Results<Created<ScheduleResponse>, ValidationProblem>> CreateSchedule(
        ScheduleRequest request, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(services);
        var now = services.Time.GetUtcNow();
        var errors = new ValidationErrors();
        var schedule = new Schedule { Name = request.Name?.Trim(), Source = "api", CreatedAt = now, UpdatedAt = now };
        if (schedule.Name is { Length: > TargetValidation.MaxNameLength })
        {
            errors.Add("name", $"must be at most {TargetValidation.MaxNameLength} characters.");
        }

        await ResolveTargetAsync(request, schedule, services, now, errors, cancellationToken);
        var dueAt = ResolveTiming(request, schedule, now, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var run = new Run
        {
            Schedule = schedule,
            DueAt = dueAt!.Value,
            Trigger = schedule.Type == ScheduleType.Immediate ? RunTrigger.Immediate : RunTrigger.Scheduled,
            CreatedAt = now,
            UpdatedAt = now,
        };
        schedule.NextRunAt = run.DueAt;
        services.Db.Runs.Add(run);
        await services.Db.SaveChangesAsync(cancellationToken);

        // The schedule and its run are committed: from here on the request is acknowledged. If handing
        // the run to Hangfire fails, the run stays PENDING without a job for reconciliation to enqueue.
        var jobId = await services.Enqueuer.EnqueueAsync(run, cancellationToken);
        Log.ScheduleCreated(services.Logger, schedule.Id, WireName.Of(schedule.Type), run.Id, run.DueAt, jobId);
        return TypedResults.Created($"/schedules/{schedule.Id}", ScheduleResponse.From(schedule));
    }

    public static async Task<Ok<List<ScheduleResponse>>> ListSchedules(SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var schedules = await db.Schedules.AsNoTracking().Include(s => s.Target).OrderBy(s => s.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(schedules.Select(ScheduleResponse.From).ToList());
    }

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> GetSchedule(long id, SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var schedule = await db.Schedules.AsNoTracking().Include(s => s.Target).FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        return schedule is null ? Problems.NotFound($"Schedule {id} not found") : TypedResults.Ok(ScheduleResponse.From(schedule));
    }

    private static async Task ResolveTargetAsync(
        ScheduleRequest request, Schedule schedule, Services services, DateTimeOffset now, ValidationErrors errors, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case { TargetId: null, Target: null }:
                errors.Add("target_id", "give target_id (an existing target) or target (an inline target object).");
                break;
            case { TargetId: not null, Target: not null }:
                errors.Add("target", "give target_id or target, not both.");
                break;
            case { Target: { } inline }:
                var target = TargetValidation.Validate(inline, "target.", inline: true, services.Execution.Value, errors);
                if (target is not null)
                {
                    target.CreatedAt = target.UpdatedAt = now;
                    schedule.Target = target;
                }
                break;
            case { TargetId: { } targetId }:
                if (await services.Db.Targets.AnyAsync(t => t.Id == targetId && !t.Inline, cancellationToken))
                {
                    schedule.TargetId = targetId;
                }
                else
                {
                    errors.Add("target_id", $"Target {targetId} not found.");
                }
                break;
        }
    }

    /// <summary>Sets the schedule's kind and returns when its first run is due.</summary>
    private static DateTimeOffset? ResolveTiming(ScheduleRequest request, Schedule schedule, DateTimeOffset now, ValidationErrors errors)
    {
        var supported = string.Join(", ", SupportedTypes.Select(WireName.Of));
        if (string.IsNullOrWhiteSpace(request.ScheduleType))
        {
            errors.Add("schedule_type", $"is required: one of {supported}.");
            return null;
        }
        if (!WireName.TryParse<ScheduleType>(request.ScheduleType.Trim(), out var type))
        {
            errors.Add("schedule_type", $"'{request.ScheduleType}' is not a schedule type: use one of {supported}.");
            return null;
        }
        if (!SupportedTypes.Contains(type))
        {
            errors.Add("schedule_type", $"{WireName.Of(type)} schedules are not available in this version: use one of {supported}.");
            return null;
        }
        schedule.Type = type;

        if (type == ScheduleType.Immediate)
        {
            if (request.RunAt is not null)
            {
                errors.Add("run_at", "applies to ONCE schedules only; an IMMEDIATE schedule runs now.");
            }
            return RunAtParser.TruncateToMicroseconds(now);
        }

        if (request.RunAt is not { } runAtJson)
        {
            errors.Add("run_at", "is required for ONCE schedules: an ISO-8601 time, Unix seconds, or a relative time such as '+90s'.");
            return null;
        }
        var (runAt, error) = RunAtParser.Parse(runAtJson, now);
        if (error is not null)
        {
            errors.Add("run_at", error);
            return null;
        }
        if (runAt < now)
        {
            errors.Add("run_at", $"{runAt:O} is in the past (now is {now:O}); use IMMEDIATE to run now.");
            return null;
        }
        schedule.RunAt = runAt;
        return runAt;
    }
}
