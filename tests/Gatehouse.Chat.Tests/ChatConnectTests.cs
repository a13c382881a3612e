using Gatehouse.Chat.Tests.Infrastructure;
using Gatehouse.Tests.Infrastructure;
using Gatehouse.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gatehouse.Chat.Tests;

/// <summary>
/// A server that needs the user's own account at a provider: the chat shows it Not connected, and Connect sends the
/// browser through the gateway's <c>/.gatehouse/mcp/connect</c> and back to the chat, where it is Connected.
/// </summary>
public sealed class ChatConnectTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private ChatStack? _stack;

    public override async ValueTask InitializeAsync() =>
        _stack = await ChatStack.StartAsync(services => services.AddSingleton<IUpstreamConnections>(new FakeUpstreamConnections("northwind")));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await ChatStack.StopAndCheckLogsAsync(_stack);
    }

    [Fact]
    public async Task Connect_ServerNeedingOAuth_ThroughGatewayAndBackConnected()
    {
        var page = await NewPageAsync();
        await ChatStack.SignInAsync(page, _stack!.RunnerUrl, ChatStack.Alice);
        var northwind = page.Locator("li.server[data-server=northwind]");
        await Expect(northwind).ToContainTextAsync("Not connected");
        await Expect(northwind.GetByRole(AriaRole.Checkbox)).ToBeDisabledAsync();
        var connect = northwind.GetByRole(AriaRole.Link, new() { Name = "Connect" });
        var href = await connect.GetAttributeAsync("href");
        Assert.StartsWith(new Uri(_stack.Gateway.BaseUri, "/.gatehouse/mcp/connect?server=").ToString(), href, StringComparison.Ordinal);

        await connect.ClickAsync();

        await Expect(page).ToHaveURLAsync(_stack.RunnerUrl.ToString());
        await Expect(northwind).ToContainTextAsync("Connected");
        await Expect(northwind).Not.ToContainTextAsync("Not connected");
        await Expect(northwind.GetByRole(AriaRole.Checkbox)).ToBeEnabledAsync();

        // A failed connection comes back with connect_error, shown as text.
        await page.GotoAsync(_stack.RunnerUrl + "?connect_error=" + Uri.EscapeDataString("The provider refused <b>access</b>"));
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Connecting failed: The provider refused <b>access</b>");
        AssertNoConsoleErrors();
    }
}
