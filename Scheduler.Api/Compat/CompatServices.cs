using System.Security.Claims;
using Scheduler.Api.Runs;
using Scheduler.Api.Schedules;

namespace Scheduler.Api.Compat;

/// <summary>
/// What an adapter's handler works with: the services the native API calls too (so a schedule made through
/// a seed's contract is made exactly as POST /schedules makes it), the database for reading back in the
/// seed's shapes, the clock, and the caller (whose key's quota a new schedule counts against).
/// </summary>
internal sealed record CompatServices(ScheduleService Schedules, RunService Runs, SchedulerDbContext Db, TimeProvider Time, ClaimsPrincipal User);
