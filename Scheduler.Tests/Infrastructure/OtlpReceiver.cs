using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Scheduler.Tests.Infrastructure;

/// <summary>One span as a process exported it over OTLP.</summary>
public sealed record ExportedSpan(
    string Service, string Name, int Kind, string TraceId, string SpanId, string ParentSpanId,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<(string TraceId, string SpanId)> Links)
{
    public const int Server = 2;
    public const int Client = 3;

    public string? Attribute(string key) => Attributes.TryGetValue(key, out var value) ? value : null;

    public override string ToString() =>
        $"{Service} {Name} kind {Kind} trace {TraceId} span {SpanId} parent {ParentSpanId} [{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}]";
}

/// <summary>
/// An OpenTelemetry collector stand-in on 127.0.0.1 (Kestrel): accepts OTLP/HTTP protobuf exports, keeps the spans
/// (read with a small protobuf reader: only the fields tests look at), and answers 200 to metrics and logs too.
/// Started synchronously, so a fixture can give its address to the processes it starts.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    /// <summary>The variables that make a process export to this receiver, quickly (a batch every 100 ms).</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = BaseAddress.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
    };

    public static OtlpReceiver Start()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = new OtlpReceiver(builder.Build());
        receiver._app.Run(receiver.HandleAsync);
        receiver._app.Start();
        receiver.BaseAddress = new Uri(receiver._app.Urls.First());
        return receiver;
    }

    /// <summary>Waits until a span matching <paramref name="match"/> has been exported, and returns it.</summary>
    public Task<ExportedSpan> WaitForAsync(Func<ExportedSpan, bool> match, string what) =>
        Eventually.ValueAsync(() => Task.FromResult(_spans.FirstOrDefault(match)), TimeSpan.FromSeconds(30), $"{what} (spans exported: {_spans.Count})");

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (context.Request.Path == "/v1/traces")
        {
            foreach (var span in ReadTraces(body.ToArray()))
            {
                _spans.Enqueue(span);
            }
        }
        // An empty ExportTraceServiceResponse (and the same for metrics and logs): everything accepted.
        context.Response.ContentType = "application/x-protobuf";
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }   Resource { repeated KeyValue attributes = 1; }
    // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6;
    //        repeated KeyValue attributes = 9; repeated Link links = 13; }   Link { bytes trace_id = 1; bytes span_id = 2; }
    // KeyValue { string key = 1; AnyValue value = 2; }   AnyValue { string string_value = 1; bool = 2; int64 int_value = 3; double = 4; }
    private static IEnumerable<ExportedSpan> ReadTraces(byte[] request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
        {
            var fields = Fields(resourceSpans.Bytes).ToList();
            var resource = fields.Where(f => f.Number == 1).SelectMany(r => Attributes(r.Bytes)).ToDictionary();
            var service = resource.GetValueOrDefault("service.name", "?");
            foreach (var scopeSpans in fields.Where(f => f.Number == 2))
            {
                foreach (var span in Fields(scopeSpans.Bytes).Where(f => f.Number == 2))
                {
                    yield return ReadSpan(service, span.Bytes);
                }
            }
        }
    }

    private static ExportedSpan ReadSpan(string service, byte[] span)
    {
        var fields = Fields(span).ToList();
        byte[] Bytes(int number) => fields.FirstOrDefault(f => f.Number == number).Bytes ?? [];
        return new ExportedSpan(
            service,
            Encoding.UTF8.GetString(Bytes(5)),
            (int)fields.FirstOrDefault(f => f.Number == 6).Value,
            Convert.ToHexStringLower(Bytes(1)),
            Convert.ToHexStringLower(Bytes(2)),
            Convert.ToHexStringLower(Bytes(4)),
            Attributes(fields.Where(f => f.Number == 9)).ToDictionary(),
            [.. fields.Where(f => f.Number == 13).Select(f =>
            {
                var link = Fields(f.Bytes).ToList();
                return (Convert.ToHexStringLower(link.First(l => l.Number == 1).Bytes), Convert.ToHexStringLower(link.First(l => l.Number == 2).Bytes));
            })]);
    }

    /// <summary>KeyValue messages (each field given is one) as key → value text.</summary>
    private static IEnumerable<KeyValuePair<string, string>> Attributes(IEnumerable<(int Number, ulong Value, byte[] Bytes)> keyValues)
    {
        foreach (var keyValue in keyValues)
        {
            var fields = Fields(keyValue.Bytes).ToList();
            var key = Encoding.UTF8.GetString(fields.First(f => f.Number == 1).Bytes);
            var value = fields.FirstOrDefault(f => f.Number == 2).Bytes is { } any ? Fields(any).FirstOrDefault() : default;
            var text = value.Number switch
            {
                1 => Encoding.UTF8.GetString(value.Bytes),
                2 => (value.Value != 0).ToString(),
                3 => ((long)value.Value).ToString(System.Globalization.CultureInfo.InvariantCulture),
                4 => BitConverter.UInt64BitsToDouble(value.Value).ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "",
            };
            yield return new(key, text);
        }
    }

    /// <summary>A Resource's attributes (its field 1, KeyValue).</summary>
    private static IEnumerable<KeyValuePair<string, string>> Attributes(byte[] resource) =>
        Attributes(Fields(resource).Where(f => f.Number == 1));

    /// <summary>The fields of one protobuf message: number, and the value (varint, fixed) or bytes (length-delimited).</summary>
    private static IEnumerable<(int Number, ulong Value, byte[] Bytes)> Fields(byte[] message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            var number = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    yield return (number, Varint(message, ref position), null!);
                    break;
                case 1:
                    yield return (number, BitConverter.ToUInt64(message, position), null!);
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref position);
                    yield return (number, 0, message[position..(position + length)]);
                    position += length;
                    break;
                case 5:
                    yield return (number, BitConverter.ToUInt32(message, position), null!);
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7}.");
            }
        }
    }

    private static ulong Varint(byte[] message, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
