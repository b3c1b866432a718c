// One /v1/stream connection: messages arrive on the connection's queue (`receive`), frames are
// analysed on the compute threads of the service's scheduler (`runNextFrame`, via the hub). Only the newest unanalysed frame is kept: a
// frame that arrives while another waits replaces it (counted as dropped), so a client faster than
// the analysis never builds a queue. Estimates the client is too slow to take are not sent
// (`WebSocket.send` refuses them) and counted.
import Dispatch
import Foundation
import HTTP
import Media
import Pipeline
import Synchronization

final class StreamSession: @unchecked Sendable {
    let hub: StreamHub
    let service: Service
    let socket: WebSocket
    /// This session's share of the scheduler.
    let lane: SchedulerSession

    struct Pending {
        let frame: StreamFrame
        let arrived: UInt64
    }

    /// Everything `receive` and the workers share, under `control`.
    struct Control {
        var options: StreamOptions
        var pending: Pending?
        /// Queued on the hub or running on a worker.
        var scheduled = false
        var ending = false
        var framesReceived = 0
        var lastTime: Double?
        /// Time of the last frame let through the fps cap.
        var lastAccepted: Double?
        var counts = StreamCounts()
    }
    private let control: Mutex<Control>
    private let lastMessageAt = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    /// Touched by one worker at a time (the session is scheduled at most once), and by `receive`
    /// only before the first frame (resume).
    private var live: LiveSession

    init(hub: StreamHub, service: Service, socket: WebSocket) {
        self.hub = hub
        self.service = service
        self.socket = socket
        lane = hub.lane()
        control = Mutex(Control(options: StreamOptions(maxFaces: service.config.maxFaces)))
        live = LiveSession(models: hub.models)
    }

    /// Registers with the hub (idle sweep) and greets the client with the session's settings.
    func start() {
        hub.register(self)
        let c = service.config
        _ = send(
            StreamReady(
                model: ["name": service.models.models[0].name, "version": service.models.models[0].version], options: options,
                limits: .init(maxMessageBytes: c.streamMaxMessageBytes, maxPixels: c.streamMaxPixels, idleTimeout: c.streamIdleTimeout)))
    }

    var lastMessage: UInt64 { lastMessageAt.load(ordering: .relaxed) }
    var options: StreamOptions { control.withLock { $0.options } }

    func close(_ code: WebSocketCloseCode, _ reason: String) { socket.close(code: code, reason: reason) }

    func send(_ message: some Encodable) -> Bool {
        guard let text = try? StreamJSON.encode(message) else {
            close(.internalError, "could not encode a message")
            return false
        }
        return socket.send(text: text)
    }

    /// A protocol violation: an error message with the detail, then the close with its code.
    func fail(_ violation: StreamViolation) {
        _ = send(StreamError(code: Int(violation.code.rawValue), detail: violation.reason))
        close(violation.code, violation.reason)
    }

    // MARK: connection queue

    func receive(_ message: WebSocketMessage) {
        lastMessageAt.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
        do throws(StreamViolation) {
            switch message {
            case .binary(let bytes): try accept(try StreamFrame.parse(bytes))
            case .text(let text):
                let c = service.config
                switch try StreamControl.parse(text, current: options, maxFPS: c.maxFPS, maxFaces: c.maxFaces) {
                case .options(let o):
                    control.withLock { $0.options = o }
                    _ = send(StreamOptionsAck(options: o))
                case .resume(let token): try resume(token)
                case .end: end()
                }
            }
        } catch {
            fail(error)
        }
    }

