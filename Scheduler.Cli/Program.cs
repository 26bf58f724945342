using System.CommandLine;
using Scheduler.Cli;

return await Commands.Build(Console.Out, Console.Error).Parse(args).InvokeAsync();
