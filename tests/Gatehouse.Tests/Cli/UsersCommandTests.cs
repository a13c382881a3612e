using System.Diagnostics;
using Gatehouse.Configuration;
using Microsoft.AspNetCore.Identity;

namespace Gatehouse.Tests.Cli;

/// <summary>`gatehouse users hash-password`, run as a separate process with the password on a pipe.</summary>
public sealed class UsersCommandTests
{
    [Fact]
    public async Task HashPassword_PasswordOnStdin_PrintsOnlyAVerifiableV3Hash()
    {
        var (exitCode, stdout, stderr) = await RunAsync("correct horse battery staple\n");

        Assert.True(exitCode == 0, stderr);
        var hash = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim();
        Assert.DoesNotContain("correct horse", stdout + stderr, StringComparison.Ordinal);
        Assert.True(YamlConfigReader.IsIdentityV3Hash(hash));
        var hasher = new PasswordHasher<BuiltinUser>();
        Assert.Equal(PasswordVerificationResult.Success, hasher.VerifyHashedPassword(null!, hash, "correct horse battery staple"));
        Assert.Equal(PasswordVerificationResult.Failed, hasher.VerifyHashedPassword(null!, hash, "correct horse battery staple\n"));
    }

    [Fact]
    public async Task HashPassword_EmptyStdin_ExitsNonZeroWithoutOutput()
    {
        var (exitCode, stdout, stderr) = await RunAsync("");

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout);
        Assert.Contains("No password", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string stdin)
    {
        var ct = TestContext.Current.CancellationToken;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "gatehouse.dll"), "users", "hash-password" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
