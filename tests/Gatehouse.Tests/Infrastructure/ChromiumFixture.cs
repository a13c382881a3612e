using Microsoft.Playwright;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// One headless Chromium for a test class (<c>IClassFixture&lt;ChromiumFixture&gt;</c>), driven by Playwright for
/// .NET. The browser is Debian's (<c>/usr/bin/chromium</c>, which scripts/test.sh installs); Playwright's own
/// browser download (<c>playwright install</c>) is never used. Playwright's driver (Node and playwright-core) comes
/// inside the Microsoft.Playwright NuGet package and is copied next to the tests, so nothing is fetched at run time.
/// Tests get a fresh context each through <see cref="BrowserTest"/>.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>
    /// TESTING.md's flags. Playwright adds <c>--headless</c> itself and refuses <c>--user-data-dir</c> in
    /// <c>Args</c>: it launches every browser on a fresh temporary profile of its own and deletes it on close.
    /// </summary>
    private static readonly string[] s_args =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium has not been started.");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium is not installed at {ExecutablePath}, so the browser tests cannot run. Run scripts/test.sh, which " +
                "installs it, or `apt-get install -y chromium`. Never run `playwright install`: these tests use Debian's Chromium.");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            ChromiumSandbox = false,
            Args = s_args,
            Timeout = 60_000,
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
