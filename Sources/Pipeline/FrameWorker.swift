import Affect
import Foundation
import Media
import Tensor
import Vision

/// One decoded, RGB-converted frame on its way from the decode thread to a worker. The pixels
/// belong to a pooled buffer that the worker gives back once the frame is analysed.
struct RGBFrame: @unchecked Sendable {
    var seq: Int
    var t: Double
    var width: Int
    var height: Int
    var pixels: UnsafeMutablePointer<UInt8>
    /// Whether the scene encoder runs on this frame (a scene tick, or every frame when a head reads it).
    var scene: Bool
    /// Whether the detector runs on this frame (else the previous frame's faces are followed or reused).
    var detect: Bool
    var view: RGBView { RGBView(pixels: pixels, width: width, height: height) }
}

/// Reuses frame buffers of one size, so steady-state decoding allocates (and page-faults) nothing.
/// Buffers are aligned for `FrameConverter.rgb8(_:into:padded:)`; callers ask for the slack.
final class PixelPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [UnsafeMutablePointer<UInt8>] = []
    private var size = 0

    func take(bytes: Int) -> UnsafeMutablePointer<UInt8> {
        lock.lock(); defer { lock.unlock() }
        if bytes != size { for p in free { p.deallocate() }; free.removeAll(); size = bytes }
        return free.popLast()
            ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: FrameConverter.planeAlignment).bindMemory(
                to: UInt8.self, capacity: bytes)
    }

    func give(_ p: UnsafeMutablePointer<UInt8>, bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        if bytes == size && free.count < 64 { free.append(p) } else { p.deallocate() }
    }

    /// Returns the pixels of a chunk's frames.
    func give(_ chunk: [RGBFrame]) {
        for f in chunk { give(f.pixels, bytes: f.width * f.height * 3 + RGBFrameBuffer.slack) }
    }

    deinit { for p in free { p.deallocate() } }
}

/// What a worker found in one frame: the detected faces (for the tracker, which runs in time order
/// on the collecting thread) and, per face, the single-frame observation without its person id.
struct FrameOutput: Sendable {
    var seq: Int
    var t: Double
    var faces: [Face]
    var observations: [FaceObservation]
    var scene: [Float]?
}

/// What one request wants computed; derived once from the request, the package and the options.
struct WorkPlan: Sendable {
    var maxFaces: Int
    var flip: Bool
    var expressions: Bool
    /// Embeddings each face needs (for the result, labelling, or a head that reads them).
    var face: Bool
    var person: Bool
    var scene: Bool
    /// Returned in results' `embeddings`.
    var returnEmbeddings: Bool
    /// A trained temporal head reads per-face features.
    var temporalFeatures: Bool
    /// A head reads audio and the clip's audio comes after its frames: workers keep the features and
    /// leave `raw` to the Analyzer, which runs the VA head once the audio is decoded (AudioVisualHead).
    var deferHead: Bool
    /// MediaPipe's face measurements to report (nil: none, and its networks do not run).
    var signals: Signals?
    /// Between detections, follow each face with O-Net (`FaceDetector.track`) instead of reusing its box.
    var tracking = false

    struct Signals: Sendable { var blendshapes: Bool, pose: Bool, mesh: Bool }
}

/// One compute thread's state for its whole life: its detector (with its own arena), its arena for
/// the encoders. Runs a chunk of consecutive frames, the crops of all their faces as one batch, and
/// hands back the chunk's stage timings with its outputs (they add up into the request's).
final class FrameWorker: @unchecked Sendable {
    let models: AnalyzerModels
    let detector: FaceDetector
    let arena = Arena(bytes: 16 << 20)

    init(models: AnalyzerModels) {
        self.models = models
        detector = FaceDetector(networks: models.detector)
    }

    /// A chunk's outputs, its last frame's faces (the next chunk's incoming ones with tracking) and its stage timings.
    struct ChunkResult {
        var outputs: [FrameOutput]
        var last: [Face]
        var timings: StageTimings
    }

    /// A chunk analysed before the faces coming in are known (`speculate`), with its detections.
    struct Speculation {
        var result: ChunkResult
        var detections: [[Face]?]
    }

    /// `incoming`: the faces of the frame just before the chunk (with tracking, the previous chunk's
    /// last faces; a live session's last frame); nil: none, and the first frame is detected.
    func run(_ chunk: [RGBFrame], plan: WorkPlan, incoming: [Face]?) throws -> ChunkResult {
        var detections = [[Face]?](repeating: nil, count: chunk.count)
        return try pass(chunk, plan: plan, incoming: incoming, detections: &detections)
    }

