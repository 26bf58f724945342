using System.Buffers;
using System.Text;

namespace Scheduler.Worker.Execution;

/// <summary>
/// Reads a response body as a stream: counts every byte, keeps only the first <c>excerptLimit</c>.
/// Memory stays bounded by the excerpt and one buffer, whatever the body's size.
/// </summary>
internal static class ResponseCapture
{
    private const int BufferSize = 16 * 1024;

    public static async Task<(long Size, string? Excerpt)> ReadAsync(HttpContent content, int excerptLimit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var excerpt = excerptLimit > 0 ? new MemoryStream() : null;
        try
        {
            long size = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                size += read;
                if (excerpt is not null && excerpt.Length < excerptLimit)
                {
                    excerpt.Write(buffer, 0, (int)Math.Min(read, excerptLimit - excerpt.Length));
                }
            }
            return (size, excerpt is null ? null : ToText(excerpt));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (excerpt is not null)
            {
                await excerpt.DisposeAsync();
            }
        }
    }

    // PostgreSQL text cannot hold NUL; a cut multi-byte character decodes to U+FFFD.
    private static string ToText(MemoryStream bytes) =>
        Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length).Replace('\0', '\uFFFD');
}
