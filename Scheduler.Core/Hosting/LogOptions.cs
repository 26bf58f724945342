namespace Scheduler.Core.Hosting;

/// <summary>How the processes write their log (section <c>Logging</c>, beside the levels of Microsoft.Extensions.Logging).</summary>
public sealed class LogOptions
{
    public const string Section = "Logging";

    public const string Text = "text";
    public const string Json = "json";

    /// <summary>
    /// <c>text</c> (default): one readable line an event, with the date, for a terminal. <c>json</c>: one compact JSON
    /// object a line (Serilog's compact format: <c>@t</c>, <c>@l</c>, <c>@mt</c>, <c>@tr</c>, <c>@sp</c> and the
    /// event's properties, <c>RunId</c>, <c>ScheduleId</c>, <c>Attempt</c> among them), for a log pipeline.
    /// </summary>
    public string Format { get; set; } = Text;

    public bool IsJson => string.Equals(Format, Json, StringComparison.OrdinalIgnoreCase);
}

internal sealed class LogOptionsValidator : IValidateOptions<LogOptions>
{
    public ValidateOptionsResult Validate(string? name, LogOptions options) =>
        string.Equals(options.Format, LogOptions.Text, StringComparison.OrdinalIgnoreCase) || options.IsJson
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Logging:Format must be '{LogOptions.Text}' or '{LogOptions.Json}' (got '{options.Format}').");
}
