using Microsoft.AspNetCore.Routing.Patterns;

namespace Scheduler.Api.Compat;

/// <summary>Marks the endpoints of one adapter: the setting that placed it, and its prefix.</summary>
internal sealed record CompatAdapter(string Setting, string Prefix);

/// <summary>
/// Refuses to start when an adapter's routes would take requests meant for another endpoint. The check
/// runs on the endpoints actually mapped (the native API, the dashboard, the docs, the other adapters), so
/// a prefix is refused only for a real conflict — two endpoints that one request could reach — and any
/// prefix, <c>/</c> included, is fine while there is none.
/// </summary>
internal static class CompatRoutes
{
    /// <summary>Call after every endpoint is mapped; throws, naming each conflict, if there is one.</summary>
    public static WebApplication RefuseCompatRouteConflicts(this WebApplication app)
    {
        var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            // A fallback only gets what nothing else matches.
            .Where(e => e.Order != int.MaxValue).ToList();
        var constraints = app.Services.GetRequiredService<IInlineConstraintResolver>();
        var conflicts = new List<string>();
        for (var i = 0; i < endpoints.Count; i++)
        {
            for (var j = i + 1; j < endpoints.Count; j++)
            {
                var (a, b) = (endpoints[i], endpoints[j]);
                var (adapterA, adapterB) = (a.Metadata.GetMetadata<CompatAdapter>(), b.Metadata.GetMetadata<CompatAdapter>());
                // Only an adapter's placement is checked here; within one adapter the routes are its own.
                if ((adapterA is null && adapterB is null) || (adapterA is not null && adapterA.Setting == adapterB?.Setting))
                {
                    continue;
                }
                if (MethodsOverlap(a, b) && Overlap(a.RoutePattern.PathSegments, 0, b.RoutePattern.PathSegments, 0, constraints))
                {
                    var (adapter, other) = adapterA is not null ? (a, b) : (b, a);
                    conflicts.Add($"route conflict: {Describe(adapter)} and {Describe(other)} match the same requests.");
                }
            }
        }
        if (conflicts.Count > 0)
        {
            throw new OptionsValidationException(CompatOptions.Section, typeof(CompatOptions),
                [.. conflicts, "Give each adapter named a prefix of its own (Compat:*Prefix), or turn it off (empty)."]);
        }
        return app;
    }

    private static string Describe(RouteEndpoint endpoint)
    {
        var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } m ? string.Join("|", m) : "any method";
        var path = "/" + endpoint.RoutePattern.RawText?.TrimStart('/');
        return endpoint.Metadata.GetMetadata<CompatAdapter>() is { } adapter
            ? $"{methods} {path} (Compat:{adapter.Setting}={adapter.Prefix})"
            : endpoint.Metadata.GetMetadata<IEndpointNameMetadata>() is { } name ? $"{methods} {path} ({name.EndpointName})" : $"{methods} {path}";
    }

    private static bool MethodsOverlap(RouteEndpoint a, RouteEndpoint b)
    {
        var (ma, mb) = (a.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods, b.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods);
        return ma is not { Count: > 0 } || mb is not { Count: > 0 } || ma.Intersect(mb, StringComparer.OrdinalIgnoreCase).Any();
    }

    /// <summary>Whether some path matches both patterns from these segments on.</summary>
    private static bool Overlap(IReadOnlyList<RoutePatternPathSegment> a, int i, IReadOnlyList<RoutePatternPathSegment> b, int j, IInlineConstraintResolver constraints)
    {
        if (CatchAll(a, i) || CatchAll(b, j))
        {
            return true;
        }
        if (i == a.Count || j == b.Count)
        {
            return Optional(a, i) && Optional(b, j);
        }
        return (SegmentsOverlap(a[i], b[j], constraints) && Overlap(a, i + 1, b, j + 1, constraints))
               || (Parameter(a[i]) is { IsOptional: true } && Overlap(a, i + 1, b, j, constraints))
               || (Parameter(b[j]) is { IsOptional: true } && Overlap(a, i, b, j + 1, constraints));
    }

    private static RoutePatternParameterPart? Parameter(RoutePatternPathSegment segment) =>
        segment.IsSimple ? segment.Parts[0] as RoutePatternParameterPart : null;

    private static bool CatchAll(IReadOnlyList<RoutePatternPathSegment> segments, int i) => i < segments.Count && Parameter(segments[i]) is { IsCatchAll: true };

    private static bool Optional(IReadOnlyList<RoutePatternPathSegment> segments, int i) => segments.Skip(i).All(s => Parameter(s) is { IsOptional: true } or { IsCatchAll: true });

    private static bool SegmentsOverlap(RoutePatternPathSegment a, RoutePatternPathSegment b, IInlineConstraintResolver constraints)
    {
        var (literalA, literalB) = (Literal(a), Literal(b));
        return (literalA, literalB) switch
        {
            ({ } x, { } y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase),
            ({ } x, null) => Accepts(b, x, constraints),
            (null, { } y) => Accepts(a, y, constraints),
            // Two parameters (or a segment mixing text and parameters): assume some value fits both.
            _ => true,
        };
    }

    private static string? Literal(RoutePatternPathSegment segment) =>
        segment.IsSimple && segment.Parts[0] is RoutePatternLiteralPart literal ? literal.Content : null;

    /// <summary>Whether a parameter segment takes this literal (its constraints allow it); a mixed segment is assumed to.</summary>
    private static bool Accepts(RoutePatternPathSegment segment, string literal, IInlineConstraintResolver constraints)
    {
        if (Parameter(segment) is not { } parameter)
        {
            return true;
        }
        var values = new RouteValueDictionary { [parameter.Name] = literal };
        return parameter.ParameterPolicies.All(policy =>
            (policy.ParameterPolicy as IRouteConstraint ?? (policy.Content is { } content ? constraints.ResolveConstraint(content) : null)) is not { } constraint
            || constraint.Match(null, null, parameter.Name, values, RouteDirection.IncomingRequest));
    }
}
