import Affect
import Audio
import Foundation
import Media
import Tensor
import Vision

/// The networks of a package, loaded once and shared (read-only) by every Analyzer.
public final class AnalyzerModels: Sendable {
    public let affect: AffectModel
    public let detector: MTCNNNetworks
    /// Keys of a face's `expression` map, in posterior order.
    public let expressionLabels: [String]
    /// The package's voice activity detector (`audio.vad`), for `include=audio`.
    public let vad: VoiceActivityDetector?
    /// The package's soundscape model (`audio.soundscape`), run with the VAD.
    public let soundscape: SoundscapeModel?
    /// Landmarks, blendshapes and pose (nil: the package has no face_landmarker section).
    public let faceMesh: FaceMesh?

    public init(package: ModelPackage) throws {
        affect = try AffectModel(package: package)
        detector = try MTCNNNetworks(package: package)
        vad = try VoiceActivityDetector(package: package)
        soundscape = try SoundscapeModel(package: package)
        faceMesh = package.manifest["face_landmarker"] == nil ? nil : try FaceMesh(package: package)
        let exprName = package.manifest["affect"]?["encoders"]?["expression"]?.string ?? "expression"
        let labels = package.manifest["networks"]?[exprName]?["labels"]?["prob"]?.array?.compactMap(\.string) ?? []
        if case .centroidProjection(let p) = affect.vaHead.kind, labels.isEmpty { expressionLabels = p.classNames } else { expressionLabels = labels }
    }
}

/// One analysis: the result of the contract (docs/design.md) and where the time went.
public struct Analysis: Sendable {
    public var result: AnalysisResult
    public var timings: StageTimings
    /// Per analysed frame with faces' features kept (for labelling); time order.
    var observations: [FrameObservations]
}

/// One image of a frame batch (`POST /v1/frames`), with its time if the client gave one.
public struct ImageInput: Sendable {
    public var source: MediaSource
    public var t: Double?
    public init(source: MediaSource, t: Double? = nil) { self.source = source; self.t = t }
}

/// Media in, result out: decode → detect → fer crop → expression encoder (+ flip pass) → VA head →
/// confidence per sampled frame, then tracking and the per-person temporal model, results in time
/// order. Per request, a decode thread submits chunks of consecutive frames to a session of the
/// `FrameScheduler`, whose compute threads (shared by every request) batch each chunk's crops, and
/// the calling thread collects. Requests may run concurrently on one Analyzer: compute thread i
/// alone uses frame worker i (its arenas); everything else is per request.
public final class Analyzer: @unchecked Sendable {
    public let models: AnalyzerModels
    public let options: AnalyzerOptions
    public let scheduler: FrameScheduler
    private let workers: [FrameWorker]
    private let ownsScheduler: Bool
    private let audio: AudioBranch?

    /// An Analyzer with a scheduler of its own (`options.threads` compute threads), as the CLI runs.
    public convenience init(models: AnalyzerModels, options: AnalyzerOptions = AnalyzerOptions()) throws {
        try Self.check(options)
        self.init(models: models, options: options, scheduler: FrameScheduler(threads: options.threads), owns: true)
    }

    /// An Analyzer over a shared scheduler (the service's: one per process).
    public convenience init(models: AnalyzerModels, options: AnalyzerOptions = AnalyzerOptions(), scheduler: FrameScheduler) throws {
        try Self.check(options)
        self.init(models: models, options: options, scheduler: scheduler, owns: false)
    }

    private init(models: AnalyzerModels, options: AnalyzerOptions, scheduler: FrameScheduler, owns: Bool) {
        self.models = models
        self.options = options
        self.scheduler = scheduler
        ownsScheduler = owns
        workers = (0..<scheduler.threads).map { _ in FrameWorker(models: models) }
        audio = models.vad.map { AudioBranch(vad: $0, soundscape: models.soundscape) }
    }

    deinit { if ownsScheduler { scheduler.stop() } }

    private static func check(_ options: AnalyzerOptions) throws {
        guard options.threads >= 1, options.threads <= 256, options.batchFrames >= 1, options.chunksPerThread >= 1,
            options.detectInterval >= 0, options.detectInterval.isFinite, options.sceneFPS > 0
        else {
            throw AnalyzerError.invalidRequest("analyzer options out of range: \(options)")
        }
    }

