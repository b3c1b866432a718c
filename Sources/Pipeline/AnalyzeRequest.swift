import Affect
import Media

/// How one Analyzer runs (fixed for its life): threads per request and the speed/accuracy knobs.
public struct AnalyzerOptions: Sendable, Equatable {
    /// Compute threads of the Analyzer's own `FrameScheduler` (an Analyzer given a shared scheduler
    /// uses that one's). docs/engine.md: threads x intra-op threads <= cores.
    public var threads: Int = 1
    /// Frames per chunk (a compute thread's unit of work); their face crops go through the encoders as one batch.
    public var batchFrames: Int = 4
    /// Chunks one request may have queued or running at once, per compute thread: enough to keep
    /// every thread busy for a lone request, few enough to bound its decoded frames in memory.
    public var chunksPerThread: Int = 2
    /// Scene embeddings per second when only embeddings/labelling need them (a scene changes slowly).
    /// A VA head that reads the scene gets it on every frame.
    public var sceneFPS: Double = 1
    /// Seconds between face detections: frames in between reuse the last detected boxes (0 = detect on
    /// every frame). MTCNN is most of the per-frame cost, and on WolfgangLanger 1/3 s (every 8th
    /// frame) barely moves the smoothed valence against detecting every frame (benchmarks/analyze.sh
    /// prints the comparison; recorded figures in benchmarks/RESULTS.md).
    public var detectInterval: Double = 1.0 / 3.0
    /// Between detections, follow each face with O-Net on its previous box (`FaceDetector.track`:
    /// a moving face keeps its box; a face O-Net no longer sees ends) instead of reusing the box
    /// unchanged. Also keeps a face through detection frames where the detector misses it.
    public var tracking = true
    public init(threads: Int = 1) { self.threads = threads }
}

/// What one request asks for.
public struct AnalyzeRequest: Sendable, Equatable {
    /// Which frames to analyse (`.everyFrame` or `.fps(R)`); ignored for stills.
    public var sampling: FrameSampling = .fps(5)
    /// At most this many faces per frame (the largest).
    public var maxFaces: Int = 8
    public var includeFrames = true
    public var includeExpressions = false
    public var includeEmbeddings = false
    /// The `audio` section (speech segments, prosody); needs a package with `audio.vad`.
    public var includeAudio = false
    /// MediaPipe's face measurements (docs/vision.md): blendshape scores, head pose, 478-point mesh.
    public var includeBlendshapes = false
    public var includePose = false
    public var includeMesh = false
    /// The horizontal-flip test-time pass (feeds the confidence's agreement factor).
    public var flip = true
    public var limits = MediaLimits()
    /// Follow faces between detections (true) or reuse the detected boxes (false); nil: the
    /// Analyzer's `AnalyzerOptions.tracking`.
    public var tracking: Bool?
    /// How the scheduler ranks this request's chunks against other requests' (async jobs: `.batch`).
    public var workClass = WorkClass.interactive
    public init() {}
}

/// Why an analysis stopped without a result. Media problems are thrown as `MediaError` unchanged.
public enum AnalyzerError: Error, Equatable, Sendable, CustomStringConvertible {
    case cancelled
    case invalidRequest(String)
    case model(String)

    public var description: String {
        switch self {
        case .cancelled: "the analysis was cancelled"
        case .invalidRequest(let m): "invalid request: \(m)"
        case .model(let m): "model: \(m)"
        }
    }
}
