using Scheduler.Worker.Execution;

namespace Scheduler.Tests.Worker.Execution;

public sealed class ResponseCaptureTests
{
    [Test]
    public async Task A_large_body_is_counted_in_full_and_memory_stays_bounded_by_the_excerpt()
    {
        const long size = 5L * 1024 * 1024;
        using var content = new StreamContent(new RepeatingStream(size));
        // Warm the path once, then measure what reading 5 MB allocates, on a thread of its own (the stream
        // completes synchronously), so nothing else the test runner does at the same time is counted.
        _ = await ResponseCapture.ReadAsync(new StreamContent(new RepeatingStream(1024)), 10 * 1024, CancellationToken.None);
        (long Size, string? Excerpt) captured = default;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            captured = ResponseCapture.ReadAsync(content, 10 * 1024, CancellationToken.None).GetAwaiter().GetResult();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        var (read, excerpt) = captured;

        Assert.That(read, Is.EqualTo(size));
        Assert.That(excerpt, Has.Length.EqualTo(10 * 1024));
        await TestContext.Out.WriteLineAsync($"Reading {size} bytes allocated {allocated} bytes on the reading thread.");
        Assert.That(allocated, Is.LessThan(size / 10), "memory is not proportional to the body");
    }

    /// <summary>A stream of <c>length</c> bytes of 'x' that never holds them.</summary>
    private sealed class RepeatingStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Fill(buffer, (byte)'x', offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