    /// Whether `speculate` applies: with tracking, a chunk that starts on a detection frame depends
    /// on the faces coming in only through those its first detection misses (they are followed).
    static func canSpeculate(_ chunk: [RGBFrame], plan: WorkPlan) -> Bool { plan.tracking && chunk.first?.detect == true }

    /// The chunk analysed as if no face came in, so a request's chunks run side by side instead of
    /// each waiting for the previous one's last faces; `settle` finishes it once they are known.
    func speculate(_ chunk: [RGBFrame], plan: WorkPlan) throws -> Speculation {
        var detections = [[Face]?](repeating: nil, count: chunk.count)
        let result = try pass(chunk, plan: plan, incoming: nil, detections: &detections)
        return Speculation(result: result, detections: detections)
    }

    /// The speculation's result when every face that came in was found again by the chunk's first
    /// detection; else (a face the detector lost at a chunk boundary) the chunk located and analysed
    /// again with them, reusing its detections: either way what `run` with `incoming` gives.
    func settle(_ guess: Speculation, _ chunk: [RGBFrame], plan: WorkPlan, incoming: [Face]?) throws -> ChunkResult {
        guard let incoming, !FaceDetector.missed(incoming, by: guess.detections[0] ?? []).isEmpty else { return guess.result }
        var timings = guess.result.timings
        var detections = guess.detections
        var again = try timings.measure("reanalyse") { try pass(chunk, plan: plan, incoming: incoming, detections: &detections) }
        again.timings = timings
        return again
    }

    /// Locates the chunk's faces (`detections` keeps each detection frame's for a second pass) and
    /// analyses them, with this pass's own stage timings.
    private func pass(_ chunk: [RGBFrame], plan: WorkPlan, incoming: [Face]?, detections: inout [[Face]?]) throws -> ChunkResult {
        var timings = StageTimings()
        let located = try locate(chunk, plan: plan, incoming: incoming, detections: &detections, timings: &timings)
        let outputs = try analyse(chunk, faces: located.faces, plan: plan, timings: &timings)
        return ChunkResult(outputs: outputs, last: located.last, timings: timings)
    }

    /// Every frame's faces and the last frame's.
    private func locate(
        _ chunk: [RGBFrame], plan: WorkPlan, incoming: [Face]?, detections: inout [[Face]?], timings: inout StageTimings
    ) throws -> (faces: [[Face]], last: [Face]) {
        var previous: [Face]? = nil
        var faces: [[Face]] = []
        for (k, frame) in chunk.enumerated() {
            faces.append(
                try locate(
                    frame.view, detect: frame.detect, first: k == 0, previous: &previous, detected: &detections[k], plan: plan,
                    incoming: incoming, timings: &timings))
        }
        return (faces, previous ?? [])
    }

