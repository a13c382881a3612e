using Gatehouse.Servers.Notes;

if (!CommandLine.TryParse(args, out var options, out var demoPasswords, out var error))
{
    Console.Error.WriteLine(error);
    return 2;
}

if (demoPasswords.Count > 0)
{
    // Shown once, on the console of whoever started the server; never logged.
    Console.WriteLine("Demo users for this run (pass --user EMAIL=PASSWORD to choose your own):");
    foreach (var (email, password) in demoPasswords)
    {
        Console.WriteLine($"  {email}  {password}");
    }
}

await using var app = NotesServer.Build(options);
await app.RunAsync();
return 0;
