using System.CommandLine;
using Gatehouse.Cli;

var root = new RootCommand("Gatehouse: an identity-aware gateway for Model Context Protocol servers.")
{
    ServeCommand.Create(),
    CheckConfigCommand.Create(),
    DemoCommand.Create(),
    UsersCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
