namespace Scheduler.Tests.Infrastructure;

/// <summary>The API keys every process under test is started with.</summary>
public static class TestKeys
{
    public const string Admin = "test-admin-key-4f1c2e9a7b";
    public const string ReadOnly = "test-read-only-key-8d3b6a0c";

    public static IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Auth__ApiKeys__0__Name"] = "tests-admin",
        ["Auth__ApiKeys__0__Key"] = Admin,
        ["Auth__ApiKeys__0__Role"] = "admin",
        ["Auth__ApiKeys__1__Name"] = "tests-reader",
        ["Auth__ApiKeys__1__Key"] = ReadOnly,
        ["Auth__ApiKeys__1__Role"] = "read_only",
    };
}
