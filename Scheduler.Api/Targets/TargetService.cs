using Microsoft.EntityFrameworkCore;
using Scheduler.Api.Security;
using Scheduler.Api.Validation;
using Scheduler.Core.Security;

namespace Scheduler.Api.Targets;

/// <summary>What became of a delete: whether the target existed, and the live schedules (up to 20) that still use it.</summary>
internal sealed record TargetDeletion(bool Found, IReadOnlyList<long> UsedBy)
{
    public bool Deleted => Found && UsedBy.Count == 0;
}

/// <summary>
/// Targets: reusable HTTP endpoints, exactly as seed 001's API has them. The one place a named target is
/// created, changed or deleted; <c>TargetsApi</c> maps HTTP to it.
/// </summary>
internal sealed class TargetService(SchedulerDbContext db, TargetValidation validation, TimeProvider time, ILogger<TargetService> logger)
{
    /// <summary>Validates and commits a named target; the target, or the errors and nothing written.</summary>
    public async Task<(Target? Target, ValidationErrors Errors)> CreateAsync(TargetRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new ValidationErrors();
        var target = validation.Validate(request, "", inline: false, errors);
        if (target is null)
        {
            return (null, errors);
        }
        if (await NameTakenAsync(target.Name!, null, cancellationToken))
        {
            errors.Add("name", $"Target with name '{target.Name}' already exists.");
            return (null, errors);
        }
        target.CreatedAt = target.UpdatedAt = time.GetUtcNow();
        db.Targets.Add(target);
        await db.SaveChangesAsync(cancellationToken);
        Log.TargetCreated(logger, target.Id, target.Name);
        return (target, errors);
    }

    /// <summary>Live named targets by id after <paramref name="after"/>.</summary>
    public Task<List<Target>> ListAsync(long after, int skip, int take, CancellationToken cancellationToken) =>
        Live().AsNoTracking().Where(t => !t.Inline && t.Id > after).OrderBy(t => t.Id)
            .Skip(skip).Take(take).ToListAsync(cancellationToken);

    /// <summary>A live target, or null.</summary>
    public Task<Target?> GetAsync(long id, CancellationToken cancellationToken) =>
        Live().AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);

    /// <summary>
    /// Changes a target (fields not given keep their values): the target, or the errors and nothing written,
    /// or neither when there is no such target. A url at another origin drops the secrets not given again.
    /// </summary>
    public async Task<(Target? Target, ValidationErrors? Errors)> UpdateAsync(long id, TargetRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = await Live().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (target is null)
        {
            return (null, null);
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
            request.SigningSecret ?? target.SigningSecret,
            request.RateLimitPerSecond ?? target.RateLimitPerSecond,
            request.MaxConcurrency ?? target.MaxConcurrency,
            request.Completion ?? WireName.Of(target.Completion),
            request.CompletionTimeoutSeconds ?? target.CompletionTimeoutSeconds);
        var errors = new ValidationErrors();
        if (target.Inline && request.Name is not null)
        {
            errors.Add("name", "inline targets have no name.");
        }
        var updated = validation.Validate(merged, "", target.Inline, errors, sent: request);
        if (updated is null || errors.Any)
        {
            return (null, errors);
        }
        if (updated.Name is not null && await NameTakenAsync(updated.Name, id, cancellationToken))
        {
            errors.Add("name", $"Target with name '{updated.Name}' already exists.");
            return (null, errors);
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
                Log.SecretsDropped(logger, "Target", id, string.Join(", ", dropped));
            }
        }
        (target.Name, target.Url, target.Method, target.Headers, target.BodyTemplate, target.TimeoutSeconds, target.SigningSecret) =
            (updated.Name, updated.Url, updated.Method, updated.Headers, updated.BodyTemplate, updated.TimeoutSeconds, updated.SigningSecret);
        (target.RateLimitPerSecond, target.MaxConcurrency) = (updated.RateLimitPerSecond, updated.MaxConcurrency);
        (target.Completion, target.CompletionTimeoutSeconds) = (updated.Completion, updated.CompletionTimeoutSeconds);
        target.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return (target, null);
    }

    /// <summary>Deletes a target that no live schedule uses.</summary>
    public async Task<TargetDeletion> DeleteAsync(long id, CancellationToken cancellationToken)
    {
        var target = await Live().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (target is null)
        {
            return new TargetDeletion(Found: false, []);
        }
        var users = await db.Schedules.Where(s => s.TargetId == id && s.DeletedAt == null)
            .OrderBy(s => s.Id).Select(s => s.Id).Take(20).ToListAsync(cancellationToken);
        if (users.Count == 0)
        {
            target.DeletedAt = target.UpdatedAt = time.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
        }
        return new TargetDeletion(Found: true, users);
    }

    private IQueryable<Target> Live() => db.Targets.Where(t => t.DeletedAt == null);

    private Task<bool> NameTakenAsync(string name, long? except, CancellationToken cancellationToken) =>
        Live().AnyAsync(t => t.Name == name && t.Id != except, cancellationToken);
}
