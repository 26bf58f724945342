using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scheduler.Api.Contracts;
using Scheduler.Core.Hosting;
using Scheduler.Core.Persistence;

namespace Scheduler.Api.Endpoints;

/// <summary>Targets: reusable HTTP endpoints (seed 001).</summary>
public static class TargetsApi
{
    public static IEndpointRouteBuilder MapTargetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/targets").WithTags("Targets");
        api.MapPost("", CreateTarget).WithName("CreateTarget").WithSummary("Create a target.");
        api.MapGet("", ListTargets).WithName("ListTargets").WithSummary("List named targets.");
        api.MapGet("/{id:long}", GetTarget).WithName("GetTarget").WithSummary("Get a target.");
        return app;
    }

    public sealed record Services(SchedulerDbContext Db, TimeProvider Time, IOptions<ExecutionOptions> Execution, ILogger<Services> Logger);

    public static async Task<Results<Created<TargetResponse>, ValidationProblem>> CreateTarget(
        TargetRequest request, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(services);
        var errors = new ValidationErrors();
        var target = TargetValidation.Validate(request, "", inline: false, services.Execution.Value, errors);
        if (target is null)
        {
            return errors.ToProblem();
        }
        if (await services.Db.Targets.AnyAsync(t => t.Name == target.Name, cancellationToken))
        {
            return ValidationErrors.Problem("name", $"Target with name '{target.Name}' already exists.");
        }
        target.CreatedAt = target.UpdatedAt = services.Time.GetUtcNow();
        services.Db.Targets.Add(target);
        await services.Db.SaveChangesAsync(cancellationToken);
        Log.TargetCreated(services.Logger, target.Id, target.Name);
        return TypedResults.Created($"/targets/{target.Id}", TargetResponse.From(target));
    }

    public static async Task<Ok<List<TargetResponse>>> ListTargets(SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var targets = await db.Targets.AsNoTracking().Where(t => !t.Inline).OrderBy(t => t.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(targets.Select(TargetResponse.From).ToList());
    }

    public static async Task<Results<Ok<TargetResponse>, ProblemHttpResult>> GetTarget(long id, SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var target = await db.Targets.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        return target is null ? Problems.NotFound($"Target {id} not found") : TypedResults.Ok(TargetResponse.From(target));
    }
}
