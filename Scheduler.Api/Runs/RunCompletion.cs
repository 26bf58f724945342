using System.Text;
using Npgsql;
using NpgsqlTypes;
using Scheduler.Api.Validation;
using Scheduler.Core.Jobs;
using Scheduler.Core.Security;

namespace Scheduler.Api.Runs;

/// <summary>Why a completion or heartbeat was refused; null when it was taken.</summary>
internal enum CompletionRefusal
{
    /// <summary>401: no token, or not a token of this run.</summary>
    Unauthorized,
    /// <summary>409: the token's attempt is not the one waiting (an old attempt, or already completed or timed out).</summary>
    Conflict,
}

/// <summary>
/// The API's side of long-running endpoints (issue #23): a callback target's completion or heartbeat for its
/// WAITING attempt, authorised by the attempt's token (only its SHA-256 is stored) instead of an API key. The
/// completion is written on the run and the run's job queued; the worker then records the attempt's end as for
/// any call (retry policy, callbacks). Each check runs under the run's row lock, so a completion and a worker
/// recording the timeout cannot both win; a refused request changes nothing.
/// </summary>
internal sealed class RunCompletion(NpgsqlDataSource database, RunEnqueuer enqueuer, TimeProvider time)
{
    private sealed record Waiting(long ScheduleId, DateTimeOffset DueAt, int Attempt);

    // The run locked, and the attempt whose token this is (none: not this run's token).
    private static readonly string LockSql = $"""
        SELECT r.schedule_id, r.due_at, a.attempt_number,
               (r.status = {Sql.Literal(RunStatus.Waiting)} AND a.attempt_number = r.attempt_count AND a.status = {Sql.Literal(AttemptStatus.Waiting)}
                AND r.completion_status IS NULL AND r.completion_deadline_at > now()
                AND (r.lease_owner IS NULL OR r.lease_expires_at < now())) AS waiting
        FROM scheduler.runs r
        JOIN scheduler.attempts a ON a.run_id = r.id AND a.completion_token_hash = $2
        WHERE r.id = $1
        FOR UPDATE OF r
        """;

    private static async Task<(Waiting? Waiting, CompletionRefusal? Refusal)> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        long runId, string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (null, CompletionRefusal.Unauthorized);
        }
        await using var command = new NpgsqlCommand(LockSql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = CompletionToken.Hash(token) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return (null, CompletionRefusal.Unauthorized);
        }
        return reader.GetBoolean(3)
            ? (new Waiting(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2)), null)
            : (null, CompletionRefusal.Conflict);
    }

    /// <summary>The completion's fields checked; the output as JSON text.</summary>
    public static (RunStatus Status, string? Output) Validate(CompletionRequest request, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(errors);
        var status = request.Status?.Trim().ToLowerInvariant() switch
        {
            "success" => RunStatus.Success,
            "failure" => RunStatus.Failed,
            _ => (RunStatus?)null,
        };
        if (status is null)
        {
            errors.Add("status", "is required: success or failure.");
        }
        if (request.Message is { } message && (message.Length > CompletionLimits.MaxMessageLength || FreeText.HasControlCharacters(message)))
        {
            errors.Add("message", message.Length > CompletionLimits.MaxMessageLength ? $"must be at most {CompletionLimits.MaxMessageLength} characters." : FreeText.Rule);
        }
        var output = request.Output is { ValueKind: not System.Text.Json.JsonValueKind.Null and not System.Text.Json.JsonValueKind.Undefined } value ? value.GetRawText() : null;
        if (output is not null && Encoding.UTF8.GetByteCount(output) > CompletionLimits.MaxOutputBytes)
        {
            errors.Add("output", $"must be at most {CompletionLimits.MaxOutputBytes} bytes of JSON (got {Encoding.UTF8.GetByteCount(output)}).");
        }
        return (status ?? RunStatus.Failed, output);
    }

    /// <summary>Whether the token is one of this run's attempts' (waiting or not), changing nothing.</summary>
    public async Task<bool> IsRunTokenAsync(long runId, string token, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT EXISTS (SELECT 1 FROM scheduler.attempts WHERE run_id = $1 AND completion_token_hash = $2)");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = CompletionToken.Hash(token) });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Records the completion and queues the run's job; the refusal instead, changing nothing.</summary>
    public async Task<(CompletionResponse? Response, CompletionRefusal? Refusal)> CompleteAsync(
        long runId, string? token, RunStatus status, string? message, string? output, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (waiting, refusal) = await LockAsync(connection, transaction, runId, token, cancellationToken);
        if (waiting is null)
        {
            return (null, refusal);
        }
        await using (var update = new NpgsqlCommand(
            "UPDATE scheduler.runs SET completion_status = $2, completion_message = $3, output = $4::jsonb, updated_at = now() WHERE id = $1",
            connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
            update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = WireName.Of(status) });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)message ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)output ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        // After the commit: if this process dies first, reconciliation queues the run (completion_unrecorded).
        await enqueuer.RetryAtAsync(new RunToEnqueue(runId, waiting.ScheduleId, waiting.DueAt), time.GetUtcNow(), CancellationToken.None);
        return (new CompletionResponse(runId, waiting.Attempt, status == RunStatus.Success ? "success" : "failure"), null);
    }

    /// <summary>Moves the WAITING attempt's deadline to now + the target's completion_timeout_seconds.</summary>
    public async Task<(HeartbeatResponse? Response, CompletionRefusal? Refusal)> HeartbeatAsync(long runId, string? token, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (waiting, refusal) = await LockAsync(connection, transaction, runId, token, cancellationToken);
        if (waiting is null)
        {
            return (null, refusal);
        }
        DateTimeOffset deadline;
        await using (var update = new NpgsqlCommand("""
            UPDATE scheduler.runs r
            SET completion_deadline_at = now() + make_interval(secs => t.completion_timeout_seconds), updated_at = now()
            FROM scheduler.schedules s JOIN scheduler.targets t ON t.id = s.target_id
            WHERE r.id = $1 AND s.id = r.schedule_id
            RETURNING r.completion_deadline_at
            """, connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
            deadline = new DateTimeOffset((DateTime)(await update.ExecuteScalarAsync(cancellationToken))!, TimeSpan.Zero);
        }
        await transaction.CommitAsync(cancellationToken);
        // The job waiting for the old deadline finds the new one and waits for it in turn.
        return (new HeartbeatResponse(runId, waiting.Attempt, deadline), null);
    }
}
