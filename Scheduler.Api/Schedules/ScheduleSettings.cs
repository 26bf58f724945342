using System.Text.Json;
using Scheduler.Api.Targets;
using Scheduler.Api.Validation;

namespace Scheduler.Api.Schedules;

/// <summary>
/// What a schedule does around its calls: what counts as success, retries, max delay, callbacks,
/// and the references passed through to them (seeds 000 and 002). Given fields replace, others stay.
/// </summary>
internal sealed class ScheduleSettings(TargetValidation targets)
{
    public const int MaxReferenceLength = 200;
    public const int MaxArgsLength = 64 * 1024;

    public void Apply(ScheduleRequest request, Schedule schedule, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(schedule);
        if (request.ExpectedHttpStatus is { } expected)
        {
            var codes = expected.ValueKind switch
            {
                JsonValueKind.Number when expected.TryGetInt32(out var one) => [one],
                JsonValueKind.Array when expected.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _))
                    => expected.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                _ => (int[]?)null,
            };
            if (codes is null || codes.Length is 0 or > 20 || codes.Any(c => c is < 100 or > 599))
            {
                errors.Add("expected_http_status", "must be a status code (100 to 599) or a list of up to 20 of them.");
            }
            else
            {
                schedule.ExpectedHttpStatus = codes.Distinct().Order().ToArray();
            }
        }

        if (request.Retry is { } retry)
        {
            if (retry.MaxAttempts is < 1 or > 100)
            {
                errors.Add("retry.max_attempts", "must be between 1 and 100 (attempts in all, the first included).");
            }
            if (retry.InitialIntervalSeconds is < 0 or > 86_400)
            {
                errors.Add("retry.initial_interval_seconds", "must be between 0 and 86400.");
            }
            var initial = retry.InitialIntervalSeconds ?? schedule.RetryInitialIntervalSeconds ?? 0;
            if (retry.MaxIntervalSeconds is { } max && (max < initial || max > 7 * 86_400))
            {
                errors.Add("retry.max_interval_seconds", $"must be between initial_interval_seconds ({initial}) and 604800.");
            }
            schedule.MaxAttempts = retry.MaxAttempts ?? schedule.MaxAttempts;
            schedule.RetryInitialIntervalSeconds = retry.InitialIntervalSeconds ?? schedule.RetryInitialIntervalSeconds;
            schedule.RetryMaxIntervalSeconds = retry.MaxIntervalSeconds ?? schedule.RetryMaxIntervalSeconds;
        }

        if (request.MaxDelaySeconds is { } maxDelay)
        {
            if (maxDelay is < 0 or > 366 * 86_400)
            {
                errors.Add("max_delay_seconds", "must be between 0 and 31622400.");
            }
            schedule.MaxDelaySeconds = maxDelay;
        }

        if (request.CallbackUrl is { } callback && targets.IsHttpUrl(callback, "callback_url", errors))
        {
            schedule.CallbackUrl = callback;
        }
        if (request.ErrorCallbackUrl is { } errorCallback && targets.IsHttpUrl(errorCallback, "error_callback_url", errors))
        {
            schedule.ErrorCallbackUrl = errorCallback;
        }
        if (request.CallbackHeaders is { } headers)
        {
            targets.ValidateHeaders(headers, "callback_headers", errors);
            TargetValidation.RefuseLookingEncrypted(headers, "callback_headers", errors);
            schedule.CallbackHeaders = new Dictionary<string, string>(headers);
        }
        if (request.NoResponse is { } noResponse)
        {
            schedule.NoResponse = noResponse;
        }

        schedule.ReferenceId = Reference(request.ReferenceId, "reference_id", schedule.ReferenceId, errors);
        schedule.RefDoctype = Reference(request.RefDoctype, "ref_doctype", schedule.RefDoctype, errors);
        schedule.RefDocname = Reference(request.RefDocname, "ref_docname", schedule.RefDocname, errors);
        schedule.Tag = Reference(request.Tag, "tag", schedule.Tag, errors);
    }

    private static string? Reference(string? value, string field, string? current, ValidationErrors errors)
    {
        if (value is { Length: > MaxReferenceLength })
        {
            errors.Add(field, $"must be at most {MaxReferenceLength} characters.");
        }
        else if (value is not null && FreeText.HasControlCharacters(value))
        {
            errors.Add(field, FreeText.Rule);
        }
        return value ?? current;
    }
}
