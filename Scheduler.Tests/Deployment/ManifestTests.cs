using System.Globalization;
using System.Text.RegularExpressions;

namespace Scheduler.Tests.Deployment;

/// <summary>
/// Offline checks of the Kubernetes manifests, as <c>kubectl kustomize</c> renders them (no cluster here): pods that
/// pass the "restricted" profile as the images' own user, probes on the ports the processes listen on, resources,
/// a PodDisruptionBudget per Deployment, the autoscalers on the right targets, the network closed where it should be.
/// </summary>
[TestFixture("deploy/base")]
[TestFixture("deploy/overlays/dev")]
[TestFixture("deploy/overlays/prod")]
public sealed partial class ManifestTests(string kustomization)
{
    /// <summary>APP_UID of the mcr.microsoft.com/dotnet images, the user the Dockerfiles run as.</summary>
    private const string AppUid = "1654";

    private IReadOnlyList<JsonObject> _objects = [];

    [OneTimeSetUp]
    public async Task RenderAsync()
    {
        _objects = await Manifests.RenderAsync(kustomization)
            ?? throw new IgnoreException($"kubectl is not installed: the offline Kubernetes checks of {kustomization} need 'kubectl kustomize' (skipped).");
    }

    [TestCase("Scheduler.Api/Dockerfile")]
    [TestCase("Scheduler.Worker/Dockerfile")]
    public void Images_run_as_the_numeric_user_the_pods_name(string dockerfile)
    {
        var lines = File.ReadAllLines(Manifests.PathOf(dockerfile));
        var finalStage = lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(finalStage, Does.StartWith("FROM mcr.microsoft.com/dotnet/"), "APP_UID comes from the .NET images");
            Assert.That(lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal)), Is.AnyOf("USER $APP_UID", $"USER {AppUid}"));
        });
    }

    [Test]
    public void Every_pod_passes_the_restricted_profile_as_the_images_user() => Assert.Multiple(() =>
    {
        foreach (var (owner, pod) in PodTemplates())
        {
            var security = pod["securityContext"];
            Assert.That(Text(security?["runAsNonRoot"]), Is.EqualTo("true"), owner);
            Assert.That(Text(security?["runAsUser"]), Is.EqualTo(AppUid), owner);
            Assert.That(Text(security?["runAsGroup"]), Is.EqualTo(AppUid), owner);
            Assert.That(Text(security?["fsGroup"]), Is.EqualTo(AppUid), owner);
            Assert.That(Text(pod["hostNetwork"]) ?? "false", Is.EqualTo("false"), owner);
            foreach (var container in Containers(pod))
            {
                var name = $"{owner} container {Text(container["name"])}";
                var own = container["securityContext"];
                Assert.That(Text(own?["allowPrivilegeEscalation"]), Is.EqualTo("false"), name);
                Assert.That(Text(own?["privileged"]) ?? "false", Is.EqualTo("false"), name);
                Assert.That(own?["capabilities"]?["drop"]?.AsArray().Select(Text), Does.Contain("ALL"), name);
                Assert.That(own?["capabilities"]?["add"], Is.Null, name);
                Assert.That(Text(own?["readOnlyRootFilesystem"]), Is.EqualTo("true"), name);
                Assert.That(Text(own?["seccompProfile"]?["type"] ?? security?["seccompProfile"]?["type"]), Is.EqualTo("RuntimeDefault"), name);
                Assert.That(container["volumeMounts"]?.AsArray().Select(m => Text(m!["mountPath"])), Does.Contain("/tmp"),
                    $"{name}: the root is read-only, .NET writes to /tmp");
            }
        }
    });

    [Test]
    public void The_namespace_enforces_the_restricted_profile_and_holds_everything()
    {
        var ns = Single("Namespace");
        var name = Text(ns["metadata"]!["name"]);
        Assert.Multiple(() =>
        {
            Assert.That(Text(ns["metadata"]!["labels"]?["pod-security.kubernetes.io/enforce"]), Is.EqualTo("restricted"));
            Assert.That(_objects.Where(o => Kind(o) != "Namespace").Select(o => $"{Kind(o)} in {Text(o["metadata"]!["namespace"])}"),
                Has.All.EndsWith($" in {name}"));
        });
    }

    [Test]
    public void Every_container_has_resources() => Assert.Multiple(() =>
    {
        foreach (var (owner, pod) in PodTemplates())
        {
            foreach (var container in Containers(pod))
            {
                var resources = container["resources"];
                Assert.That(resources?["requests"]?["cpu"], Is.Not.Null, owner);
                Assert.That(resources?["requests"]?["memory"], Is.Not.Null, owner);
                Assert.That(resources?["limits"]?["memory"], Is.Not.Null, owner);
            }
        }
    });

    [Test]
    public void Every_Deployment_probes_the_port_its_process_listens_on() => Assert.Multiple(() =>
    {
        foreach (var deployment in OfKind("Deployment"))
        {
            foreach (var container in Containers(Pod(deployment)))
            {
                var name = $"{Name(deployment)} container {Text(container["name"])}";
                var (host, port) = ListenAddress(container);
                Assert.That(host, Is.EqualTo("0.0.0.0").Or.EqualTo("+"), $"{name}: the kubelet probes from outside the container");
                foreach (var probe in new[] { "livenessProbe", "readinessProbe" })
                {
                    var httpGet = container[probe]?["httpGet"];
                    Assert.That(httpGet, Is.Not.Null, $"{name} has an HTTP {probe}");
                    Assert.That(ProbePort(container, httpGet?["port"]), Is.EqualTo(port), $"{name}: {probe} port");
                    Assert.That(Text(httpGet?["path"]), Is.EqualTo(probe == "livenessProbe" ? "/health/live" : "/health/ready"), $"{name}: {probe} path");
                }
            }
        }
    });

    [Test]
    public void Workers_have_longer_to_stop_than_their_shutdown_grace()
    {
        var grace = TimeSpan.Parse(Text(Single("ConfigMap")["data"]!["Hangfire__ShutdownTimeout"])!, CultureInfo.InvariantCulture);
        var worker = Named("Deployment", "scheduler-worker");
        // The worker's host waits Hangfire:ShutdownTimeout + 10 s; the kubelet must not kill it before.
        Assert.That(int.Parse(Text(Pod(worker)["terminationGracePeriodSeconds"])!, CultureInfo.InvariantCulture), Is.GreaterThan(grace.TotalSeconds + 10));
    }

    [Test]
    public void Every_Deployment_has_a_PodDisruptionBudget() => Assert.Multiple(() =>
    {
        foreach (var deployment in OfKind("Deployment"))
        {
            var labels = Pod(deployment, "metadata")["labels"]!.AsObject();
            var budgets = OfKind("PodDisruptionBudget").Where(pdb =>
                pdb["spec"]!["selector"]!["matchLabels"]!.AsObject().All(l => Text(labels[l.Key]) == Text(l.Value)));
            Assert.That(budgets.Count(), Is.EqualTo(1), $"PodDisruptionBudgets selecting {Name(deployment)}");
        }
    });

    [Test]
    public void Images_carry_the_release_tag_and_the_migration_Job_its_name() => Assert.Multiple(() =>
    {
        foreach (var (owner, pod) in PodTemplates())
        {
            var workload = _objects.Single(o => $"{Kind(o)}/{Name(o)}" == owner);
            var version = Text(workload["metadata"]!["labels"]?["app.kubernetes.io/version"]);
            Assert.That(version, Is.Not.Null.And.Not.Empty, owner);
            Assert.That(Containers(pod).Select(c => Text(c["image"])), Has.All.EndsWith($":{version}"), owner);
            if (Kind(workload) == "Job")
            {
                Assert.That(Name(workload), Is.EqualTo($"scheduler-migrate-{version}"), "a new Job per release: a Job's pod template cannot change");
            }
        }
    });

    [Test]
    public void Autoscalers_target_the_Deployments_they_scale_and_own_their_replicas()
    {
        var scaledObjects = OfKind("ScaledObject").ToList();
        var hpas = OfKind("HorizontalPodAutoscaler").ToList();
        if (kustomization.EndsWith("dev", StringComparison.Ordinal) || kustomization.EndsWith("base", StringComparison.Ordinal))
        {
            Assert.Multiple(() =>
            {
                Assert.That(scaledObjects.Concat(hpas), Is.Empty, "no autoscaling here");
                Assert.That(OfKind("Deployment").Select(d => Text(d["spec"]!["replicas"])),
                    Has.All.EqualTo(kustomization.EndsWith("dev", StringComparison.Ordinal) ? "1" : "2"));
            });
            return;
        }
        var keda = scaledObjects.Single();
        var trigger = keda["spec"]!["triggers"]!.AsArray().Single()!;
        Assert.Multiple(() =>
        {
            Assert.That(Text(keda["spec"]!["scaleTargetRef"]!["name"]), Is.EqualTo("scheduler-worker"));
            Assert.That(Text(keda["spec"]!["scaleTargetRef"]!["kind"]) ?? "Deployment", Is.EqualTo("Deployment"));
            Assert.That(Text(trigger["type"]), Is.EqualTo("postgresql"));
            Assert.That(Text(trigger["metadata"]!["query"]), Is.EqualTo(KedaQueryTests.KedaQuery()), "the query the KEDA test runs");
            Assert.That(int.Parse(Text(keda["spec"]!["minReplicaCount"])!, CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(1),
                "workers also dispatch and reconcile: never zero");
            Assert.That(Text(hpas.Single()["spec"]!["scaleTargetRef"]!["name"]), Is.EqualTo("scheduler-api"));
            Assert.That(Text(hpas.Single()["spec"]!["metrics"]![0]!["resource"]!["name"]), Is.EqualTo("cpu"));
            Assert.That(OfKind("Deployment").Select(d => d["spec"]!["replicas"]), Has.All.Null, "applying again must not reset what the autoscalers chose");
        });
    }

    [Test]
    public void Workers_reach_the_public_internet_only_and_the_API_takes_requests_on_its_port_only()
    {
        var worker = Named("NetworkPolicy", "scheduler-worker")["spec"]!;
        var blocks = worker["egress"]!.AsArray().SelectMany(rule => rule!["to"]!.AsArray()).Select(peer => peer!["ipBlock"]!).ToList();
        var api = Named("NetworkPolicy", "scheduler-api")["spec"]!;
        Assert.Multiple(() =>
        {
            Assert.That(OfKind("NetworkPolicy").Any(p => p["spec"]!["podSelector"]!.AsObject().Count == 0
                && p["spec"]!["ingress"] is null && p["spec"]!["egress"] is null), Is.True, "a default deny");
            Assert.That(blocks.Where(b => Text(b["cidr"]) == "0.0.0.0/0").SelectMany(b => b["except"]!.AsArray().Select(Text)),
                Is.SupersetOf(new[] { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8", "100.64.0.0/10" }));
            Assert.That(blocks.Select(b => Text(b["cidr"])), Is.SubsetOf(new[] { "0.0.0.0/0", "::/0" }));
            Assert.That(api["ingress"]!.AsArray().SelectMany(rule => rule!["ports"]!.AsArray()).Select(p => Text(p!["port"])), Is.EqualTo(new[] { "8080" }));
        });
    }

    [Test]
    public void Prometheus_scrapes_the_API_with_a_key_the_API_knows_and_each_worker_on_its_listening_port()
    {
        if (!kustomization.EndsWith("prod", StringComparison.Ordinal))
        {
            Assert.That(OfKind("ServiceMonitor").Concat(OfKind("PodMonitor")), Is.Empty, "the Prometheus Operator is for prod only");
            return;
        }
        var monitor = Named("ServiceMonitor", "scheduler-api")["spec"]!;
        var endpoint = monitor["endpoints"]!.AsArray().Single()!;
        var service = Named("Service", "scheduler-api");
        var api = Containers(Pod(Named("Deployment", "scheduler-api"))).Single();
        var credentials = endpoint["authorization"]!["credentials"]!;
        var keys = api["env"]!.AsArray().Where(e => Text(e!["valueFrom"]?["secretKeyRef"]?["name"]) == Text(credentials["name"])
            && Text(e!["valueFrom"]!["secretKeyRef"]!["key"]) == Text(credentials["key"])).Select(e => Text(e!["name"])).ToList();
        var podMonitor = Named("PodMonitor", "scheduler-worker")["spec"]!;
        var workerEndpoint = podMonitor["podMetricsEndpoints"]!.AsArray().Single()!;
        var worker = Containers(Pod(Named("Deployment", "scheduler-worker"))).Single();
        Assert.Multiple(() =>
        {
            Assert.That(monitor["selector"]!["matchLabels"]!.AsObject().All(l => Text(service["metadata"]!["labels"]?[l.Key]) == Text(l.Value)), Is.True,
                "the ServiceMonitor selects the API's Service");
            Assert.That(service["spec"]!["ports"]!.AsArray().Select(p => Text(p!["name"])), Does.Contain(Text(endpoint["port"])));
            Assert.That(Text(endpoint["path"]), Is.EqualTo("/metrics/prometheus"));
            Assert.That(Text(endpoint["authorization"]!["type"]), Is.EqualTo("Bearer"));
            Assert.That(keys, Has.One.Match(@"^Auth__ApiKeys__\d+__Key$"), "the API takes the scrape's Bearer token as one of its keys");
            Assert.That(podMonitor["selector"]!["matchLabels"]!.AsObject().All(l => Text(Named("Deployment", "scheduler-worker")["spec"]!["template"]!["metadata"]!["labels"]![l.Key]) == Text(l.Value)),
                Is.True, "the PodMonitor selects the worker pods");
            Assert.That(ProbePort(worker, workerEndpoint["port"]), Is.EqualTo(ListenAddress(worker).Port), "workers serve /metrics on their health port");
            Assert.That(Text(workerEndpoint["path"]), Is.EqualTo("/metrics"));
            Assert.That(new[] { Text(monitor["jobLabel"]), Text(podMonitor["jobLabel"]) }, Is.All.EqualTo("app.kubernetes.io/name"),
                "jobs scheduler-api and scheduler-worker, as deploy/prometheus/alerts.yaml expects");
        });
    }

    private static (string Host, string Port) ListenAddress(JsonNode container)
    {
        var image = Text(container["image"])!;
        var dockerfile = image.Contains("scheduler-worker", StringComparison.Ordinal) ? "Scheduler.Worker/Dockerfile" : "Scheduler.Api/Dockerfile";
        var settings = DockerfileEnv(dockerfile);
        foreach (var env in container["env"]?.AsArray() ?? [])
        {
            if (env!["value"] is { } value)
            {
                settings[Text(env["name"])!] = Text(value)!;
            }
        }
        if (dockerfile.Contains("Worker", StringComparison.Ordinal))
        {
            // Defaults of WorkerHttpOptions.
            return (settings.GetValueOrDefault("Worker__HttpHost", "127.0.0.1"), settings.GetValueOrDefault("Worker__HttpPort", "8081"));
        }
        var url = UrlPattern().Match(settings.GetValueOrDefault("ASPNETCORE_URLS", "http://localhost:5000"));
        return (url.Groups["host"].Value, url.Groups["port"].Value);
    }

    private static string? ProbePort(JsonNode container, JsonNode? port)
    {
        var named = Text(port);
        return container["ports"]?.AsArray().Where(p => Text(p!["name"]) == named).Select(p => Text(p!["containerPort"])).SingleOrDefault() ?? named;
    }

    private static Dictionary<string, string> DockerfileEnv(string dockerfile)
    {
        var text = File.ReadAllText(Manifests.PathOf(dockerfile)).Replace("\\\n", " ", StringComparison.Ordinal);
        var finalStage = text[text.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        return finalStage.Split('\n').Where(l => l.StartsWith("ENV ", StringComparison.Ordinal))
            .SelectMany(l => EnvPair().Matches(l[4..]))
            .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
    }

    [GeneratedRegex(@"^https?://(?<host>[^:/]+):(?<port>\d+)")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?<value>\S*)")]
    private static partial Regex EnvPair();

    private IEnumerable<(string Owner, JsonNode Pod)> PodTemplates() =>
        _objects.Where(o => Kind(o) is "Deployment" or "Job").Select(o => ($"{Kind(o)}/{Name(o)}", Pod(o)));

    private static JsonNode Pod(JsonNode workload, string part = "spec") => workload["spec"]!["template"]![part]!;

    private static IEnumerable<JsonNode> Containers(JsonNode pod) =>
        pod["containers"]!.AsArray().Concat(pod["initContainers"]?.AsArray() ?? []).Select(c => c!);

    private IEnumerable<JsonObject> OfKind(string kind) => _objects.Where(o => Kind(o) == kind);

    private JsonObject Single(string kind) => OfKind(kind).Single();

    private JsonObject Named(string kind, string name) => OfKind(kind).Single(o => Name(o) == name);

    private static string? Kind(JsonNode o) => Text(o["kind"]);

    private static string? Name(JsonNode o) => Text(o["metadata"]!["name"]);

    private static string? Text(JsonNode? node) => node?.ToString();
}
