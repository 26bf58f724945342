using NpgsqlTypes;

namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// The input of a set-based statement: one array parameter per column, declared once with its name, its SQL
/// type and the value it takes from each request. The statement's <c>unnest(…) AS i(…)</c> and its parameters
/// are both made from this list, so a column added, removed or moved changes both together.
/// </summary>
internal sealed class UnnestInput<TRequest>
{
    private readonly List<(string Name, string SqlType, Func<IReadOnlyList<TRequest>, NpgsqlParameter> Parameter)> _columns = [];

    public UnnestInput<TRequest> Column<T>(string name, string sqlType, NpgsqlDbType type, Func<TRequest, T> value)
    {
        _columns.Add((name, sqlType, requests => new NpgsqlParameter<T[]> { TypedValue = requests.Select(value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type }));
        return this;
    }

    /// <summary><c>unnest($1::bigint[], …) AS i(run_id, …)</c>: the input as rows named <c>i</c>.</summary>
    public string Sql => $"unnest({string.Join(", ", _columns.Select((c, i) => $"${i + 1}::{c.SqlType}[]"))}) AS i({string.Join(", ", _columns.Select(c => c.Name))})";

    /// <summary>The placeholder of a column's array: <c>$1</c> for the first.</summary>
    public string Placeholder(string name) => $"${_columns.FindIndex(c => c.Name == name) + 1}";

    /// <summary>The placeholder of the statement's <paramref name="n"/>-th parameter after the columns (1 for the first).</summary>
    public string After(int n) => $"${_columns.Count + n}";

    /// <summary>Adds the columns' arrays for <paramref name="requests"/>, in order, before any parameter that follows them.</summary>
    public void AddParameters(NpgsqlParameterCollection parameters, IReadOnlyList<TRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var column in _columns)
        {
            parameters.Add(column.Parameter(requests));
        }
    }
}

/// <summary>A result row read by column name, so a statement's columns may be reordered without breaking what is read.</summary>
internal sealed class RowReader(NpgsqlDataReader reader)
{
    private readonly Dictionary<string, int> _ordinals = Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => i, StringComparer.Ordinal);

    public Task<bool> ReadAsync(CancellationToken cancellationToken = default) => reader.ReadAsync(cancellationToken);

    public T Get<T>(string column) => reader.GetFieldValue<T>(Ordinal(column));

    /// <summary>A column that may be NULL, of a reference type.</summary>
    public T? OrNull<T>(string column) where T : class => IsNull(column) ? null : Get<T>(column);

    /// <summary>A column that may be NULL, of a value type.</summary>
    public T? ValueOrNull<T>(string column) where T : struct => IsNull(column) ? null : Get<T>(column);

    public bool IsNull(string column) => reader.IsDBNull(Ordinal(column));

    private int Ordinal(string column) =>
        _ordinals.TryGetValue(column, out var ordinal) ? ordinal : throw new InvalidOperationException($"The statement returns no column {column}.");
}