    /// The chunk's outputs for its located faces: crops of every face as one batch through the
    /// expression encoder, the other encoders, the VA head and confidence.
    private func analyse(_ chunk: [RGBFrame], faces facesPerFrame: [[Face]], plan: WorkPlan, timings: inout StageTimings) throws
        -> [FrameOutput]
    {
        let affect = models.affect
        guard let expression = affect.expression else { throw AnalyzerError.model("the package has no expression encoder") }
        var crops: [[UInt8]] = [], cropOwner: [(frame: Int, face: Int)] = []
        var personImages: [[UInt8]] = []
        var sceneImages: [[UInt8]] = [], sceneOwner: [Int] = []
        var signals: [[FaceSignals]] = []
        for (k, frame) in chunk.enumerated() {
            let view = frame.view
            let faces = facesPerFrame[k]
            if let wanted = plan.signals, let mesh = models.faceMesh {
                signals.append(try timings.measure("face_mesh") { try measure(mesh, view, faces, wanted) })
            }
            timings.measure("crop") {
                for (i, face) in faces.enumerated() {
                    var crop = [UInt8](repeating: 0, count: FerCrop.size * FerCrop.size)
                    let ok = crop.withUnsafeMutableBufferPointer { AlignedFerCrop.crop(view, face: face, into: $0.baseAddress!) }
                    guard ok else { continue }
                    crops.append(crop)
                    cropOwner.append((k, i))
                    if plan.person, let enc = affect.person {
                        personImages.append(
                            ImageResize.bilinear(
                                view, region: PersonCrop.upperBody(face: face.box, width: view.width, height: view.height),
                                width: enc.width, height: enc.height))
                    }
                }
                if plan.scene, frame.scene, let enc = affect.scene {
                    sceneImages.append(
                        ImageResize.bilinear(
                            view, region: Box(x1: 0, y1: 0, x2: Float(view.width), y2: Float(view.height)),
                            width: enc.width, height: enc.height))
                    sceneOwner.append(k)
                }
            }
        }
        let expr =
            crops.isEmpty
            ? []
            : try timings.measure("expression") {
                try expression.run(crops, flip: plan.flip, embeddings: plan.face, arena: arena)
            }
        var personFeatures: [[Float]] = [], sceneFeatures: [Int: [Float]] = [:]
        try timings.measure("encoders") {
            if !personImages.isEmpty, let enc = affect.person { personFeatures = try embed(enc, personImages) }
            if !sceneImages.isEmpty, let enc = affect.scene {
                for (k, f) in zip(sceneOwner, try embed(enc, sceneImages)) { sceneFeatures[k] = f }
            }
        }
        // A head that reads audio, run here, has none to read (a live session, a batch of stills): the masked input.
        let noAudio = plan.deferHead || !affect.readsAudio ? nil : affect.audio?.missing
        let features = expr.indices.map { n in
            FaceFeatures(
                scene: sceneFeatures[cropOwner[n].frame], person: personFeatures.isEmpty ? nil : personFeatures[n],
                face: expr[n].embedding, expression: expr[n].posterior, audio: noAudio)
        }
        let heads =
            features.isEmpty || plan.deferHead ? [] : try timings.measure("head") { try affect.vaHead.run(features, arena: arena) }
        arena.reset()
        var byFace: [Int: [Int: Int]] = [:]  // frame -> face -> crop index
        for (n, o) in cropOwner.enumerated() { byFace[o.frame, default: [:]][o.face] = n }
        return chunk.enumerated().map { k, frame in
            let faces = facesPerFrame[k]
            let observations = faces.enumerated().map { i, face -> FaceObservation in
                let box = [Double(face.box.x1), Double(face.box.y1), Double(face.box.width), Double(face.box.height)]
                let landmarks = face.landmarks.map { [Double($0.x), Double($0.y)] }
                let measured = signals.isEmpty ? nil : signals[k][i]
                guard let n = byFace[k]?[i] else {
                    return FaceObservation(
                        person: 0, box: box, score: Double(face.score), landmarks: landmarks, raw: nil, confidence: 0, signals: measured)
                }
                let e = expr[n]
                let confidence = FaceConfidence.default.confidence(
                    .init(
                        detection: Double(face.score), faceSize: Double(min(face.box.width, face.box.height)),
                        sharpness: e.sharpness, posterior: e.posterior, flippedPosterior: e.flippedPosterior,
                        visible: AlignedFerCrop.visibleFraction(face, width: frame.width, height: frame.height)))
                let expression =
                    plan.expressions
                    ? Dictionary(uniqueKeysWithValues: zip(models.expressionLabels, e.posterior.map(Double.init))) : nil
                let embeddings =
                    plan.returnEmbeddings
                    ? Embeddings(scene: nil, person: features[n].person, face: e.embedding) : nil
                return FaceObservation(
                    person: 0, box: box, score: Double(face.score), landmarks: landmarks,
                    raw: heads.isEmpty ? nil : heads[n].va, rawVariance: heads.isEmpty ? nil : heads[n].variance,
                    confidence: confidence, expression: expression, embeddings: embeddings,
                    features: plan.temporalFeatures || plan.face || plan.deferHead ? features[n] : nil,
                    signals: measured, audioCoverage: noAudio.map { Double($0.coverage) })
            }
            return FrameOutput(seq: frame.seq, t: frame.t, faces: faces, observations: observations, scene: sceneFeatures[k])
        }
    }

