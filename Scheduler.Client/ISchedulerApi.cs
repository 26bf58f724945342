using Refit;

namespace Scheduler.Client;

/// <summary>
/// The native Scheduler API (docs/api.md), one method per operation. Get one from
/// <see cref="SchedulerClientServiceCollectionExtensions.AddSchedulerClient"/>. An answer other than 2xx
/// throws <see cref="SchedulerApiException"/>; <see cref="SchedulerApiPaging"/> walks the lists page by page.
/// </summary>
public interface ISchedulerApi
{
    /// <summary>Creates a target (<c>POST /targets</c>).</summary>
    /// <param name="target">Its name and URL at least.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The target created.</returns>
    [Post("/targets")]
    Task<Target> CreateTargetAsync([Body] TargetRequest target, CancellationToken cancellationToken = default);

    /// <summary>Lists stored targets by id (<c>GET /targets</c>), the first <paramref name="limit"/>; see <see cref="SchedulerApiPaging.ListAllTargetsAsync"/> for all.</summary>
    /// <param name="limit">At most this many (default 100).</param>
    /// <param name="skip">Skips this many first.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The targets.</returns>
    [Get("/targets")]
    Task<List<Target>> ListTargetsAsync(int? limit = null, int? skip = null, CancellationToken cancellationToken = default);

    /// <summary>One page of targets (<c>GET /targets?cursor=</c>).</summary>
    /// <param name="cursor">Empty for the first page, then the previous page's <see cref="Page{T}.NextCursor"/>.</param>
    /// <param name="limit">Rows per page.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The page.</returns>
    [Get("/targets")]
    Task<Page<Target>> GetTargetPageAsync(string cursor, int? limit = null, CancellationToken cancellationToken = default);

    /// <summary>Gets a target (<c>GET /targets/{id}</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The target.</returns>
    [Get("/targets/{id}")]
    Task<Target> GetTargetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Changes a target (<c>PUT /targets/{id}</c>); properties left null keep their values.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="target">The changes.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The target as changed.</returns>
    [Put("/targets/{id}")]
    Task<Target> UpdateTargetAsync(long id, [Body] TargetRequest target, CancellationToken cancellationToken = default);

    /// <summary>Deletes a target no live schedule uses (<c>DELETE /targets/{id}</c>; 409 while one does).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>When deleted.</returns>
    [Delete("/targets/{id}")]
    Task DeleteTargetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Creates a schedule (<c>POST /schedules</c>); an IMMEDIATE one has its run queued before this returns.</summary>
    /// <param name="schedule">What to call and when.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedule created.</returns>
    [Post("/schedules")]
    Task<Schedule> CreateScheduleAsync([Body] ScheduleRequest schedule, CancellationToken cancellationToken = default);

    /// <summary>Creates many schedules in one transaction: all or none (<c>POST /schedules/bulk</c>).</summary>
    /// <param name="request">The schedules.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedules created, in order.</returns>
    [Post("/schedules/bulk")]
    Task<BulkScheduleResponse> CreateSchedulesAsync([Body] BulkScheduleRequest request, CancellationToken cancellationToken = default);

    /// <summary>Lists live schedules by id (<c>GET /schedules</c>), the first <paramref name="limit"/>; see <see cref="SchedulerApiPaging.ListAllSchedulesAsync"/> for all.</summary>
    /// <param name="limit">At most this many (default 100).</param>
    /// <param name="skip">Skips this many first.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedules.</returns>
    [Get("/schedules")]
    Task<List<Schedule>> ListSchedulesAsync(int? limit = null, int? skip = null, CancellationToken cancellationToken = default);

    /// <summary>One page of schedules (<c>GET /schedules?cursor=</c>).</summary>
    /// <param name="cursor">Empty for the first page, then the previous page's <see cref="Page{T}.NextCursor"/>.</param>
    /// <param name="limit">Rows per page.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The page.</returns>
    [Get("/schedules")]
    Task<Page<Schedule>> GetSchedulePageAsync(string cursor, int? limit = null, CancellationToken cancellationToken = default);

