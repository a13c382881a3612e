namespace Gatehouse.Conformance.Server;

/// <summary>Tiny, valid media files for the image, audio and binary-resource scenarios.</summary>
internal static class TestMedia
{
    public const string PngMimeType = "image/png";
    public const string WavMimeType = "audio/wav";

    /// <summary>A 1x1 red PNG.</summary>
    public static ReadOnlyMemory<byte> Png { get; } = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC");

    /// <summary>8 samples of silence: PCM, mono, 16-bit, 8 kHz.</summary>
    public static ReadOnlyMemory<byte> Wav { get; } = Convert.FromBase64String(
        "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YRAAAAAAAAAAAAAAAAAAAAAAAAAA");
}
