import Affect
import Foundation
import Vision

/// Everything a live session needs to continue in a later one: the tracker (person ids, last
/// boxes) and each person's Kalman filter state. The service hands it to the client as a signed
/// token; it is checked again on the way back in (`LiveSession(resuming:)`).
public struct LiveState: Sendable, Equatable, Codable {
    public struct Person: Sendable, Equatable, Codable {
        public var id: Int
        public var filter: KalmanFilterState
        public init(id: Int, filter: KalmanFilterState) { self.id = id; self.filter = filter }
    }

    public static let currentVersion = 1
    /// Bounds a state read from outside must respect (a session never has more).
    public static let maxTracks = 256

    public var version = Self.currentVersion
    /// `name@version` of the model package that computed it: another model's filter states mean nothing.
    public var model: String
    /// Time of the session's last frame, on that session's clock (nil before the first frame).
    public var t: Double?
    /// Wall-clock seconds (Unix) when the state was taken: the time until a later session resumes
    /// it counts as elapsed time for the filters.
    public var issued: Double
    public var tracker: FaceTracker.State
    public var persons: [Person]

    public init(model: String, t: Double?, issued: Double, tracker: FaceTracker.State, persons: [Person]) {
        self.model = model; self.t = t; self.issued = issued; self.tracker = tracker; self.persons = persons
    }
}
