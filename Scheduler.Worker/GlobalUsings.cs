// The namespaces most files of the worker use: the options, Core's model, jobs and database, and the raw SQL of the run store.
global using Microsoft.Extensions.Options;
global using Npgsql;
global using Scheduler.Core.Hosting;
global using Scheduler.Core.Jobs;
global using Scheduler.Core.Model;
global using Scheduler.Core.Persistence;
global using Scheduler.Worker.Execution;
