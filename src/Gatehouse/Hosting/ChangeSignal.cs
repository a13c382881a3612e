using Microsoft.Extensions.Primitives;

namespace Gatehouse.Hosting;

/// <summary>
/// A change token that can be fired again and again: each <see cref="Signal"/> fires the tokens handed out so far
/// and starts a new one. For <c>IOptionsChangeTokenSource</c>s whose options are built from state loaded at run time
/// (keys, the configuration in force), so that options monitors build them again.
/// </summary>
internal sealed class ChangeSignal : IDisposable
{
    private readonly Lock _lock = new();
    private CancellationTokenSource _changed = new();

    public IChangeToken GetChangeToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public void Signal()
    {
        CancellationTokenSource previous;
        lock (_lock)
        {
            previous = _changed;
            _changed = new CancellationTokenSource();
        }

        previous.Cancel();
        previous.Dispose();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _changed.Dispose();
        }
    }
}
