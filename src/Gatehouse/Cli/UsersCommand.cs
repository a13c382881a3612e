using System.CommandLine;
using System.Text;
using Gatehouse.Configuration;
using Microsoft.AspNetCore.Identity;

namespace Gatehouse.Cli;

/// <summary><c>gatehouse users hash-password</c>: the hash for a built-in user's <c>password_hash</c>.</summary>
internal static class UsersCommand
{
    public static Command Create()
    {
        var hash = new Command("hash-password",
            "Read a password from standard input (typed without echo, or piped) and print its ASP.NET Core Identity v3 hash for `password_hash`.");
        hash.SetAction(async _ =>
        {
            var password = Console.IsInputRedirected ? await ReadPipedAsync() : ReadHidden();
            if (string.IsNullOrEmpty(password))
            {
                await Console.Error.WriteLineAsync("No password was given on standard input.");
                return 1;
            }

            Console.Out.WriteLine(HashPassword(password));
            return 0;
        });

        return new Command("users", "Manage users of the built-in identity provider.") { hash };
    }

    public static string HashPassword(string password) => new PasswordHasher<BuiltinUser>().HashPassword(null!, password);

    /// <summary>The first line of a pipe (without its line ending), so `echo secret | gatehouse users hash-password` works.</summary>
    private static async Task<string?> ReadPipedAsync() => (await Console.In.ReadLineAsync())?.TrimEnd('\r');

    private static string ReadHidden()
    {
        Console.Error.Write("Password: ");
        var password = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (password.Length > 0)
                {
                    password.Length--;
                }

                continue;
            }

            if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return password.ToString();
    }
}
