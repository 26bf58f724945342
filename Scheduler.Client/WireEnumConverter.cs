using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scheduler.Client;

/// <summary>
/// Reads and writes an enum as the string its members' <see cref="EnumMemberAttribute"/> names (the API's
/// spelling), case-insensitively on read as the API does. Numbers are refused.
/// </summary>
/// <typeparam name="TEnum">An enum whose members all carry <see cref="EnumMemberAttribute"/>.</typeparam>
public sealed class WireEnumConverter<TEnum> : JsonConverter<TEnum> where TEnum : struct, Enum
{
    /// <inheritdoc/>
    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a string for {typeof(TEnum).Name}.");
        }
        var wire = reader.GetString();
        return WireNames.TryParse<TEnum>(wire, out var value)
            ? value
            : throw new JsonException($"'{wire}' is not a {typeof(TEnum).Name} (one of {string.Join(", ", WireNames.Values<TEnum>())}).");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(WireNames.NameOf(value));
    }
}

/// <summary>The API's spelling of the client's enums (<c>DNS_ERROR</c>, <c>http_4xx</c>, <c>BUFFER_ONE</c>).</summary>
public static class WireNames
{
    /// <summary>The wire spelling of <paramref name="value"/>.</summary>
    /// <typeparam name="TEnum">One of the client's enums.</typeparam>
    /// <param name="value">A member.</param>
    /// <returns>The string the API uses for it.</returns>
    public static string NameOf<TEnum>(TEnum value) where TEnum : struct, Enum => Map<TEnum>.ToWire[value];

    /// <summary>Parses a wire spelling, case-insensitively.</summary>
    /// <typeparam name="TEnum">One of the client's enums.</typeparam>
    /// <param name="wire">The string to parse.</param>
    /// <param name="value">The member it names.</param>
    /// <returns>Whether <paramref name="wire"/> names a member.</returns>
    public static bool TryParse<TEnum>(string? wire, out TEnum value) where TEnum : struct, Enum =>
        Map<TEnum>.FromWire.TryGetValue(wire ?? string.Empty, out value);

    /// <summary>Every wire spelling, in declaration order.</summary>
    /// <typeparam name="TEnum">One of the client's enums.</typeparam>
    /// <returns>The spellings.</returns>
    public static IReadOnlyList<string> Values<TEnum>() where TEnum : struct, Enum => [.. Map<TEnum>.ToWire.Values];

    private static class Map<TEnum> where TEnum : struct, Enum
    {
        public static readonly Dictionary<TEnum, string> ToWire = typeof(TEnum)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .ToDictionary(f => (TEnum)f.GetValue(null)!, f => f.GetCustomAttribute<EnumMemberAttribute>()?.Value ?? f.Name);

        public static readonly Dictionary<string, TEnum> FromWire =
            ToWire.ToDictionary(pair => pair.Value, pair => pair.Key, StringComparer.OrdinalIgnoreCase);
    }
}