    private func accept(_ frame: StreamFrame) throws(StreamViolation) {
        let arrived = DispatchTime.now().uptimeNanoseconds
        let (schedule, outcome) = try control.withLock { c throws(StreamViolation) -> (Bool, StreamFrameOutcome?) in
            guard !c.ending else { return (false, nil) }
            if let last = c.lastTime, frame.t <= last { throw .policy("frame times must increase (\(frame.t) after \(last))") }
            c.lastTime = frame.t
            c.framesReceived += 1
            if let fps = c.options.fps, let last = c.lastAccepted, frame.t - last < 1 / fps - 1e-6 {
                c.counts.skipped += 1
                return (false, .skipped)
            }
            c.lastAccepted = frame.t
            let replaced = c.pending != nil
            if replaced { c.counts.dropped += 1 }
            c.pending = Pending(frame: frame, arrived: arrived)
            defer { c.scheduled = true }
            return (!c.scheduled, replaced ? .dropped : nil)
        }
        if let outcome { service.metrics.streamFrame(outcome) }
        if schedule { hub.schedule(self) }
    }

    private func resume(_ token: String) throws(StreamViolation) {
        guard control.withLock({ $0.framesReceived == 0 }) else { throw .policy("resume must come before the first frame") }
        let state: LiveState
        do { state = try hub.tokens.open(token) } catch { throw .policy("state token refused: \(error.reason)") }
        do { live = try LiveSession(models: hub.models, resuming: state) } catch { throw .policy("\(error)") }
    }

    /// After the frame being analysed (if any) and the one waiting (if any), the state goes out and
    /// the session closes with 1000.
    private func end() {
        let now = control.withLock { c -> Bool in
            c.ending = true
            if c.scheduled { return false }
            c.scheduled = true
            return true
        }
        if now { hub.schedule(self) }
    }

    // MARK: worker

    /// Analyses the waiting frame (or, when ending with none left, sends the state and closes);
    /// true when the session has another frame waiting and goes back in the queue.
    func runNextFrame(on worker: LiveWorker) -> Bool {
        let (next, options, ending) = control.withLock { c in
            defer { c.pending = nil }
            return (c.pending, c.options, c.ending)
        }
        if let next, socket.isOpen { analyse(next, options, worker) }
        return control.withLock { c -> Bool in
            if c.pending != nil { return true }
            if ending || c.ending, socket.isOpen {
                finish(c.counts)
            }
            c.scheduled = false
            return false
        }
    }

    private func analyse(_ pending: Pending, _ options: StreamOptions, _ worker: LiveWorker) {
        var live = LiveOptions()
        live.maxFaces = options.maxFaces
        live.expressions = options.expressions
        live.limits = ServiceHost.mediaLimits(service.config)
        live.limits.maxPixels = service.config.streamMaxPixels
        do {
            let frame = try self.live.analyze(pending.frame.image, t: pending.frame.t, options: live, on: worker)
            service.metrics.recordFrames(1, faces: frame.persons.count)
            let counts = control.withLock { c in
                c.counts.analysed += 1
                return c.counts
            }
            let latency = DispatchTime.now().uptimeNanoseconds - pending.arrived
            service.metrics.streamFrame(.analysed, latencyNanoseconds: latency)
            let estimate = StreamEstimate(
                t: frame.t,
                persons: frame.persons.map {
                    .init(id: $0.id, box: $0.box, valence: $0.va?.valence, arousal: $0.va?.arousal, confidence: $0.confidence, expression: $0.expression)
                },
                latencyMs: Double(latency) / 1e6, detected: frame.detected, counts: counts)
            if !send(estimate) && socket.isOpen { control.withLock { $0.counts.unsent += 1 } }
        } catch let error as MediaError {
            service.metrics.mediaRejected(reason: error.code)
            if case .frameTooLarge = error { return fail(StreamViolation(code: .messageTooBig, reason: "\(error)")) }
            fail(.unsupported("frame image cannot be decoded: \(error)"))
        } catch {
            fail(StreamViolation(code: .internalError, reason: "analysis failed: \(error)"))
        }
    }

    /// Called under `control`.
    private func finish(_ counts: StreamCounts) {
        do {
            _ = send(StreamState(state: try hub.tokens.seal(live.state), counts: counts))
            close(.normalClosure, "end")
        } catch {
            close(.internalError, "could not write the state")
        }
    }
}
