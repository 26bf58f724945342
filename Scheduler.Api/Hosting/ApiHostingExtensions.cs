using System.Text.Json;
using System.Text.Json.Serialization;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Http.Json;
using Scalar.AspNetCore;
using Scheduler.Core.Hosting;
using Serilog;

namespace Scheduler.Api.Hosting;

/// <summary>The API host: JSON conventions, errors as problem details, docs and the dashboard.</summary>
internal static class ApiHostingExtensions
{
    public static WebApplicationBuilder AddSchedulerApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSchedulerCore(builder.Configuration, "api");
        services.AddSchemaReadinessGate();
        services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));
        // Bad JSON surfaces as an exception that ApiExceptionHandler turns into a problem naming the field.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Scheduler API";
            document.Info.Description = "Cron for HTTP APIs: schedule HTTP calls now, later, or on a cadence, and read every run and attempt.";
            return Task.CompletedTask;
        }));
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
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging();
        return app;
    }

    /// <summary>OpenAPI at <c>/openapi/v1.json</c>, interactive docs at <c>/docs</c>.</summary>
    public static WebApplication MapSchedulerDocs(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Scheduler API"));
        return app;
    }

    /// <summary>Hangfire's dashboard at <c>/hangfire</c>: runs are its jobs, so it lists, filters and requeues them.</summary>
    public static WebApplication MapSchedulerDashboard(this WebApplication app)
    {
        // Until dashboard sign-in exists, the dashboard answers local requests only, unless configuration
        // says explicitly that anyone who reaches the port may use it (Dashboard:AllowAnonymous=true).
        var anonymous = app.Configuration.GetValue("Dashboard:AllowAnonymous", false);
        app.UseHangfireDashboard("/hangfire", new DashboardOptions
        {
            DashboardTitle = "Scheduler",
            AppPath = "/docs",
            DisplayStorageConnectionString = false,
            Authorization = anonymous ? [new AnyoneAuthorizationFilter()] : [new LocalRequestsOnlyAuthorizationFilter()],
        });
        return app;
    }

    private sealed class AnyoneAuthorizationFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => true;
    }
}
