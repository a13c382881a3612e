using Gatehouse.Chat;

// Standalone: `dotnet run --project src/Gatehouse.Chat`, configured from environment variables with the prefix
// GATEHOUSE_CHAT_ (GATEHOUSE_CHAT_PUBLICURL, GATEHOUSE_CHAT_LLM__ENDPOINT, GATEHOUSE_CHAT_LLM__APIKEY,
// GATEHOUSE_CHAT_LLM__MODELS__0, GATEHOUSE_CHAT_LLM__API, ...) or the command line (--PublicUrl=...). See docs/chat.md.
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables("GATEHOUSE_CHAT_")
    .AddCommandLine(args)
    .Build();
var options = ChatAppOptions.FromConfiguration(configuration);
await using var app = ChatApp.Build(options);
await app.RunAsync();
