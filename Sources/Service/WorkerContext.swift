// What each worker thread owns for its whole life. The networks are shared (immutable after
// loading); per-worker scratch state belongs here so no two workers ever share it.
import Vision

public struct WorkerContext {
    public let index: Int
    public let models: VisionModels

    public init(index: Int, models: VisionModels) {
        self.index = index
        self.models = models
    }
}
