using System.Net.Sockets;
using Scheduler.Core.Model;
using Scheduler.Worker.Execution;

namespace Scheduler.Tests.Worker.Execution;

public sealed class OutcomeClassificationTests
{
    [TestCase(200, RunStatus.Success, null)]
    [TestCase(204, RunStatus.Success, null)]
    [TestCase(301, RunStatus.Failed, ErrorType.UnexpectedStatus)]
    [TestCase(404, RunStatus.Failed, ErrorType.Http4xx)]
    [TestCase(429, RunStatus.Failed, ErrorType.Http4xx)]
    [TestCase(503, RunStatus.Failed, ErrorType.Http5xx)]
    public void Any_2xx_succeeds_by_default(int code, RunStatus status, ErrorType? errorType)
    {
        var (actualStatus, actualError, message) = CallOutcome.ClassifyStatusCode(code, [], null);
        Assert.That((actualStatus, actualError), Is.EqualTo((status, errorType)));
        Assert.That(message, status == RunStatus.Success ? Is.Null : Does.Contain(code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void Expected_statuses_decide_success_when_given() => Assert.Multiple(() =>
    {
        Assert.That(CallOutcome.ClassifyStatusCode(404, [404], null).Status, Is.EqualTo(RunStatus.Success));
        Assert.That(CallOutcome.ClassifyStatusCode(200, [204], null), Is.EqualTo((RunStatus.Failed, (ErrorType?)ErrorType.UnexpectedStatus, "HTTP 200 (expected 204).")));
    });

    [Test]
    public void Transport_errors_map_to_seed_001s_classes() => Assert.Multiple(() =>
    {
        Assert.That(CallOutcome.ClassifyTransport(new HttpRequestException(HttpRequestError.NameResolutionError)), Is.EqualTo((RunStatus.DnsError, ErrorType.Dns)));
        Assert.That(CallOutcome.ClassifyTransport(new HttpRequestException(HttpRequestError.ConnectionError)), Is.EqualTo((RunStatus.ConnectionError, ErrorType.Connection)));
        Assert.That(CallOutcome.ClassifyTransport(new HttpRequestException(HttpRequestError.SecureConnectionError)), Is.EqualTo((RunStatus.ConnectionError, ErrorType.Tls)));
        Assert.That(CallOutcome.ClassifyTransport(new HttpRequestException("x", new SocketException((int)SocketError.HostNotFound))), Is.EqualTo((RunStatus.DnsError, ErrorType.Dns)));
        Assert.That(CallOutcome.ClassifyTransport(new HttpRequestException("x", new IOException(), HttpStatusCode.OK)), Is.EqualTo((RunStatus.ConnectionError, ErrorType.Connection)));
    });
}
