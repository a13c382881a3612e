namespace Gatehouse.Servers.Notes.Tests.Infrastructure;

/// <summary>A folder of the test's own under the system temp folder, removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gatehouse-notes-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open leaves litter in the temp folder; it must not fail the test.
        }
    }
}
