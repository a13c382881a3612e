using Gatehouse.Servers.Northwind;

if (!CommandLine.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine(error);
    return 2;
}

await using var app = NorthwindServer.Build(options);
await app.RunAsync();
return 0;
