using Gatehouse.Audit;
using Gatehouse.Chat.Tests.Infrastructure;
using Gatehouse.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gatehouse.Chat.Tests;

/// <summary>
/// Gatehouse Chat as a person uses it, in Chromium, end to end: the real gateway signs the user in and forwards the
/// chat (a client route) with the identity assertion and the TE; the chat lists the user's servers through the
/// routes API, and the scripted LLM's tool calls reach Northwind through the gateway as that user, under its policy
/// and audit. Each test starts its own stack.
/// </summary>
public sealed class ChatBrowserTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private const string Question = "What were our sales by year?";

    private ChatStack? _stack;

    private ChatStack Stack => _stack!;

    public override async ValueTask InitializeAsync() => _stack = await ChatStack.StartAsync();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await ChatStack.StopAndCheckLogsAsync(_stack);
    }

    [Fact]
    public async Task Chat_AliceAsksSalesByYear_AnswerAndToolCardShownAndCallAuditedAsAlice()
    {
        var page = await AliceAsksSalesByYearAsync(Stack.ChatUrl, "client-route:chat");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send" })).ToBeVisibleAsync();

        // The LLM got the API key, the question and the tool's rows; never the TE.
        Assert.All(Stack.Llm.Authorizations, a => Assert.Equal("Bearer " + ChatStack.ApiKey, a));
        Assert.Equal(2, Stack.Llm.Requests.Count);
        Assert.DoesNotMatch(TokenShapes.Jwt(), string.Join("", Stack.Llm.Requests.Select(r => r.ToJsonString())));

        await SaveScreenshotAsync(page, "conversation");
        AssertNoConsoleErrors();
    }

    /// <summary>
    /// Llm:Api = responses: the provider, not the app, calls Northwind through the gateway, with the TE the app put in
    /// the request's <c>mcp</c> tool; its <c>mcp_call</c> becomes the same tool card, and the gateway audits the call as alice.
    /// </summary>
    [Fact]
    public async Task Chat_ResponsesApiRemoteMcp_ProviderCallsGatewayAsAliceAndCardShown()
    {
        var page = await AliceAsksSalesByYearAsync(Stack.ResponsesUrl, "client-route:responses");

        // The API got the key; the mcp tool named Northwind's public URL on the gateway, without approvals, with a TE.
        var request = Assert.Single(Stack.ResponsesApi.Requests);
        Assert.Equal("Bearer " + ChatStack.ApiKey, Assert.Single(Stack.ResponsesApi.Authorizations));
        var tool = Assert.Single(request["tools"]!.AsArray())!;
        Assert.Equal("mcp", tool["type"]!.GetValue<string>());
        Assert.Equal(new Uri(Stack.Gateway.BaseUri, "/northwind").ToString(), tool["server_url"]!.GetValue<string>());
        Assert.Equal("never", tool["require_approval"]!.GetValue<string>());
        Assert.StartsWith("Bearer eyJ", Assert.Single(Stack.ResponsesApi.McpAuthorizations), StringComparison.Ordinal);
        Assert.Empty(Stack.Llm.Requests);

        // The conversation goes on after a reload (saved, then sent again from the database as the next input).
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/responses/\?c=[0-9a-f]{32}$"));
        await page.ReloadAsync();
        await Expect(page.Locator(".tool-card")).ToHaveCountAsync(1);
        await AskAsync(page, "And again, please?");
        await Expect(page.Locator(".tool-card.ok")).ToHaveCountAsync(2);
        await Expect(page.Locator(".message.assistant").Nth(1).Locator(".markdown table")).ToContainTextAsync("2024");
        var input = Stack.ResponsesApi.Requests[1]["input"]!.AsArray();
        Assert.Contains(input, i => i?["role"]?.GetValue<string>() == "user" && i.ToJsonString().Contains(Question, StringComparison.Ordinal));
        Assert.Contains(input, i => i?["type"]?.GetValue<string>() == "mcp_call" && i["server_label"]?.GetValue<string>() == "northwind");

        await SaveScreenshotAsync(page, "responses-conversation");
        AssertNoConsoleErrors();
    }

    /// <summary>
    /// With the Responses API the provider meets the gateway's denial itself: it reports the JSON-RPC error on its
    /// <c>mcp_call</c> item, and the card shows it as a denial. The provider calls query although the filtered listing
    /// no longer offers it (a model may ask for any name); the gateway still refuses it and Northwind receives nothing.
    /// </summary>
    [Fact]
    public async Task Chat_ResponsesApiQueryDeniedToBob_DenialShownInCardAndNoServerReached()
    {
        var page = await SignInAtAsync(Stack.ResponsesUrl, ChatStack.Bob);
        await ExpectNorthwindConnectedAsync(page);
        await Stack.DenyQueryToEngineeringAsync();

        await AskAsync(page, Question);

        var card = page.Locator(".tool-card");
        await Expect(card).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bdenied\\b"));
        await Expect(card.Locator(".tool-result")).ToContainTextAsync("Denied by Gatehouse policy");
        await Expect(page.Locator(".message.assistant")).ToContainTextAsync("I could not run the query");
        Assert.Equal(0, Stack.NorthwindToolCalls);
        var call = Assert.Single(await Stack.ToolCallAuditAsync(ChatStack.Bob, expected: 1));
        Assert.Equal(AuditDecision.Denied, call.Decision);
        Assert.Equal(-32054, call.ErrorCode);
        Assert.Equal("client-route:responses", call.ClientId);
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Chat_QueryDeniedToBobByPolicy_DenialShownInCardAndNoServerReached()
    {
        var page = await SignInAtAsync(Stack.ChatUrl, ChatStack.Bob);
        await ExpectNorthwindConnectedAsync(page);

        // While engineering may still query, bob's chat lists Northwind's tools (query among them) and uses them.
        await AskAsync(page, Question);
        await Expect(page.Locator(".tool-card.ok")).ToHaveCountAsync(1);
        var reached = Stack.NorthwindToolCalls;

        // Then an administrator takes query away from engineering; bob's model still asks for it.
        await Stack.DenyQueryToEngineeringAsync();
        await AskAsync(page, "And again, please?");

        var denied = page.Locator(".tool-card").Nth(1);
        await Expect(denied).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bdenied\\b"));
        await Expect(denied).ToContainTextAsync("denied in");
        await Expect(denied.Locator(".tool-result")).ToContainTextAsync("Denied by Gatehouse policy");
        await Expect(page.Locator(".message.assistant").Nth(1)).ToContainTextAsync("I could not run the query");
        Assert.Equal(reached, Stack.NorthwindToolCalls);

        var calls = await Stack.ToolCallAuditAsync(ChatStack.Bob, expected: 2);
        Assert.Equal([AuditDecision.Allowed, AuditDecision.Denied], calls.OrderBy(c => c.Time).Select(c => c.Decision));
        Assert.Equal(-32054, calls.Single(c => c.Decision == AuditDecision.Denied).ErrorCode);
        Assert.Null(calls.Single(c => c.Decision == AuditDecision.Denied).UpstreamStatus);
        await SaveScreenshotAsync(page, "denied");
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task ToolRunner_NoLlmConfigured_SaysSoAndRunsQueryFromSchemaForm()
    {
        var page = await SignInAtAsync(Stack.RunnerUrl, ChatStack.Alice);
        await ExpectNorthwindConnectedAsync(page);
        await Expect(page.GetByRole(AriaRole.Note)).ToContainTextAsync("No LLM is configured");
        await Expect(page.GetByRole(AriaRole.Note)).ToContainTextAsync("GATEHOUSE_CHAT_LLM__ENDPOINT");
        await Expect(page.Locator(".chat")).ToHaveCountAsync(0);

        var runner = page.GetByRole(AriaRole.Region, new() { Name = "Tool runner" });
        await runner.GetByLabel("Server").SelectOptionAsync(new SelectOptionValue { Label = "northwind" });
        await runner.GetByLabel("Tool").SelectOptionAsync("query");
        await runner.GetByLabel("sql *").FillAsync("SELECT count(*) AS orders FROM orders");
        await runner.GetByRole(AriaRole.Button, new() { Name = "Run" }).ClickAsync();

        var outcome = runner.GetByRole(AriaRole.Status);
        await Expect(outcome).ToContainTextAsync("Result");
        await Expect(outcome).ToContainTextAsync("\"columns\"");
        await Expect(outcome).ToContainTextAsync("orders");
        var call = Assert.Single(await Stack.ToolCallAuditAsync(ChatStack.Alice, expected: 1));
        Assert.Equal("client-route:runner", call.ClientId);
        Assert.Empty(Stack.Llm.Requests);
        await SaveScreenshotAsync(page, "tool-runner");
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Chat_StopWhileStreaming_AnswerEndsAndModelRequestIsClosed()
    {
        var page = await SignInAtAsync(Stack.ChatUrl, ChatStack.Alice);
        await ExpectNorthwindConnectedAsync(page);
        await page.GetByLabel("Message").FillAsync("Tell me " + ScriptedLlm.SlowWord);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();

        // The answer streams: its first words show before the model has finished.
        await Expect(page.Locator(".message.assistant .markdown")).ToContainTextAsync("word1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();

        await Expect(page.Locator(".message.assistant .status")).ToHaveTextAsync("Stopped.");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send" })).ToBeVisibleAsync();
        await Stack.Llm.SlowAnswerAborted.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.DoesNotContain("word100", await page.Locator(".message.assistant .markdown").TextContentAsync(), StringComparison.Ordinal);
        AssertNoConsoleErrors();
    }

    /// <summary>
    /// The TE of the request that opened the page expires within five minutes; the page renews its circuit's TE
    /// through the gateway (te-refresh.js). Only a request from the same user can: the handle alone is worth nothing.
    /// </summary>
    [Fact]
    public async Task TeRefresh_ThroughGateway_AcceptedForTheSameUserOnly()
    {
        var alice = await SignInAtAsync(Stack.ChatUrl, ChatStack.Alice);
        await ExpectNorthwindConnectedAsync(alice);
        var handle = await alice.Locator("[data-chat-circuit]").GetAttributeAsync("data-chat-circuit");
        Assert.False(string.IsNullOrEmpty(handle));
        const string Refresh = "handle => fetch('.chat/te', { method: 'POST', headers: { 'X-Chat-Circuit': handle } }).then(r => r.status)";

        Assert.Equal(204, await alice.EvaluateAsync<int>(Refresh, handle));
        Assert.Equal(404, await alice.EvaluateAsync<int>(Refresh, "not-a-circuit"));
        var bob = await SignInAtAsync(Stack.ChatUrl, ChatStack.Bob);
        Assert.Equal(404, await bob.EvaluateAsync<int>(Refresh, handle));

        // After the refreshes alice's chat still calls Northwind as alice.
        await AskAsync(alice, Question);
        await Expect(alice.Locator(".tool-card.ok")).ToHaveCountAsync(1);
        Assert.Single(await Stack.ToolCallAuditAsync(ChatStack.Alice, expected: 1));

        // The refused refreshes above are the browser's only console errors ("404 Not Found").
        Assert.All(ConsoleErrors, e => Assert.Contains("404", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Conversations_SavedPerUser_ReopenedRenamedDeleted()
    {
        var page = await SignInAtAsync(Stack.ChatUrl, ChatStack.Alice);
        await ExpectNorthwindConnectedAsync(page);
        await AskAsync(page, Question);
        var conversations = page.GetByRole(AriaRole.Region, new() { Name = "Conversations" });
        await Expect(conversations.Locator("li")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(Question)));

        // A reload (which brings a fresh TE) comes back to the conversation in the address; a new chat is empty, and
        // the saved one opens from the list with its answer and tool card.
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/chat/\?c=[0-9a-f]{32}$"));
        await page.ReloadAsync();
        await Expect(page.Locator(".message.user")).ToHaveTextAsync(Question);
        await conversations.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        await Expect(page.Locator(".message")).ToHaveCountAsync(0);
        await Expect(page).ToHaveURLAsync(Stack.ChatUrl.ToString());
        await conversations.GetByRole(AriaRole.Button, new() { Name = Question, Exact = true }).ClickAsync();
        await Expect(page.Locator(".message.user")).ToHaveTextAsync(Question);
        await Expect(page.Locator(".message.assistant .markdown table")).ToContainTextAsync("2024");
        await Expect(page.Locator(".tool-card")).ToContainTextAsync("northwind · query");

        await conversations.GetByRole(AriaRole.Button, new() { Name = "Rename " + Question }).ClickAsync();
        await conversations.GetByLabel("New title").FillAsync("Sales review");
        await conversations.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(conversations.GetByRole(AriaRole.Button, new() { Name = "Sales review", Exact = true })).ToBeVisibleAsync();

        // Bob has his own list.
        var bob = await SignInAtAsync(Stack.ChatUrl, ChatStack.Bob);
        await ExpectNorthwindConnectedAsync(bob);
        await Expect(bob.GetByRole(AriaRole.Region, new() { Name = "Conversations" }).Locator("li")).ToHaveCountAsync(0);

        await conversations.GetByRole(AriaRole.Button, new() { Name = "Delete Sales review" }).ClickAsync();
        await Expect(conversations.Locator("li")).ToHaveCountAsync(0);
        await Expect(page.Locator(".message")).ToHaveCountAsync(0);
        AssertNoConsoleErrors();
    }

    /// <summary>
    /// Alice asks the chat at <paramref name="url"/> for sales by year: one tool card for Northwind's query with its
    /// SQL, the answer's table, and one allowed call in the gateway's audit as alice from <paramref name="clientId"/>.
    /// </summary>
    private async Task<IPage> AliceAsksSalesByYearAsync(Uri url, string clientId)
    {
        var page = await SignInAtAsync(url, ChatStack.Alice);
        await ExpectNorthwindConnectedAsync(page);

        await AskAsync(page, Question);

        var card = page.Locator(".tool-card");
        await Expect(card).ToHaveCountAsync(1);
        await Expect(card).ToContainTextAsync("northwind · query");
        await Expect(card).ToContainTextAsync("done in");
        await Expect(card).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bok\\b"));
        await Expect(card.Locator(".tool-arguments")).ToContainTextAsync("strftime");
        var table = page.Locator(".message.assistant .markdown table");
        await Expect(table).ToContainTextAsync("2023");
        await Expect(table.Locator("th").First).ToHaveTextAsync("year");
        await Expect(page.Locator(".message.assistant strong")).ToHaveTextAsync("Total rows:");

        var call = Assert.Single(await Stack.ToolCallAuditAsync(ChatStack.Alice, expected: 1));
        Assert.Equal(AuditDecision.Allowed, call.Decision);
        Assert.Equal("query", call.Target);
        Assert.Equal("northwind", call.Route);
        Assert.Equal(clientId, call.ClientId);
        Assert.Contains("strftime", call.Arguments, StringComparison.Ordinal);
        Assert.Equal(1, Stack.NorthwindToolCalls);
        return page;
    }

    /// <summary>Opens <paramref name="url"/> signed out: the gateway asks for sign-in first, then sends the browser back.</summary>
    private async Task<IPage> SignInAtAsync(Uri url, string email)
    {
        var page = await NewPageAsync();
        await ChatStack.SignInAsync(page, url, email);
        await Expect(page).ToHaveTitleAsync("Gatehouse Chat");
        await Expect(page.Locator(".who")).ToContainTextAsync(email);
        return page;
    }

    private static async Task ExpectNorthwindConnectedAsync(IPage page)
    {
        var northwind = page.Locator("li.server[data-server=northwind]");
        await Expect(northwind).ToContainTextAsync("Connected");
        await Expect(northwind.GetByRole(AriaRole.Checkbox)).ToBeCheckedAsync();
    }

    private static async Task AskAsync(IPage page, string question)
    {
        var answers = await page.Locator(".message.assistant").CountAsync();
        await page.GetByLabel("Message").FillAsync(question);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        await Expect(page.Locator(".message.assistant").Nth(answers)).ToHaveAttributeAsync("aria-busy", "false");
    }
}
