import Media

/// What analysing one live frame needs besides the session's own state: a frame worker (its
/// detector and arena), an RGB converter and reusable pixel buffers. One thread uses it at a time;
/// any session may borrow it for a frame, so a server keeps a few (one per core) for all its
/// sessions rather than one per connection.
public final class LiveWorker: @unchecked Sendable {
    let frames: FrameWorker
    let converter = FrameConverter()
    let pixels = PixelPool()

    public init(models: AnalyzerModels) { frames = FrameWorker(models: models) }
}
