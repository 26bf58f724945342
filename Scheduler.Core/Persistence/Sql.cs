namespace Scheduler.Core.Persistence;

/// <summary>
/// Enum values as SQL literals, spelled by <see cref="WireName"/> (the one spelling), for raw SQL:
/// <c>$"WHERE status = {Sql.Literal(RunStatus.Pending)}"</c> is <c>WHERE status = 'PENDING'</c>.
/// Statements built from them are built once (static fields), so the text sent is as if written by hand.
/// </summary>
public static class Sql
{
    /// <summary>The value as a quoted SQL literal: <c>'PENDING'</c>.</summary>
    public static string Literal<TEnum>(TEnum value) where TEnum : struct, Enum => $"'{WireName.Of(value)}'";

    /// <summary>The values as a list for <c>IN (…)</c>: <c>'PENDING', 'RUNNING'</c>.</summary>
    public static string Literals<TEnum>(params TEnum[] values) where TEnum : struct, Enum =>
        string.Join(", ", values.Select(Literal));

    /// <summary>The states of a run that has not ended, for <c>status IN (…)</c>: <c>'PENDING', 'RUNNING', 'WAITING'</c>.</summary>
    public static readonly string UnfinishedRuns = Literals(RunStatus.Pending, RunStatus.Running, RunStatus.Waiting);

    /// <summary>The states of a run that ended without success (<see cref="RunStatusExtensions.IsUnsuccessful"/>), for <c>status IN (…)</c>.</summary>
    public static readonly string UnsuccessfulRuns = Literals([.. RunStatusExtensions.Unsuccessful]);
}
