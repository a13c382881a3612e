using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// Base of a browser test class: Chromium is shared by the class (<see cref="ChromiumFixture"/>), each test opens
/// fresh contexts (no cookies, storage or cache from another test) through <see cref="NewPageAsync"/>. Console
/// errors and uncaught page errors of every page are collected in <see cref="ConsoleErrors"/>. When a test fails,
/// every page it left open is saved as a screenshot under artifacts/test-results/screenshots and the console is
/// written to the test output.
/// </summary>
public abstract class BrowserTest(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IAsyncLifetime
{
    /// <summary>Long enough for a slow CI machine, short enough that a wrong wait fails well within the test's budget.</summary>
    private const float DefaultTimeoutMs = 15_000;

    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentQueue<string> _console = new();
    private readonly ConcurrentQueue<string> _errors = new();

    public static string ScreenshotDirectory => Path.Combine(NodeTools.RepositoryRoot, "artifacts", "test-results", "screenshots");

    /// <summary>Console messages of level error and uncaught exceptions, each with the URL of the page it came from.</summary>
    protected IReadOnlyCollection<string> ConsoleErrors => _errors;

    /// <summary>A page in a new, empty browser context.</summary>
    protected async Task<IPage> NewPageAsync(BrowserNewContextOptions? options = null)
    {
        var context = await chromium.Browser.NewContextAsync(options);
        _contexts.Add(context);
        context.SetDefaultTimeout(DefaultTimeoutMs);
        context.SetDefaultNavigationTimeout(DefaultTimeoutMs);
        context.Console += (_, message) =>
        {
            var line = $"[{message.Type}] {message.Text} (page {message.Page?.Url}, at {message.Location})";
            _console.Enqueue(line);
            if (message.Type == "error")
            {
                _errors.Enqueue(line);
            }
        };
        context.WebError += (_, error) => _errors.Enqueue($"[uncaught] {error.Error} ({error.Page?.Url})");
        return await context.NewPageAsync();
    }

    protected void AssertNoConsoleErrors() =>
        Assert.True(_errors.IsEmpty, "The browser reported errors:\n" + string.Join("\n", _errors));

    /// <summary>Saves a screenshot of <paramref name="page"/> named after the test and <paramref name="name"/>; returns its path.</summary>
    protected static async Task<string> SaveScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var test = TestContext.Current.Test?.TestDisplayName ?? "test";
        var file = string.Concat($"{test}-{name}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')) + ".png";
        var path = Path.Combine(ScreenshotDirectory, file);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        // xUnit sets the test's result before it disposes the test class, so a failure can be recorded here.
        if (TestContext.Current.TestState?.Result == TestResult.Failed)
        {
            await RecordFailureAsync();
        }

        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task RecordFailureAsync()
    {
        var output = TestContext.Current.TestOutputHelper;
        var pages = _contexts.SelectMany(c => c.Pages).ToList();
        for (var i = 0; i < pages.Count; i++)
        {
            try
            {
                var path = await SaveScreenshotAsync(pages[i], $"failure-{i}");
                output?.WriteLine($"Screenshot of {pages[i].Url}: {path}");
            }
            catch (PlaywrightException e)
            {
                output?.WriteLine($"No screenshot of {pages[i].Url}: {e.Message}");
            }
        }

        output?.WriteLine("Browser console:\n" + string.Join("\n", _console));
    }
}
