using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scheduler.Core.Jobs;

/// <summary>
/// One argument a named job takes, with its bounds. Workers record their jobs' arguments at startup
/// (<c>job_types.args_spec</c>), so the API checks a schedule's <c>args</c> without the job's code, and
/// the worker checks them again before it runs the job.
/// </summary>
/// <param name="Name">The key in the <c>args</c> object.</param>
/// <param name="Type"><see cref="IntegerType"/>, <see cref="NumberType"/>, <see cref="StringType"/> or <see cref="BooleanType"/>.</param>
/// <param name="Min">The smallest value of a number.</param>
/// <param name="Max">The largest value of a number.</param>
/// <param name="MaxLength">The longest string.</param>
/// <param name="Required">Whether the argument must be given.</param>
public sealed record NamedJobArg(string Name, string Type, double? Min = null, double? Max = null, int? MaxLength = null, bool Required = false)
{
    public const string IntegerType = "integer";
    public const string NumberType = "number";
    public const string StringType = "string";
    public const string BooleanType = "boolean";

    /// <summary>How specs are stored in <c>job_types.args_spec</c> and shown at <c>GET /jobs</c>.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string? Serialize(IReadOnlyList<NamedJobArg>? spec) => spec is null ? null : JsonSerializer.Serialize(spec, Json);

    public static IReadOnlyList<NamedJobArg>? Deserialize(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<List<NamedJobArg>>(json, Json);

    /// <summary>
    /// What is wrong with <paramref name="args"/> for a job taking <paramref name="spec"/>, as (field, message)
    /// pairs naming each argument (<c>args.seconds</c>); empty when they are fine. A null spec takes any JSON.
    /// </summary>
    public static IEnumerable<(string Field, string Message)> Check(string job, IReadOnlyList<NamedJobArg>? spec, JsonElement? args)
    {
        if (spec is null)
        {
            yield break;
        }
        var given = args is { ValueKind: not JsonValueKind.Null } value ? value : (JsonElement?)null;
        if (given is { ValueKind: not JsonValueKind.Object })
        {
            yield return ("args", $"must be a JSON object for '{job}' ({Describe(spec)}).");
            yield break;
        }
        var byName = spec.ToDictionary(a => a.Name, StringComparer.Ordinal);
        if (given is { } obj)
        {
            foreach (var property in obj.EnumerateObject())
            {
                if (!byName.TryGetValue(property.Name, out var arg))
                {
                    yield return ($"args.{property.Name}", $"is not an argument of '{job}'; it takes {Describe(spec)}.");
                }
                else if (arg.Problem(property.Value) is { } problem)
                {
                    yield return ($"args.{property.Name}", problem);
                }
            }
        }
        foreach (var arg in spec.Where(a => a.Required && given?.TryGetProperty(a.Name, out _) != true))
        {
            yield return ($"args.{arg.Name}", "is required.");
        }
    }

    private static string Describe(IReadOnlyList<NamedJobArg> spec) =>
        spec.Count == 0 ? "no arguments" : string.Join(", ", spec.Select(a => $"{a.Name} ({a.Bounds()})"));

    private string Bounds()
    {
        var text = Type;
        if (Min is { } min)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", at least {min}");
        }
        if (Max is { } max)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", at most {max}");
        }
        if (MaxLength is { } length)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", at most {length} characters");
        }
        return text;
    }

    private string? Problem(JsonElement value)
    {
        switch (Type)
        {
            case IntegerType or NumberType:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number)
                    || (Type == IntegerType && (!value.TryGetInt64(out _) || number != Math.Floor(number))))
                {
                    return $"must be {(Type == IntegerType ? "an integer" : "a number")} ({Bounds()}).";
                }
                return (Min is { } min && number < min) || (Max is { } max && number > max) ? $"must be {Bounds()}." : null;
            case StringType:
                return value.ValueKind != JsonValueKind.String ? $"must be a string ({Bounds()})."
                    : MaxLength is { } length && value.GetString()!.Length > length ? $"must be {Bounds()}." : null;
            case BooleanType:
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "must be true or false.";
            default:
                return null;
        }
    }
}