    /// <summary>Gets a schedule (<c>GET /schedules/{id}</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedule.</returns>
    [Get("/schedules/{id}")]
    Task<Schedule> GetScheduleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Changes a schedule (<c>PUT /schedules/{id}</c>); properties left null keep their values.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="schedule">The changes.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedule as changed.</returns>
    [Put("/schedules/{id}")]
    Task<Schedule> UpdateScheduleAsync(long id, [Body] ScheduleRequest schedule, CancellationToken cancellationToken = default);

    /// <summary>Deletes a schedule: its pending runs are cancelled, its history stays (<c>DELETE /schedules/{id}</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>When deleted.</returns>
    [Delete("/schedules/{id}")]
    Task DeleteScheduleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Pauses an ACTIVE schedule (<c>POST /schedules/{id}/pause</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedule, PAUSED.</returns>
    [Post("/schedules/{id}/pause")]
    Task<Schedule> PauseScheduleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Resumes a PAUSED schedule from its next occurrence after now (<c>POST /schedules/{id}/resume</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The schedule, ACTIVE.</returns>
    [Post("/schedules/{id}/resume")]
    Task<Schedule> ResumeScheduleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Runs a schedule once now, outside its cadence (<c>POST /schedules/{id}/trigger</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run created.</returns>
    [Post("/schedules/{id}/trigger")]
    Task<Run> TriggerScheduleAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Lists runs, latest due first (<c>GET /runs</c>), one page; see <see cref="SchedulerApiPaging.ListAllRunsAsync"/> for all.</summary>
    /// <param name="filter">Which runs, and how many.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The runs.</returns>
    [Get("/runs")]
    Task<List<Run>> ListRunsAsync([Query] RunFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>One page of runs (<c>GET /runs?cursor=</c>); the cursor keeps its place while new runs arrive.</summary>
    /// <param name="filter">Which runs, and how many per page.</param>
    /// <param name="cursor">Empty for the first page, then the previous page's <see cref="Page{T}.NextCursor"/>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The page.</returns>
    [Get("/runs")]
    Task<Page<Run>> GetRunPageAsync([Query] RunFilter? filter, string cursor, CancellationToken cancellationToken = default);

    /// <summary>Gets a run with its attempts and callback deliveries (<c>GET /runs/{id}</c>).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run.</returns>
    [Get("/runs/{id}")]
    Task<Run> GetRunAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Makes another attempt of a finished run now, recorded as manual (<c>POST /runs/{id}/retry</c>; 409 while it is still going).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run, PENDING again.</returns>
    [Post("/runs/{id}/retry")]
    Task<Run> RetryRunAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives every run that ended unsuccessfully and was not retried, among those <paramref name="filter"/> picks, one
    /// manual attempt now (<c>POST /runs/redrive</c>, admin only), at most the server's Limits:MaxRedriveRuns a call.
    /// </summary>
    /// <param name="filter">Which runs.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>How many were queued, and whether the limit stopped it.</returns>
    [Post("/runs/redrive")]
    Task<RedriveResult> RedriveRunsAsync([Query] RedriveFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>Lists the named jobs a schedule's <c>job_name</c> may use (<c>GET /jobs</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The jobs, by name.</returns>
    [Get("/jobs")]
    Task<List<Job>> ListJobsAsync(CancellationToken cancellationToken = default);

    /// <summary>System metrics (<c>GET /metrics</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The metrics.</returns>
    [Get("/metrics")]
    Task<SystemMetrics> GetMetricsAsync(CancellationToken cancellationToken = default);

    /// <summary>Per-schedule metrics (<c>GET /metrics/schedules</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>One entry per schedule.</returns>
    [Get("/metrics/schedules")]
    Task<List<ScheduleMetrics>> GetScheduleMetricsAsync(CancellationToken cancellationToken = default);

    /// <summary>Health (<c>GET /health</c>, needs no key).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Whether the database answers and a worker runs.</returns>
    [Get("/health")]
    Task<Health> GetHealthAsync(CancellationToken cancellationToken = default);

    /// <summary>Repairs runs, schedules and callbacks that stopped progressing, now (<c>POST /reconcile</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>What was repaired.</returns>
    [Post("/reconcile")]
    Task<ReconcileReport> ReconcileAsync(CancellationToken cancellationToken = default);
}