    public convenience init(package: ModelPackage, options: AnalyzerOptions = AnalyzerOptions()) throws {
        try self.init(models: try AnalyzerModels(package: package), options: options)
    }

    /// Analyses a clip or a still (a JPEG/PNG is a one-frame clip at t = 0). `onFrame` receives each
    /// frame in time order as soon as it and all earlier frames are done, with the causal (filtered)
    /// temporal estimate; the returned result has the smoothed one. `isCancelled` is polled between chunks.
    public func analyze(
        _ source: MediaSource, request: AnalyzeRequest, onFrame: ((FrameResult) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws -> Analysis {
        try analyze(try MediaReader(source: source, limits: request.limits), request: request, onFrame: onFrame, isCancelled: isCancelled)
    }

    /// Analyses an input its caller has already opened (and probed): the reader's frames are consumed.
    public func analyze(
        _ reader: MediaReader, request: AnalyzeRequest, onFrame: ((FrameResult) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws -> Analysis {
        try analyze(reader, request: request, forLabelling: false, onFrame: onFrame, isCancelled: isCancelled)
    }

    func analyze(
        _ reader: MediaReader, request: AnalyzeRequest, forLabelling: Bool, onFrame: ((FrameResult) -> Void)?,
        isCancelled: () -> Bool
    ) throws -> Analysis {
        let probe = reader.probe
        // One decoder thread: decoding shares the request's cores with inference (docs/engine.md).
        let audioFollows = models.affect.readsAudio && probe.hasAudio && !reader.isStill
        let decoder = try reader.frames(sampling: request.sampling, threads: 1, audio: request.includeAudio || audioFollows)
        let frames = FrameSource(
            next: { try decoder.nextFrame() }, decoded: { decoder.framesDecoded }, still: reader.isStill,
            audio: { decoder.audio }, audioFollows: audioFollows)
        var sampleFPS: Double? = nil
        if !frames.still {
            if case .fps(let r) = request.sampling { sampleFPS = probe.fps.map { min($0, r) } ?? r } else { sampleFPS = probe.fps }
        }
        return try run(frames, request: request, forLabelling: forLabelling, onFrame: onFrame, isCancelled: isCancelled) { decoded, analyzed in
            MediaInfo(
                container: probe.container, videoCodec: probe.videoCodec, duration: probe.duration, fps: probe.fps,
                width: probe.width, height: probe.height, rotation: probe.rotation, hasAudio: probe.hasAudio,
                framesDecoded: decoded, framesAnalyzed: analyzed, sampleFps: sampleFPS)
        }
    }

    /// Analyses a batch of stills as one clip: image k at its own `t`, or at k seconds when none is given
    /// (times must then increase). Every image is decoded (and checked) before analysis starts.
    public func analyzeImages(
        _ images: [ImageInput], request: AnalyzeRequest, onFrame: ((FrameResult) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws -> Analysis {
        guard !images.isEmpty else { throw AnalyzerError.invalidRequest("no images") }
        var decoded: [(Double, DecodedFrame)] = []
        for (k, image) in images.enumerated() {
            let t = image.t ?? Double(k)
            guard t.isFinite, t >= 0 else { throw AnalyzerError.invalidRequest("image \(k): time must be a finite number >= 0") }
            if let last = decoded.last, t <= last.0 { throw AnalyzerError.invalidRequest("image \(k): times must increase") }
            decoded.append((t, try ImageDecoder.decode(image.source, limits: request.limits)))
        }
        let box = FrameList(decoded)
        let frames = FrameSource(next: { box.next() }, decoded: { images.count }, still: false, times: decoded.map(\.0))
        return try run(frames, request: request, forLabelling: false, onFrame: onFrame, isCancelled: isCancelled) { n, analyzed in
            MediaInfo(container: "images", framesDecoded: n, framesAnalyzed: analyzed)
        }
    }

    // MARK: - the pipeline

    private func run(
        _ frames: FrameSource, request: AnalyzeRequest, forLabelling: Bool, onFrame: ((FrameResult) -> Void)?,
        isCancelled: () -> Bool, media: (Int, Int) -> MediaInfo
    ) throws -> Analysis {
        if request.includeAudio && audio == nil { throw AnalyzerError.model("the model package has no voice activity detector (audio.vad)") }
        var plan = try models.plan(request, forLabelling: forLabelling, audioFollows: frames.audioFollows)
        plan.tracking = request.tracking ?? options.tracking
        let wall0 = Clock.wall(), cpu0 = Clock.processCPU()
        let session = scheduler.session(request.workClass, capacity: scheduler.threads * options.chunksPerThread)
        let results = Inbox<WorkerMessage>()
        let group = DispatchGroup()
        let decodeState = startDecoding(
            frames, plan: plan, session: session, results: results, group: group, audio: request.includeAudio ? audio : nil)
        var collected = collect(results, session: session, plan: plan, onFrame: onFrame, isCancelled: isCancelled)
        group.wait()
        if let failure = collected.failure ?? decodeState.error { throw failure }

        var timings = StageTimings()
        timings.add(decodeState.timings)
        timings.add(collected.timings)
        if plan.deferHead {
            try timings.measure("head") {
                try AudioVisualHead.apply(
                    models.affect.vaHead, audio: decodeState.audioFeatures, to: &collected.frames, arena: Arena(bytes: 1 << 20))
            }
            if let onFrame {
                let stream = StreamingEstimator(temporal: models.affect.temporal, emit: onFrame)
                for frame in collected.frames { stream.add(frame) }
            }
        }
        let built = try timings.measure("temporal") {
            try Timeline(temporal: models.affect.temporal).build(collected.frames, arena: Arena(bytes: 1 << 20))
        }
        var result = AnalysisResult(
            model: ModelInfo(name: models.affect.name, version: models.affect.version),
            media: media(decodeState.decoded, collected.frames.count), frames: built,
            includeFrames: request.includeFrames)
        if request.includeAudio { result.audio = AudioBranch.section(decodeState.audio, times: collected.frames.map(\.t), soundscape: models.soundscape) }
        timings.totalWall = Clock.wall() - wall0
        timings.totalCPU = Clock.processCPU() - cpu0
        timings.framesAnalyzed = collected.frames.count
        return Analysis(result: result, timings: timings, observations: collected.frames)
    }

    /// Stage 1, a thread of its own: demux/decode/convert, marks scene and detection frames, and
    /// submits chunks of consecutive frames (each starting on a detection frame) to the session, then
    /// tells the collector how many it submitted. With `audio`, the clip's audio (decoded in the same
    /// pass) is analysed here after the last frame, while the compute threads finish theirs; so are
    /// the audio windows of every frame for a head that reads audio (`plan.deferHead`).
    private func startDecoding(
        _ frames: FrameSource, plan: WorkPlan, session: SchedulerSession, results: Inbox<WorkerMessage>, group: DispatchGroup,
        audio: AudioBranch?
    ) -> DecodeState {
        let decodeState = DecodeState()
        let pool = PixelPool(), sceneFPS = options.sceneFPS
        let batch = options.batchFrames, detectInterval = options.detectInterval
        let sceneEveryFrame = models.affect.requiredSources.contains(.scene)
        let audioEncoder = plan.deferHead ? models.affect.audio : nil
        let submit = Self.submitter(plan: plan, workers: workers, pool: pool, session: session, results: results, handoff: FaceHandoff())
        let decodeThread = Thread { [frames] in
            var submitted = 0
            defer {
                session.finish()
                results.push(.decoded(chunks: submitted))
                group.leave()
            }
            func push(_ chunk: [RGBFrame]) -> Bool {
                guard submit(chunk, submitted) else {
                    pool.give(chunk)
                    decodeState.set(error: AnalyzerError.cancelled)
                    return false
                }
                submitted += 1
                return true
            }
            var timings = StageTimings()
            let converter = FrameConverter()
            var seq = 0, chunk: [RGBFrame] = [], lastSceneTick = -1, lastDetection = -Double.infinity, times: [Double] = []
            do {
                while true {
                    guard
                        let (t, rgb) = try timings.measure(
                            "decode",
                            { () throws -> (Double, RGBFrame)? in
                                guard let f = try frames.next() else { return nil }
                                let (w, h) = converter.outputSize(for: f)
                                let bytes = w * h * 3 + RGBFrameBuffer.slack
                                let p = pool.take(bytes: bytes)
                                do { try converter.rgb8(f, into: p, padded: true) } catch { pool.give(p, bytes: bytes); throw error }
                                let t = frames.times.map { $0[seq] } ?? (frames.still ? 0 : f.t)
                                return (t, RGBFrame(seq: seq, t: t, width: w, height: h, pixels: p, scene: false, detect: false))
                            })
                    else { break }
                    var frame = rgb
                    let tick = Int((t * sceneFPS).rounded(.down))
                    frame.scene = sceneEveryFrame || tick != lastSceneTick
                    lastSceneTick = tick
                    frame.detect = t - lastDetection >= detectInterval - 1e-6 || t < lastDetection
                    // A chunk starts on a detection frame and keeps the frames that reuse its boxes; big
                    // frames travel alone so a chunk's pixels stay bounded.
                    let full = chunk.count >= (frame.width * frame.height > 1_000_000 ? 1 : batch)
                    if !chunk.isEmpty && (frame.detect && full || chunk.count >= 64) {
                        guard push(chunk) else { chunk = []; break }
                        chunk = []
                    }
                    if chunk.isEmpty { frame.detect = true }
                    if frame.detect { lastDetection = t }
                    chunk.append(frame)
                    times.append(t)
                    seq += 1
                }
                if !chunk.isEmpty { _ = push(chunk) }
                chunk = []
                if let audio, let samples = frames.audio() {
                    let outcome = try timings.measure("audio") { try audio.run(samples) }
                    decodeState.set(audio: outcome)
                }
                if let encoder = audioEncoder {
                    let features = try timings.measure("audio_encoder") {
                        try AudioVisualHead.windows(encoder, audio: frames.audio(), times: times, arena: Arena(bytes: 1 << 20))
                    }
                    decodeState.set(audioFeatures: features)
                }
            } catch {
                pool.give(chunk)
                decodeState.set(error: error)
            }
            decodeState.set(timings: timings, count: seq, decoded: frames.decoded())
        }
        group.enter()
        decodeThread.start()
        return decodeState
    }

    /// Stage 2, on the scheduler's compute threads: chunk `index` through compute thread i's frame
    /// worker, its outputs (or failure) to the collector; a chunk dropped by cancellation is counted
    /// too. With tracking, each chunk's first faces depend on the previous chunk's last ones: the
    /// chunk is analysed speculatively (`FrameWorker.speculate`) and settled through `handoff` once
    /// those are known; it keeps its place in the session's capacity (`park`) until then.
    private static func submitter(
        plan: WorkPlan, workers: [FrameWorker], pool: PixelPool, session: SchedulerSession, results: Inbox<WorkerMessage>,
        handoff: FaceHandoff
    ) -> @Sendable ([RGBFrame], Int) -> Bool {
        { chunk, index in
            session.submit(
                run: { thread in
                    guard plan.tracking else {
                        defer { pool.give(chunk) }
                        do {
                            let done = try workers[thread].run(chunk, plan: plan, incoming: nil)
                            results.push(.frames(done.outputs, done.timings))
                        } catch { results.push(.failed(error)) }
                        return
                    }
                    let guess = FrameWorker.canSpeculate(chunk, plan: plan) ? Result { try workers[thread].speculate(chunk, plan: plan) } : nil
                    session.park()
                    handoff.settle(chunk: index, thread: thread) { earlier, thread in
                        defer {
                            pool.give(chunk)
                            session.unpark()
                        }
                        guard let thread else {
                            results.push(.discarded)
                            return []
                        }
                        do {
                            let worker = workers[thread]
                            let done =
                                try guess.map { try worker.settle($0.get(), chunk, plan: plan, incoming: earlier) }
                                ?? worker.run(chunk, plan: plan, incoming: earlier)
                            results.push(.frames(done.outputs, done.timings))
                            return done.last
                        } catch {
                            results.push(.failed(error))
                            return []
                        }
                    }
                },
                discard: {
                    pool.give(chunk)
                    if plan.tracking { handoff.settle(chunk: index, thread: nil) { _, _ in [] } }
                    results.push(.discarded)
                })
        }
    }

    /// What the collector hands back: frames in time order with person ids, its own timings, the first failure.
    private struct Collected {
        var frames: [FrameObservations] = []
        var timings = StageTimings()
        var failure: Error?
    }

    /// Stage 3, on the calling thread: puts frames back in time order, tracks faces into persons and
    /// streams causal estimates, until every submitted chunk is settled (run, failed, or discarded
    /// once a failure or cancellation has cancelled the session).
    private func collect(
        _ results: Inbox<WorkerMessage>, session: SchedulerSession, plan: WorkPlan,
        onFrame: ((FrameResult) -> Void)?, isCancelled: () -> Bool
    ) -> Collected {
        var out = Collected()
        var pending: [Int: FrameOutput] = [:], next = 0
        var submitted: Int? = nil, settled = 0, sessionCancelled = false
        var scenes: [Float]? = nil
        let tracker = FaceTracker()
        // A deferred head's frames are streamed once it has run (`run`).
        let stream = plan.deferHead ? nil : onFrame.map { StreamingEstimator(temporal: models.affect.temporal, emit: $0) }
        while submitted.map({ settled < $0 }) ?? true {
            for message in results.pop(max: 64) {
                switch message {
                case .decoded(let n): submitted = n
                case .discarded: settled += 1
                case .failed(let e):
                    settled += 1
                    out.failure = out.failure ?? e
                case .frames(let outs, let timings):
                    settled += 1
                    out.timings.add(timings)
                    for o in outs { pending[o.seq] = o }
                }
            }
            if out.failure == nil && isCancelled() { out.failure = AnalyzerError.cancelled }
            if out.failure != nil {
                if !sessionCancelled { session.cancel() }
                sessionCancelled = true
                continue
            }
            out.timings.measure("track") {
                while let o = pending.removeValue(forKey: next) {
                    let ids = tracker.update(o.faces).ids
                    if let s = o.scene { scenes = s }
                    var faces = o.observations
                    for i in faces.indices {
                        faces[i].person = ids[i]
                        if plan.scene { faces[i].features?.scene = scenes }
                        // Results carry a scene embedding on the frames where the scene encoder ran (sceneFPS).
                        if plan.returnEmbeddings { faces[i].embeddings?.scene = o.scene }
                    }
                    let frame = FrameObservations(t: o.t, faces: faces)
                    out.frames.append(frame)
                    stream?.add(frame)
                    next += 1
                }
            }
        }
        return out
    }
}

/// What the collector hears: a chunk's outcome (run, failed, or discarded by cancellation), and
/// from the decode thread once it ends, how many chunks it submitted.
enum WorkerMessage: Sendable {
    case frames([FrameOutput], StageTimings)
    case failed(Error)
    case discarded
    case decoded(chunks: Int)
}

/// Where frames come from, handed to the decode thread (which alone calls it).
struct FrameSource: @unchecked Sendable {
    var next: () throws -> DecodedFrame?
    var decoded: () -> Int
    var still: Bool
    /// The clip's audio once the last frame is read (nil: none, or not asked for).
    var audio: () -> DecodedAudio? = { nil }
    /// Times given by the caller (image batches) instead of the frames' own.
    var times: [Double]? = nil
    /// The clip's audio is decoded with its frames for a head that reads it (`WorkPlan.deferHead`).
    var audioFollows = false
}

final class FrameList: @unchecked Sendable {
    private var items: [(Double, DecodedFrame)]
    private var k = 0
    init(_ items: [(Double, DecodedFrame)]) { self.items = items }
    func next() -> DecodedFrame? {
        guard k < items.count else { return nil }
        defer { k += 1 }
        return items[k].1
    }
}

/// What the decode thread hands back when it ends.
final class DecodeState: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?
    private(set) var timings = StageTimings()
    private(set) var count = 0
    private(set) var decoded = 0
    private(set) var audio: AudioBranch.Outcome?
    /// Per frame (in seq order), for a head that reads audio.
    private(set) var audioFeatures: [AudioFeature] = []
    func set(error: Error) { lock.lock(); self.error = error; lock.unlock() }
    func set(audio: AudioBranch.Outcome) { lock.lock(); self.audio = audio; lock.unlock() }
    func set(audioFeatures: [AudioFeature]) { lock.lock(); self.audioFeatures = audioFeatures; lock.unlock() }
    func set(timings: StageTimings, count: Int, decoded: Int) {
        lock.lock(); self.timings = timings; self.count = count; self.decoded = decoded; lock.unlock()
    }
}
