// The namespaces most files of Core use: the options, the domain model and raw SQL over Npgsql.
global using Microsoft.Extensions.Options;
global using Npgsql;
global using Scheduler.Core.Model;
