using System.Text.Json;
using System.Text.Json.Serialization;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Http.Json;
using Scalar.AspNetCore;
using Scheduler.Api.Compat;
using Scheduler.Api.Http;
using Scheduler.Api.Runs;
using Scheduler.Api.Schedules;
using Scheduler.Api.Security;
using Scheduler.Api.Targets;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Serilog;
using Serilog.Events;

namespace Scheduler.Api.Hosting;

/// <summary>The API host: JSON conventions, errors as problem details, docs and the dashboard.</summary>
internal static class ApiHostingExtensions
{
    public static WebApplicationBuilder AddSchedulerApi(this WebApplicationBuilder builder)
    {
        // Handing a run to Hangfire is a synchronous call (its client API has no async form) that waits on
        // PostgreSQL, so concurrent POSTs each hold a pool thread. With the pool's default minimum (one per
        // core) the pool adds threads slowly and requests queue behind it: measured here, 16 concurrent
        // IMMEDIATE POSTs ran at 43/s with the default and far faster with 64 (docs/performance.md).
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, 64), minIo);
        var services = builder.Services;
        services.AddSchedulerCore(builder.Configuration, "api");
        services.AddSchedulerTelemetry(builder.Configuration, "api");
        services.AddSingleton<Dashboard.DashboardQueries>();
        services.AddSchemaReadinessGate();
        services.AddSingleton<RunHandOff>();
        services.AddSingleton<DispatchAnnouncer>();
        services.AddSingleton<ScheduleWriter>();
        services.AddSingleton<ApiRehearsal>();
        services.AddHostedService<ApiWarmup>();
        // The rules read their limits (Limits:*) and the SSRF policy from DI, so any host built from these
        // registrations enforces them, not only one that ran the whole startup.
        services.AddSingleton<TargetValidation>();
        services.AddSingleton<ScheduleSettings>();
        services.AddSingleton<Paging>();
        // The work behind the endpoints and the seed adapters alike: one place per resource.
        services.AddScoped<ScheduleService>();
        services.AddScoped<ScheduleContinuations>();
        services.AddScoped<TargetService>();
        services.AddScoped<RunService>();
        services.AddSchedulerSecurity(builder.Configuration);
        services.AddCompat(builder.Configuration);
        services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));
        // Bad JSON surfaces as an exception that ApiExceptionHandler turns into a problem naming the field.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddSchedulerOpenApi();
        services.AddSingleton<Runs.RunCompletion>();
        return builder;
    }

    public static void ConfigureJson(JsonSerializerOptions json)
    {
        json.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        json.DictionaryKeyPolicy = null;
        json.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        json.RespectNullableAnnotations = true;
        json.NumberHandling = JsonNumberHandling.Strict;
        json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false));
    }

    public static WebApplication UseSchedulerApi(this WebApplication app)
    {
        // First, so that everything after it sees the client's scheme and address (ForwardedHeaders:KnownProxies).
        app.UseForwardedHeaders();
        // Outside the exception handler, so the request log shows the status the client got (400 for a bad
        // body, not the 500 of the exception on its way to the handler) and carries no stack trace: client
        // mistakes log one Information line; only real faults log at Error (ApiExceptionHandler, with the trace).
        // A probe's 503 (/health/ready while warming up or while PostgreSQL is down) is its answer, not a fault:
        // a poller would otherwise write an Error line every period until the API is ready.
        app.UseSerilogRequestLogging(logging => logging.GetLevel = (context, _, exception) =>
            ApiRehearsal.IsRehearsal(context.User) ? LogEventLevel.Verbose  // the API's own warm-up (ApiWarmup)
                : exception is null && (context.Response.StatusCode < 500 || IsProbe(context.Request.Path)) ? LogEventLevel.Information
                : LogEventLevel.Error);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSchedulerSecurity();
        return app;
    }

    private static bool IsProbe(PathString path) => path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase);

    /// <summary>OpenAPI at <c>/openapi/v1.json</c> (the adapters' at <c>/openapi/compat-*.json</c>), interactive docs at <c>/docs</c>.</summary>
    public static WebApplication MapSchedulerDocs(this WebApplication app)
    {
        // The description of the API is public; calling it needs a key (Scalar's "Authentication" box).
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Scheduler API")).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// Hangfire's dashboard at <c>/hangfire</c>: runs are its jobs, so it lists, filters and requeues them.
    /// It needs a sign-in (or an API key header): admin keys may requeue and delete, read-only keys only
    /// look. Nobody gets in anonymously, local requests included, unless Dashboard:AllowAnonymous=true
    /// says so, and then anonymous visitors get the read-only dashboard.
    /// </summary>
    public static WebApplication MapSchedulerDashboard(this WebApplication app)
    {
        var anonymous = app.Configuration.GetValue("Dashboard:AllowAnonymous", false);
        app.MapDashboardSignIn();
        Dashboard.DashboardPages.Add();
        var dashboard = app.MapHangfireDashboard(SecurityHosting.DashboardPath, new DashboardOptions
        {
            DashboardTitle = "Scheduler",
            AppPath = "/docs",
            DisplayStorageConnectionString = false,
            Authorization = [new SignedInFilter(anonymous)],
            IsReadOnlyFunc = context => !context.GetHttpContext().User.IsInRole(ApiRoles.Admin),
        });
        if (anonymous)
        {
            dashboard.AllowAnonymous();
        }
        return app;
    }

    /// <summary>Hangfire's own check, behind ASP.NET Core's: a signed-in user (or anyone, when configured).</summary>
    private sealed class SignedInFilter(bool anonymous) : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => anonymous || context.GetHttpContext().User.Identity?.IsAuthenticated == true;
    }
}
