using Gatehouse.Conformance.Server;

// Standalone entry point: `dotnet run --project tests/Gatehouse.ConformanceServer -- --urls http://127.0.0.1:3001`.
// Tests host the same app in-process through ConformanceServer.Build.
var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
await using var app = ConformanceServer.Build(configuration["urls"] ?? ConformanceServer.DefaultUrls);
await app.RunAsync();
