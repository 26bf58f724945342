namespace Scheduler.Core.Security;

/// <summary>
/// A URL as the logs show it: without userinfo (<c>user:password@</c>), with every query-string value
/// masked (tokens are often passed there) and without fragment. The path and the parameter names stay,
/// so a line still says which endpoint was called.
/// </summary>
public static class LoggedUrl
{
    public static string Of(string? url)
    {
        if (string.IsNullOrEmpty(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "(not a URL)";
        }
        var query = uri.Query.Length <= 1 ? "" : "?" + string.Join('&', uri.Query[1..].Split('&').Select(Mask));
        return $"{uri.Scheme}://{uri.Authority}{uri.AbsolutePath}{query}";
    }

    private static string Mask(string parameter) =>
        parameter.IndexOf('=', StringComparison.Ordinal) is var equals and >= 0 ? parameter[..(equals + 1)] + SecretProtector.Masked
        : parameter.Length == 0 ? parameter
        : SecretProtector.Masked;
}
