using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Scheduler.Api.Security;
using Scheduler.Api.Validation;

namespace Scheduler.Api.Http;

/// <summary>
/// How the list endpoints page (<c>/runs</c>, <c>/schedules</c>, <c>/targets</c>): <c>limit</c> (1 to
/// <c>Limits:MaxPageSize</c>, default 100), <c>skip</c>, and a <c>cursor</c> that keeps its place while rows
/// arrive. Without <c>cursor</c> the answer is a JSON list, as seed 001's clients read it, with the next
/// page's cursor in <c>X-Next-Cursor</c>; with one (empty for the first page) it is <see cref="Page{T}"/>.
/// </summary>
internal sealed class Paging(IOptions<LimitsOptions> limits)
{
    public const int DefaultLimit = 100;
    public const string NextCursorHeader = "X-Next-Cursor";

    /// <summary>The query parameters every list takes.</summary>
    public sealed record Query(
        [property: FromQuery(Name = "skip")] int? Skip,
        [property: FromQuery(Name = "limit")] int? Limit,
        [property: FromQuery(Name = "cursor")] string? Cursor);

    private int MaxLimit => limits.Value.MaxPageSize;

    /// <summary>How many rows a page holds.</summary>
    public int LimitOf(int? limit) => limit ?? Math.Min(DefaultLimit, MaxLimit);

    /// <summary>Checks skip and limit, and decodes the cursor into its <paramref name="keys"/> numbers (null for the first page).</summary>
    public long[]? Check(int? skip, int? limit, string? cursor, int keys, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (skip is < 0)
        {
            errors.Add("skip", "must not be negative.");
        }
        if (limit < 1 || limit > MaxLimit)
        {
            errors.Add("limit", $"must be between 1 and {MaxLimit}.");
        }
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }
        var position = Decode(cursor, keys);
        if (position is null)
        {
            errors.Add("cursor", "is not a cursor this API returned (use next_cursor from the previous page).");
        }
        return position;
    }

    /// <summary>
    /// A list keyed by id alone (schedules, targets): checks <paramref name="query"/>, reads one row more than
    /// the page with <paramref name="read"/> (after id, skip, take) and answers the page, or the problem.
    /// </summary>
    public async Task<Results<Ok<List<TItem>>, Ok<Page<TItem>>, ValidationProblem>> ByIdAsync<TRow, TItem>(
        Query query, HttpResponse response, Func<long, int, int, Task<List<TRow>>> read, Func<TRow, long> idOf, Func<TRow, TItem> itemOf)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(read);
        var errors = new ValidationErrors();
        var after = Check(query.Skip, query.Limit, query.Cursor, keys: 1, errors)?[0] ?? 0;
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        var limit = LimitOf(query.Limit);
        var rows = await read(after, query.Skip ?? 0, limit + 1);
        var (items, next) = Cut(rows, limit, row => [idOf(row)], itemOf);
        return ListOrPage(items, next, query.Cursor, response) is { } page ? TypedResults.Ok(page) : TypedResults.Ok(items);
    }

    /// <summary>
    /// Cuts rows read with <c>Take(limit + 1)</c> to one page: its items, and the cursor of the next page
    /// (null on the last). A request without a cursor gets the items as a list and the next cursor in
    /// <c>X-Next-Cursor</c> (see <see cref="ListOrPage{T}"/>).
    /// </summary>
    public static (List<TItem> Items, string? Next) Cut<TRow, TItem>(IReadOnlyList<TRow> rows, int limit, Func<TRow, long[]> keysOf, Func<TRow, TItem> itemOf)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(keysOf);
        return (rows.Take(limit).Select(itemOf).ToList(), rows.Count > limit ? Encode(keysOf(rows[limit - 1])) : null);
    }

    /// <summary>A page when the request gave a cursor; otherwise null, with the next cursor put in <c>X-Next-Cursor</c>.</summary>
    public static Page<T>? ListOrPage<T>(List<T> items, string? next, string? cursor, HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (cursor is not null)
        {
            return new Page<T>(items, next);
        }
        if (next is not null)
        {
            response.Headers[NextCursorHeader] = next;
        }
        return null;
    }

    private static string Encode(long[] keys) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join(':', keys.Select(k => k.ToString(CultureInfo.InvariantCulture)))))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long[]? Decode(string cursor, int keys)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '='))).Split(':');
            var values = new long[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
                {
                    return null;
                }
            }
            return values.Length == keys ? values : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>One page of a list; <c>next_cursor</c> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
