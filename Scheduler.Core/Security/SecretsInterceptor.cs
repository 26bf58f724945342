using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Scheduler.Core.Security;

/// <summary>
/// Encrypts secrets on their way into the database, whichever code path saves a target or a schedule
/// (the API, the seeds' adapters): nothing can forget to.
/// </summary>
public sealed class SecretsInterceptor(SecretProtector secrets) : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Protect(eventData.Context);
        return base.SavingChanges(eventData, result);
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Protect(eventData.Context);
        return base.SavingChangesAsync(eventData, result, cancellationToken);
    }

    private void Protect(DbContext? context)
    {
        if (context is null)
        {
            return;
        }
        foreach (var entry in context.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified))
            {
                continue;
            }
            switch (entry.Entity)
            {
                case Target target:
                    target.Headers = secrets.ProtectHeaders(target.Headers, Stored<Dictionary<string, string>>(entry, nameof(Target.Headers)));
                    if (target.SigningSecret is { } secret)
                    {
                        target.SigningSecret = secret == SecretProtector.Masked && Stored<string>(entry, nameof(Target.SigningSecret)) is { } before
                            ? before
                            : secrets.Protect(secret);
                    }
                    break;
                case Schedule schedule:
                    schedule.CallbackHeaders = secrets.ProtectHeaders(schedule.CallbackHeaders, Stored<Dictionary<string, string>>(entry, nameof(Schedule.CallbackHeaders)));
                    break;
            }
        }
    }

    private static T? Stored<T>(Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry entry, string property) where T : class =>
        entry.State == EntityState.Modified ? entry.OriginalValues[property] as T : null;
}
