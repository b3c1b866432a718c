import Affect
import Foundation
import Media
import Vision

/// What a live session wants per frame.
public struct LiveOptions: Sendable, Equatable {
    public var maxFaces = 8
    public var expressions = false
    /// The mirrored pass of the expression encoder (as in `AnalyzeRequest.flip`).
    public var flip = true
    /// Decoding limits of one image (its pixels, above all).
    public var limits = MediaLimits()
    public init() {}
}

/// One person in one live frame: the causal estimate (the Kalman filter's state after this frame,
/// never the smoother's), its confidence, and the single frame's expression posterior when asked.
public struct LivePerson: Sendable, Equatable {
    public var id: Int
    /// x, y, width, height in pixels.
    public var box: [Double]
    public var va: VA?
    public var confidence: Double
    public var expression: [String: Double]?
}

public struct LiveFrame: Sendable, Equatable {
    public var t: Double
    public var persons: [LivePerson]
    /// Whether the detector ran on this frame (else the last frame's faces were followed or reused).
    public var detected: Bool
}

/// A live stream's analysis, one decoded image at a time, in time order: detection every
/// `detectInterval` seconds with the faces followed (or reused, without `tracking`) in between as
/// `Analyzer` does, tracking into
/// persons whose ids persist for the session, and per person the causal temporal estimate. The
/// per-frame work runs on a `LiveWorker` the caller lends for the call, so a scheduler can run many
/// sessions on a few workers. Not thread-safe: one frame at a time.
public final class LiveSession: @unchecked Sendable {
    public let models: AnalyzerModels
    public let detectInterval: Double
    /// Follow faces with O-Net between detections (`AnalyzerOptions.tracking`).
    public let tracking: Bool
    private let tracker: FaceTracker
    private var causal: CausalEstimator
    /// The faces of the last frame (without tracking, of the last detection) and the frame size they belong to.
    private var reuse: (faces: [Face], width: Int, height: Int)?
    private var lastDetection = -Double.infinity
    /// Time of the last frame on this session's clock.
    public private(set) var lastT: Double?
    /// A resumed state's filter times wait for this session's first frame to be put on its clock.
    private var resumed: (t: Double?, gap: Double)?

    public var modelID: String { models.affect.name + "@" + models.affect.version }

    public init(
        models: AnalyzerModels, detectInterval: Double = AnalyzerOptions().detectInterval, tracking: Bool = AnalyzerOptions().tracking
    ) {
        self.models = models
        self.detectInterval = detectInterval
        self.tracking = tracking
        tracker = FaceTracker()
        causal = CausalEstimator(temporal: models.affect.temporal)
    }

    /// Continues an earlier session's ids and filters; throws `AnalyzerError.invalidRequest` when
    /// the state is not one this model could have produced.
    public init(
        models: AnalyzerModels, detectInterval: Double = AnalyzerOptions().detectInterval, tracking: Bool = AnalyzerOptions().tracking,
        resuming state: LiveState
    ) throws {
        self.models = models
        self.detectInterval = detectInterval
        self.tracking = tracking
        func refuse(_ why: String) -> AnalyzerError { .invalidRequest("state: \(why)") }
        guard state.version == LiveState.currentVersion else { throw refuse("version \(state.version) is not \(LiveState.currentVersion)") }
        guard state.model == models.affect.name + "@" + models.affect.version else { throw refuse("made by another model (\(state.model))") }
        guard state.tracker.tracks.count <= LiveState.maxTracks, state.persons.count <= LiveState.maxTracks else { throw refuse("too many tracks") }
        guard state.t?.isFinite ?? true, state.issued.isFinite else { throw refuse("times must be finite") }
        guard let tracker = FaceTracker(resuming: state.tracker) else { throw refuse("not a valid tracker state") }
        let ids = Set(state.tracker.tracks.map(\.id))
        var filters: [Int: KalmanFilterState] = [:]
        for p in state.persons {
            guard ids.contains(p.id), filters[p.id] == nil, p.filter.isValid, p.filter.t <= (state.t ?? p.filter.t) else {
                throw refuse("person \(p.id) has no track or an invalid filter state")
            }
            filters[p.id] = p.filter
        }
        self.tracker = tracker
        causal = CausalEstimator(temporal: models.affect.temporal, filters: filters)
        resumed = (state.t, max(0, Date().timeIntervalSince1970 - state.issued))
    }

    /// The state to continue from in a later session.
    public var state: LiveState {
        LiveState(
            model: modelID, t: lastT, issued: Date().timeIntervalSince1970, tracker: tracker.state,
            persons: causal.filters.sorted { $0.key < $1.key }.map { LiveState.Person(id: $0.key, filter: $0.value) })
    }

    /// Analyses one JPEG/PNG taken at `t` seconds (times must increase within a session). Media
    /// errors (undecodable, too many pixels) are thrown as `MediaError`.
    public func analyze(_ image: Data, t: Double, options: LiveOptions, on worker: LiveWorker) throws -> LiveFrame {
        guard t.isFinite, t > (lastT ?? -.infinity) else { throw AnalyzerError.invalidRequest("frame times must be finite and increase") }
        var request = AnalyzeRequest()
        request.maxFaces = options.maxFaces
        request.includeExpressions = options.expressions
        request.flip = options.flip
        var plan = try models.plan(request, forLabelling: false)
        plan.tracking = tracking
        let decoded = try ImageDecoder.decode(.memory(image), limits: options.limits)
        let (width, height) = worker.converter.outputSize(for: decoded)
        let bytes = width * height * 3 + RGBFrameBuffer.slack
        let pixels = worker.pixels.take(bytes: bytes)
        defer { worker.pixels.give(pixels, bytes: bytes) }
        try worker.converter.rgb8(decoded, into: pixels, padded: true)

        let sameSize = reuse.map { $0.width == width && $0.height == height } ?? false
        let detect = !sameSize || t - lastDetection >= detectInterval - 1e-6
        let frame = RGBFrame(seq: 0, t: t, width: width, height: height, pixels: pixels, scene: plan.scene, detect: detect)
        let previous = sameSize ? reuse?.faces : nil
        let output = try worker.frames.run([frame], plan: plan, incoming: previous).outputs[0]
        if detect || tracking { reuse = (output.faces, width, height) }
        if detect { lastDetection = t }
        if let (from, gap) = resumed {
            // Put the earlier session's filter times on this clock, `gap` seconds before this frame.
            for (id, var f) in causal.filters {
                f.t = t - gap - ((from ?? f.t) - f.t)
                causal.filters[id] = f
            }
            resumed = nil
        }
        let update = tracker.update(output.faces)
        for ended in update.ended { causal.filters[ended.id] = nil }
        let persons = output.observations.enumerated().map { i, observation -> LivePerson in
            var face = observation
            face.person = update.ids[i]
            let (va, confidence) = causal.estimate(face, t: t)
            return LivePerson(id: face.person, box: face.box, va: va, confidence: confidence, expression: face.expression)
        }
        lastT = t
        return LiveFrame(t: t, persons: persons, detected: detect)
    }
}
