using Scheduler.Core.Hosting;

namespace Scheduler.Tests.Core.Hosting;

/// <summary>When a warm-up may end (CompilationQuiet): quiet looks only while its work goes on, and after its least work.</summary>
public sealed class CompilationQuietTests
{
    [Test]
    public void Quiet_after_four_looks_without_compilation_while_the_work_goes_on()
    {
        var quiet = new CompilationQuiet(leastWork: 0, methodsCompiled: 1_000);
        Assert.Multiple(() =>
        {
            Assert.That(quiet.LookIsQuiet(workDone: 50, methodsCompiled: 1_200), Is.False, "compiling");
            Assert.That(quiet.LookIsQuiet(workDone: 100, methodsCompiled: 1_201), Is.False, "one quiet look");
            Assert.That(quiet.LookIsQuiet(workDone: 150, methodsCompiled: 1_202), Is.False, "two");
            Assert.That(quiet.LookIsQuiet(workDone: 200, methodsCompiled: 1_203), Is.False, "three");
            Assert.That(quiet.LookIsQuiet(workDone: 250, methodsCompiled: 1_204), Is.True, "four");
        });
    }

    [Test]
    public void A_look_in_which_the_work_stood_still_is_not_quiet()
    {
        // A process starved of CPU compiles nothing while its requests wait too.
        var quiet = new CompilationQuiet(leastWork: 0, methodsCompiled: 1_000);
        var looks = new[] { 100, 200, 205, 300, 400, 500, 600 }.Select(work => quiet.LookIsQuiet(work, methodsCompiled: 1_000)).ToArray();
        Assert.That(looks, Is.EqualTo(new[] { false, false, false, false, false, false, true }),
            "the look that saw 5 units of work (under 10) starts the count again");
    }

    [Test]
    public void Not_before_the_least_work()
    {
        var quiet = new CompilationQuiet(leastWork: 1_000, methodsCompiled: 1_000);
        var looks = Enumerable.Range(1, 8).Select(i => quiet.LookIsQuiet(workDone: i * 200, methodsCompiled: 1_000)).ToArray();
        Assert.That(looks, Is.EqualTo(new[] { false, false, false, false, true, true, true, true }),
            "quiet from the fourth look, but only once 1,000 units are done");
    }
}
