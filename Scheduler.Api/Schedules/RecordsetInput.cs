using System.Buffers;
using System.Text.Json;

namespace Scheduler.Api.Schedules;

/// <summary>
/// The rows of a set-based insert, sent as one JSON array that the statement reads with
/// <c>json_to_recordset($1) AS u(…)</c>; a row leaves out its null columns (a key that is missing reads as null).
/// Each column is declared once — its name, SQL type, value and the table column it fills — and the record type,
/// the JSON rows and each table's column and select lists are all made from that one list, so a column added,
/// removed or moved changes them together (the worker's <c>UnnestInput</c> does the same for its statements).
/// </summary>
internal sealed class RecordsetInput<TRow>
{
    private sealed record Column(string Name, string SqlType, string? Table, string? Into, string Select, Action<Utf8JsonWriter, TRow> Write);

    // Measured (a batch of four IMMEDIATE schedules in psql, 2026-12-06): reading the rows with jsonb_to_recordset, every
    // column written, null or not, took 77 µs of the insert's 249; json_to_recordset of the rows without their nulls
    // (28 of its 55 columns are null in such a row) took 41 µs, and the insert 208 µs (docs/performance.md).

    private readonly List<Column> _columns = [];

    /// <summary>A column the statement reads but inserts nowhere as it is.</summary>
    public RecordsetInput<TRow> Read<T>(string name, string sqlType, Func<TRow, T> value) => Add(new(name, sqlType, null, null, name, Writer(name, value)));

    /// <summary>
    /// A column inserted into <paramref name="table"/>'s column <paramref name="into"/>: named <paramref name="name"/> in
    /// the input (default: <paramref name="into"/>), inserted as <paramref name="select"/> (default: the input column).
    /// </summary>
    public RecordsetInput<TRow> Into<T>(string table, string into, string sqlType, Func<TRow, T> value, string? name = null, string? select = null)
    {
        var input = name ?? into;
        return Add(new(input, sqlType, table, into, select ?? input, Writer(input, value)));
    }

    /// <summary>The record type for <c>json_to_recordset(…) AS u(…)</c>: <c>ord int, t_name text, …</c>.</summary>
    public string RecordType => string.Join(", ", _columns.Select(c => $"{c.Name} {c.SqlType}"));

    /// <summary>The columns a table's INSERT fills from the input, in order.</summary>
    public string Columns(string table) => string.Join(", ", _columns.Where(c => c.Table == table).Select(c => c.Into));

    /// <summary>What the INSERT's SELECT takes for <see cref="Columns"/>, in the same order.</summary>
    public string Selects(string table) => string.Join(", ", _columns.Where(c => c.Table == table).Select(c => c.Select));

    /// <summary>
    /// The rows as the JSON array the statement reads, each without its null columns: UTF-8, as Npgsql sends a
    /// <c>json</c> parameter's bytes (a string would be encoded to UTF-8 a second time).
    /// </summary>
    public ReadOnlyMemory<byte> ToJson(IEnumerable<TRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                foreach (var column in _columns)
                {
                    column.Write(writer, row);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return buffer.WrittenMemory;
    }

    private RecordsetInput<TRow> Add(Column column)
    {
        if (_columns.Any(c => c.Name == column.Name))
        {
            throw new InvalidOperationException($"The input already has a column {column.Name}.");
        }
        _columns.Add(column);
        return this;
    }

    /// <summary>Writes the column's name and value, or nothing when the value is null.</summary>
    private static Action<Utf8JsonWriter, TRow> Writer<T>(string name, Func<TRow, T> value)
    {
        var property = JsonEncodedText.Encode(name);
        return (writer, row) =>
        {
            if (value(row) is { } present)
            {
                writer.WritePropertyName(property);
                JsonSerializer.Serialize(writer, present);
            }
        };
    }
}
