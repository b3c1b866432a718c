import Affect
import Media
import Tensor

/// A VA head that reads audio, on a clip: the audio is complete only after the last frame is
/// demuxed, while the frame workers run per chunk. So the workers keep each face's features, the
/// decode thread encodes the audio window of every analysed frame time once the audio is there
/// (`windows`), and the Analyzer runs the head over the whole clip's faces at the end (`apply`).
enum AudioVisualHead {
    /// The audio feature of each frame time (seconds on the clip's axis); `missing` for every frame
    /// when the clip has no (decodable) audio.
    static func windows(_ encoder: AudioEncoder, audio: DecodedAudio?, times: [Double], arena: Arena) throws -> [AudioFeature] {
        guard let audio else { return times.map { _ in encoder.missing } }
        return try encoder.features(audio.samples, times: times.map { $0 - audio.startOffset }, arena: arena)
    }

    /// Faces per head run: bounds the arena while keeping the head's GEMMs batched.
    static let batch = 256

    /// Runs `head` on every face of `frames` (their kept features with frame k's audio feature) and
    /// writes `raw`, its variance, the audio coverage and the completed features into them.
    static func apply(_ head: VAHead, audio: [AudioFeature], to frames: inout [FrameObservations], arena: Arena) throws {
        guard audio.count == frames.count else { throw AnalyzerError.model("audio features for \(audio.count) of \(frames.count) frames") }
        var slots: [(frame: Int, face: Int)] = [], inputs: [FaceFeatures] = []
        for (k, frame) in frames.enumerated() {
            for (i, face) in frame.faces.enumerated() {
                guard var f = face.features else { continue }  // no crop: no estimate, as without audio
                f.audio = audio[k].values
                f.audioCoverage = [audio[k].coverage]
                frames[k].faces[i].features = f  // a temporal head may read them too
                slots.append((k, i))
                inputs.append(f)
            }
        }
        for first in stride(from: 0, to: inputs.count, by: batch) {
            let end = min(first + batch, inputs.count)
            defer { arena.reset() }
            for (slot, out) in zip(slots[first..<end], try head.run(Array(inputs[first..<end]), arena: arena)) {
                frames[slot.frame].faces[slot.face].raw = out.va
                frames[slot.frame].faces[slot.face].rawVariance = out.variance
                frames[slot.frame].faces[slot.face].audioCoverage = Double(audio[slot.frame].coverage)
            }
        }
    }
}
