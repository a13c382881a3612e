using System.CommandLine;
using System.CommandLine.Invocation;
using Gatehouse.Cli;

var root = new RootCommand("Gatehouse: an identity-aware gateway for Model Context Protocol servers.")
{
    ServeCommand.Create(),
    CheckConfigCommand.Create(),
    DemoCommand.Create(),
    UsersCommand.Create(),
    ServiceAccountCommand.Create(),
    AuditCommand.Create(),
    ProbeCommand.Create(),
};

var parse = root.Parse(args);
if (parse.Action is ParseErrorAction error)
{
    // Errors alone, on standard error: a command whose output a script captures (`TOKEN=$(gatehouse ...)`) must not
    // capture a help text instead. `--help` still prints it.
    error.ShowHelp = false;
}

return await parse.InvokeAsync();
