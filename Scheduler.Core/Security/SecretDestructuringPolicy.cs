using Serilog.Core;
using Serilog.Events;

namespace Scheduler.Core.Security;

/// <summary>
/// Header collections that reach a log event (<c>{@Headers}</c>) are written with their secret values
/// masked, so a credential cannot leak through a log line someone adds later.
/// </summary>
public sealed class SecretDestructuringPolicy : IDestructuringPolicy
{
    public bool TryDestructure(object value, ILogEventPropertyValueFactory propertyValueFactory, out LogEventPropertyValue result)
    {
        ArgumentNullException.ThrowIfNull(propertyValueFactory);
        if (value is IEnumerable<KeyValuePair<string, string>> headers)
        {
            var masked = SecretProtector.MaskHeaders(headers.ToDictionary(h => h.Key, h => h.Value));
            result = new DictionaryValue(masked.Select(h => new KeyValuePair<ScalarValue, LogEventPropertyValue>(new ScalarValue(h.Key), new ScalarValue(h.Value))));
            return true;
        }
        result = null!;
        return false;
    }
}
