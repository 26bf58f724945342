using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Scheduler.Api.Contracts;
using Scheduler.Core.Hosting;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;
using Scheduler.Core.Security;

namespace Scheduler.Api.Endpoints;

/// <summary>Targets: reusable HTTP endpoints, exactly as seed 001's API has them.</summary>
public static class TargetsApi
{
    public static IEndpointRouteBuilder MapTargetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/targets").WithTags("Targets");
        api.MapPost("", CreateTarget).WithName("CreateTarget").WithSummary("Create a target.");
        api.MapGet("", ListTargets).WithName("ListTargets")
            .WithSummary("List named targets by id, limit at a time (default 100). With 'cursor' (empty for the first page) the answer is a page with next_cursor; without, a list and X-Next-Cursor.");
        api.MapGet("/{id:long}", GetTarget).WithName("GetTarget").WithSummary("Get a target.");
        api.MapPut("/{id:long}", UpdateTarget).WithName("UpdateTarget")
            .WithSummary("Change a target; fields not given keep their values. Schedules using it call the new values. A url at another origin drops the secret headers and signing secret not given again.");
        api.MapDelete("/{id:long}", DeleteTarget).WithName("DeleteTarget")
            .WithSummary("Delete a target that no live schedule uses.");
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
        if (await NameTakenAsync(services.Db, target.Name!, null, cancellationToken))
        {
            return ValidationErrors.Problem("name", $"Target with name '{target.Name}' already exists.");
        }
        target.CreatedAt = target.UpdatedAt = services.Time.GetUtcNow();
        services.Db.Targets.Add(target);
        await services.Db.SaveChangesAsync(cancellationToken);
        Log.TargetCreated(services.Logger, target.Id, target.Name);
        return TypedResults.Created($"/targets/{target.Id}", TargetResponse.From(target));
    }

    public static async Task<Results<Ok<List<TargetResponse>>, Ok<Page<TargetResponse>>, ValidationProblem>> ListTargets(
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
        var targets = await Live(db).AsNoTracking().Where(t => !t.Inline && t.Id > after).OrderBy(t => t.Id)
            .Skip(paging.Skip ?? 0).Take(limit + 1).ToListAsync(cancellationToken);
        var (items, next) = Paging.Cut(targets, limit, t => [t.Id], TargetResponse.From);
        return Paging.ListOrPage(items, next, paging.Cursor, response) is { } page ? TypedResults.Ok(page) : TypedResults.Ok(items);
    }

    public static async Task<Results<Ok<TargetResponse>, ProblemHttpResult>> GetTarget(long id, SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var target = await Live(db).AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        return target is null ? NotFound(id) : TypedResults.Ok(TargetResponse.From(target));
    }

    public static async Task<Results<Ok<TargetResponse>, ValidationProblem, ProblemHttpResult>> UpdateTarget(
        long id, TargetRequest request, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(services);
        var target = await Live(services.Db).FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (target is null)
        {
            return NotFound(id);
        }
        // Validate the target as it will be: what is given replaces, what is not given stays.
        var merged = new TargetRequest(
            target.Inline ? null : request.Name ?? target.Name,
            request.Url ?? target.Url,
            request.Method ?? target.Method,
            request.Headers ?? target.Headers,
            request.BodyTemplate ?? (request.Body is null ? target.BodyTemplate : null),
            request.Body,
            request.TimeoutSeconds ?? target.TimeoutSeconds,
            request.SigningSecret ?? target.SigningSecret);
        var errors = new ValidationErrors();
        if (target.Inline && request.Name is not null)
        {
            errors.Add("name", "inline targets have no name.");
        }
        var updated = TargetValidation.Validate(merged, "", target.Inline, services.Execution.Value, errors, sent: request);
        if (updated is null || errors.Any)
        {
            return errors.ToProblem();
        }
        if (updated.Name is not null && await NameTakenAsync(services.Db, updated.Name, id, cancellationToken))
        {
            return ValidationErrors.Problem("name", $"Target with name '{updated.Name}' already exists.");
        }
        if (SecretDestinations.Moved([target.Url], [updated.Url]))
        {
            var dropped = new List<string>();
            updated.Headers = SecretDestinations.WithoutUnsentSecrets(updated.Headers, request.Headers, dropped);
            if (updated.SigningSecret is not null && request.SigningSecret is null or SecretProtector.Masked)
            {
                updated.SigningSecret = null;
                dropped.Add("signing_secret");
            }
            if (dropped.Count > 0)
            {
                Log.SecretsDropped(services.Logger, "Target", id, string.Join(", ", dropped));
            }
        }
        (target.Name, target.Url, target.Method, target.Headers, target.BodyTemplate, target.TimeoutSeconds, target.SigningSecret) =
            (updated.Name, updated.Url, updated.Method, updated.Headers, updated.BodyTemplate, updated.TimeoutSeconds, updated.SigningSecret);
        target.UpdatedAt = services.Time.GetUtcNow();
        await services.Db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(TargetResponse.From(target));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTarget(long id, [AsParameters] Services services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var target = await Live(services.Db).FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (target is null)
        {
            return NotFound(id);
        }
        var users = await services.Db.Schedules.Where(s => s.TargetId == id && s.DeletedAt == null)
            .OrderBy(s => s.Id).Select(s => s.Id).Take(20).ToListAsync(cancellationToken);
        if (users.Count > 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The target is in use.",
                detail: $"Target {id} is used by schedule(s) {string.Join(", ", users)}; delete or change them first.");
        }
        target.DeletedAt = target.UpdatedAt = services.Time.GetUtcNow();
        await services.Db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static IQueryable<Target> Live(SchedulerDbContext db) => db.Targets.Where(t => t.DeletedAt == null);

    private static Task<bool> NameTakenAsync(SchedulerDbContext db, string name, long? except, CancellationToken cancellationToken) =>
        Live(db).AnyAsync(t => t.Name == name && t.Id != except, cancellationToken);

    private static ProblemHttpResult NotFound(long id) => Problems.NotFound($"Target {id} not found");
}