    /// One frame's faces: detected on detection frames (`detected` keeps the detection for a second
    /// pass), and between them the previous frame's faces followed by O-Net (`plan.tracking`) or
    /// reused unchanged. With tracking, a detection frame also keeps the followed faces the detector
    /// missed, and its tilted faces get the upright boxes tracking gives them (`FaceDetector.straighten`).
    /// The chunk's first frame is detected when nothing comes in. At most `plan.maxFaces`, the largest
    /// detected first.
    private func locate(
        _ view: RGBView, detect: Bool, first: Bool, previous: inout [Face]?, detected cached: inout [Face]?, plan: WorkPlan,
        incoming: [Face]?, timings: inout StageTimings
    ) throws -> [Face] {
        if detect && cached == nil {
            cached = try timings.measure("detect") { try detector.detect(view) }
            if plan.tracking, let found = cached { cached = try timings.measure("follow") { try detector.straighten(found, in: view) } }
        }
        var detected = detect ? cached : nil
        if first && (plan.tracking || detected == nil) { previous = incoming }
        if detected == nil && previous == nil { detected = try timings.measure("detect") { try detector.detect(view) } }
        var faces = detected ?? previous ?? []
        if plan.tracking, let earlier = previous {
            // On a detection frame only the faces the detector did not find again are followed.
            let lost = detected.map { FaceDetector.missed(earlier, by: $0) } ?? earlier
            let followed = lost.isEmpty ? [] : try timings.measure("follow") { try detector.track(lost, in: view) }
            faces = detected.map { $0 + FaceDetector.missed(followed, by: $0) } ?? followed
        }
        let kept = Array(faces.prefix(plan.maxFaces))
        previous = kept
        return kept
    }

    /// The requested face measurements of one frame's faces (landmark and blendshape networks).
    private func measure(_ mesh: FaceMesh, _ view: RGBView, _ faces: [Face], _ wanted: WorkPlan.Signals) throws -> [FaceSignals] {
        defer { arena.reset() }
        return try mesh.run(view, faces: faces, blendshapes: wanted.blendshapes, arena: arena).map { r in
            let pose = wanted.pose ? HeadPose(landmarks: r.landmarks) : nil
            return FaceSignals(
                blendshapes: wanted.blendshapes
                    ? Dictionary(uniqueKeysWithValues: zip(mesh.blendshapeNames, r.blendshapes.map(Double.init))) : nil,
                pose: pose.map { FaceSignals.Pose(yaw: $0.yaw, pitch: $0.pitch, roll: $0.roll) },
                mesh: wanted.mesh ? r.landmarks.map { [Double($0.x), Double($0.y), Double($0.z)] } : nil,
                presence: Double(r.presence))
        }
    }

    /// Pooled features of 224x224 crops, `encoderBatch` per run: the arena keeps every activation of a
    /// run (tens of MB per EfficientNet-Lite0 image), so RSS grows with the batch; the speed hardly does
    /// (its convolutions are GEMMs over 224x224 positions already).
    private func embed(_ encoder: ImageEncoder, _ images: [[UInt8]]) throws -> [[Float]] {
        var out: [[Float]] = []
        for start in stride(from: 0, to: images.count, by: Self.encoderBatch) {
            let part = Array(images[start..<min(start + Self.encoderBatch, images.count)])
            out += rows(try encoder.run(part, outputs: ["features"], arena: arena)[0])
        }
        return out
    }

    static let encoderBatch = 1

    private func rows(_ t: Tensor) -> [[Float]] {
        let w = t.count / max(t.dim(0), 1)
        return (0..<t.dim(0)).map { Array(UnsafeBufferPointer(start: t.data + $0 * w, count: w)) }
    }
}

extension AnalyzerModels {
    /// What `request` needs computed per frame with this package. `audioFollows`: the frames come
    /// from a clip whose audio is decoded with them (a head that reads audio then waits for it).
    func plan(_ request: AnalyzeRequest, forLabelling: Bool, audioFollows: Bool = false) throws -> WorkPlan {
        guard request.maxFaces >= 1, request.maxFaces <= 256 else { throw AnalyzerError.invalidRequest("max_faces must be in 1...256") }
        let needs = affect.requiredSources
        let embeddings = request.includeEmbeddings || forLabelling
        var temporalFeatures = false
        if case .network = affect.temporal { temporalFeatures = true }
        return WorkPlan(
            maxFaces: request.maxFaces, flip: request.flip, expressions: request.includeExpressions,
            face: embeddings || needs.contains(.face),
            person: (embeddings || needs.contains(.person)) && affect.person != nil,
            scene: (embeddings || needs.contains(.scene)) && affect.scene != nil,
            returnEmbeddings: request.includeEmbeddings, temporalFeatures: temporalFeatures,
            deferHead: audioFollows && affect.readsAudio, signals: try signals(request))
    }

    private func signals(_ request: AnalyzeRequest) throws -> WorkPlan.Signals? {
        let s = WorkPlan.Signals(blendshapes: request.includeBlendshapes, pose: request.includePose, mesh: request.includeMesh)
        guard s.blendshapes || s.pose || s.mesh else { return nil }
        guard faceMesh != nil else { throw AnalyzerError.model("the package has no face landmark network (blendshapes, pose, landmarks)") }
        return s
    }
}
