using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scheduler.Core.Model;

/// <summary>
/// The one spelling of an enum value outside the process: in JSON, in the database and in raw SQL.
/// <c>RunStatus.DnsError</c> is <c>DNS_ERROR</c>; <c>ErrorType.Http4xx</c> is <c>http_4xx</c>.
/// </summary>
public static class WireName
{
    private static readonly ConcurrentDictionary<Type, (Dictionary<Enum, string> ToWire, Dictionary<string, Enum> FromWire)> Maps = new();

    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum => Map(typeof(TEnum)).ToWire[value];

    public static TEnum Parse<TEnum>(string wire) where TEnum : struct, Enum =>
        TryParse<TEnum>(wire, out var value)
            ? value
            : throw new FormatException($"'{wire}' is not one of {string.Join(", ", Values<TEnum>())}.");

    /// <summary>Case-insensitive, so <c>immediate</c> and <c>IMMEDIATE</c> both parse.</summary>
    public static bool TryParse<TEnum>(string? wire, out TEnum value) where TEnum : struct, Enum
    {
        if (wire is not null && Map(typeof(TEnum)).FromWire.TryGetValue(wire, out var found))
        {
            value = (TEnum)found;
            return true;
        }
        value = default;
        return false;
    }

    public static IReadOnlyList<string> Values<TEnum>() where TEnum : struct, Enum =>
        Enum.GetValues<TEnum>().Select(Of).ToArray();

    private static (Dictionary<Enum, string> ToWire, Dictionary<string, Enum> FromWire) Map(Type type) =>
        Maps.GetOrAdd(type, static t =>
        {
            var toWire = new Dictionary<Enum, string>();
            var fromWire = new Dictionary<string, Enum>(StringComparer.OrdinalIgnoreCase);
            foreach (var field in t.GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var value = (Enum)field.GetValue(null)!;
                var name = field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
                           ?? JsonNamingPolicy.SnakeCaseUpper.ConvertName(field.Name);
                toWire[value] = name;
                fromWire[name] = value;
            }
            return (toWire, fromWire);
        });
}
