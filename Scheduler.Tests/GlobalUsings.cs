// The namespaces most test files use: the system under test is driven over HTTP with JSON bodies through the
// Infrastructure helpers (SchedulerProcess, TestTarget, the SchedulerApi extensions), and checked in its database.
// Not Scheduler.Core.Model: its enums have the same names as Scheduler.Client's, which the client tests use.
global using System.Net;
global using System.Text.Json.Nodes;
global using NUnit.Framework;
global using Scheduler.Core.Persistence;
global using Scheduler.Tests.Infrastructure;
global using static Scheduler.Tests.Infrastructure.SchedulerApiExtensions;
