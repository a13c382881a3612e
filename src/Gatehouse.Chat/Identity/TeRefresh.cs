using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;

namespace Gatehouse.Chat.Identity;

/// <summary>
/// The signed-in user of one Blazor circuit, with the freshest TE the app has for them. The TE of the request that
/// opened the circuit lives at most five minutes (less: the gateway hands out the same one until a minute is left),
/// while a page stays open for hours; so the page asks the app every <see cref="RefreshSeconds"/> through the gateway
/// (<see cref="TeRefresh"/>), and each such request brings a current TE.
/// </summary>
internal sealed class CircuitUser : IDisposable
{
    /// <summary>Below the one minute of life a TE has left when the gateway replaces it: the TE here never lapses.</summary>
    public const int RefreshSeconds = 30;

    private readonly TeRefresh _registry;
    private ChatUser? _user;

    public CircuitUser(TeRefresh registry)
    {
        _registry = registry;
        Handle = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        registry.Register(this);
    }

    /// <summary>
    /// Names the circuit to the refresh endpoint. It is in the page (the TE never is) and worth nothing without the
    /// user's own session at the gateway: a refresh must come with an assertion for the same user.
    /// </summary>
    public string Handle { get; }

    public ChatUser User
    {
        get => _user ?? throw new InvalidOperationException("The circuit's user is set by the page when it starts.");
        set => _user = value;
    }

    public bool HasUser => _user is not null;

    public void Dispose() => _registry.Unregister(this);
}

/// <summary>The open circuits by handle, and <c>POST .chat/te</c> that gives one a fresh TE.</summary>
internal sealed class TeRefresh
{
    public const string Path = "/.chat/te";
    public const string HandleHeader = "X-Chat-Circuit";

    private readonly ConcurrentDictionary<string, CircuitUser> _circuits = new(StringComparer.Ordinal);

    public void Register(CircuitUser circuit) => _circuits[circuit.Handle] = circuit;

    public void Unregister(CircuitUser circuit) => _circuits.TryRemove(circuit.Handle, out _);

    /// <summary>
    /// The request came through the gateway (the identity middleware ran before): its TE replaces the circuit's when
    /// the user is the same. Anything else is 404, whether the handle is unknown or another user's.
    /// </summary>
    public IResult Refresh(HttpContext context)
    {
        if (ChatUser.From(context.User) is not { } fresh ||
            !_circuits.TryGetValue(context.Request.Headers[HandleHeader].ToString(), out var circuit) ||
            !circuit.HasUser || !string.Equals(circuit.User.Subject, fresh.Subject, StringComparison.Ordinal))
        {
            return TypedResults.NotFound();
        }

        if (fresh.TeExpiresAt > circuit.User.TeExpiresAt)
        {
            circuit.User = fresh;
        }

        return TypedResults.NoContent();
    }
}
