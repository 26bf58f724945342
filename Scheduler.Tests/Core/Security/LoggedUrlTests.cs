using Scheduler.Core.Security;

namespace Scheduler.Tests.Core.Security;

public sealed class LoggedUrlTests
{
    [TestCase("https://api.example.com/v1/hook", "https://api.example.com/v1/hook")]
    [TestCase("https://alice:s3cret@api.example.com:8443/hook", "https://api.example.com:8443/hook")]
    [TestCase("http://api.example.com/hook?token=abc&page=2", "http://api.example.com/hook?token=***&page=***")]
    [TestCase("http://api.example.com/hook?abc123&x=", "http://api.example.com/hook?***&x=***")]
    [TestCase("http://api.example.com/hook#fragment-secret", "http://api.example.com/hook")]
    [TestCase("not a url", "(not a URL)")]
    public void Urls_lose_userinfo_query_values_and_fragment(string url, string logged) =>
        Assert.That(LoggedUrl.Of(url), Is.EqualTo(logged));
}
