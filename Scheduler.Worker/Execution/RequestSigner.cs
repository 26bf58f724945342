using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Scheduler.Worker.Runs;

namespace Scheduler.Worker.Execution;

/// <summary>
/// Signs outbound requests so targets can check they come from this Scheduler, unchanged:
/// <c>Scheduler-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;body&gt;"&gt;</c>
/// (docs/signing.md shows how to verify it).
/// </summary>
public static class RequestSigner
{
    public const string Header = "Scheduler-Signature";

    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
        return $"t={unixSeconds.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(mac)}";
    }
}

/// <summary>The placeholders a body template may use.</summary>
internal static class BodyTemplate
{
    public static string Render(string template, RunPlan plan, int attempt) => template
        .Replace("{{run_id}}", plan.RunId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{{schedule_id}}", plan.ScheduleId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{{due_at}}", plan.DueAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{{attempt}}", attempt.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{{idempotency_key}}", plan.IdempotencyKey, StringComparison.Ordinal);
}
