/// A speech-rate proxy after de Jong & Wempe (2009, "Praat script to detect syllable nuclei"):
/// syllable nuclei are peaks of the level contour that rise at least 2 dB above the dip before them,
/// fall at least 2 dB after, lie in a voiced frame and are no more than 25 dB under the loudest
/// frame of the span. The contour is the 10 ms RMS level smoothed over 50 ms. A proxy: it counts
/// loudness peaks, not linguistic syllables.
enum SyllableNuclei {
    static let minDip: Float = 2
    static let belowPeak: Float = 25

    static func count(loudness raw: [Float], voiced: [Bool]) -> Int {
        guard raw.count >= 3 else { return 0 }
        let level = (0..<raw.count).map { i -> Float in
            let lo = max(0, i - 2), hi = min(raw.count - 1, i + 2)
            return raw[lo...hi].reduce(0, +) / Float(hi - lo + 1)
        }
        let floor = level.max()! - belowPeak
        var nuclei = 0
        var dip = level[0]
        var candidate: Int? = nil
        for i in 1..<level.count {
            let x = level[i]
            if let c = candidate {
                if x > level[c] {
                    candidate = i
                } else if level[c] - x >= minDip {
                    nuclei += 1
                    candidate = nil
                    dip = x
                }
                continue
            }
            dip = min(dip, x)
            if x - dip >= minDip && voiced[i] && x >= floor { candidate = i }
        }
        return nuclei
    }
}
