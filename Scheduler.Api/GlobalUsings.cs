// The namespaces most files of the API use: the options, the HTTP contracts and Core's model and database.
global using Microsoft.Extensions.Options;
global using Scheduler.Api.Contracts;
global using Scheduler.Core.Model;
global using Scheduler.Core.Persistence;
