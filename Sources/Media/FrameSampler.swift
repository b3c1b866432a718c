/// Which frames to keep.
///
/// Rule for `.fps(R)`: target times are k/R (k = 0, 1, 2, ...). A decoded frame with time t is kept
/// when t >= k/R - h for the next pending target k, where h is half the stream's nominal frame
/// interval (0.5 / avg_frame_rate; 0.5 / R if the stream declares none). After keeping a frame, every
/// target up to t + h counts as served, so a frame is kept at most once and a gap in a variable-rate
/// stream skips the targets it covers rather than repeating a frame. The kept frame reports its own
/// time t, not k/R. On a constant-rate stream this keeps the frame nearest to each target (ties to the
/// later frame), e.g. 23.976 fps sampled at 5 fps -> 0.000, 0.209, 0.417, 0.584, 0.792, ...
public enum FrameSampling: Sendable, Equatable {
    case everyFrame
    case fps(Double)
}

struct FrameSampler {
    private let rate: Double
    private let half: Double
    private var next: Double = 0  // pending target index k

    init?(_ sampling: FrameSampling, streamFPS: Double?) {
        guard case let .fps(r) = sampling, r > 0, r.isFinite else { return nil }
        rate = r
        half = 0.5 / (streamFPS ?? r)
    }

    mutating func keep(_ t: Double) -> Bool {
        let epsilon = 1e-9
        guard t + epsilon >= next / rate - half else { return false }
        next = ((t + half) * rate + epsilon).rounded(.down) + 1
        return true
    }
}
