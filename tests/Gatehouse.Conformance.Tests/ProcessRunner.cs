using System.Diagnostics;
using System.Text;

namespace Gatehouse.Conformance.Tests;

/// <summary>The outcome of a child process: its exit code (null when it was killed) and what it printed.</summary>
public sealed record ProcessRun(int? ExitCode, bool TimedOut, string StandardOutput, string Output, TimeSpan Duration);

/// <summary>
/// Runs a child process with no stdin, captures stdout and stderr, and kills its whole process tree when the
/// timeout passes or the caller cancels, so no test leaves a process behind.
/// </summary>
public static class ProcessRunner
{
    public static async Task<ProcessRun> RunAsync(ProcessStartInfo start, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.StandardOutputEncoding = Encoding.UTF8;
        start.StandardErrorEncoding = Encoding.UTF8;

        var stdout = new StringBuilder();
        var combined = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data, stdout);
        process.ErrorDataReceived += (_, e) => Append(e.Data, null);

        var stopwatch = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (!timedOut)
            {
                throw;
            }
        }

        // The parameterless wait returns once the redirected streams reach end of file.
        process.WaitForExit();
        lock (combined)
        {
            return new ProcessRun(timedOut ? null : process.ExitCode, timedOut, stdout.ToString(), combined.ToString(), stopwatch.Elapsed);
        }

        void Append(string? line, StringBuilder? also)
        {
            if (line is null)
            {
                return;
            }

            lock (combined)
            {
                combined.AppendLine(line);
                also?.AppendLine(line);
            }
        }
    }
}
