// /v1/analyze, /v1/frames, /v1/label and /v1/jobs: parse on the request thread, queue the work
// on the worker pool, answer from the worker (or from whoever cancels: deadline 504, shutdown
// 503; a client that went away cancels its work and needs no answer).
import Affect
import Dispatch
import Foundation
import HTTP
import Media
import Pipeline

extension Service {
    func handleAnalysis(_ template: String, _ exchange: Exchange) {
        let request = exchange.request
        do {
            switch template {
            case "/v1/analyze":
                runNow(try RequestInput.clip(request, config: config, limits: mediaLimits, allowStream: true), exchange)
            case "/v1/frames":
                runNow(try RequestInput.frames(request, config: config, limits: mediaLimits), exchange)
            case "/v1/label":
                runNow(try RequestInput.label(request, config: config, limits: mediaLimits), exchange)
            case "/v1/jobs":
                try submitJob(try RequestInput.clip(request, config: config, limits: mediaLimits, allowStream: false), exchange)
            default:
                jobRecord(exchange)
            }
        } catch {
            exchange.send(problem(for: error, ticket: nil))
        }
    }

    // MARK: synchronous requests

    func runNow(_ parsed: ParsedRequest, _ exchange: Exchange) {
        let ticket = JobTicket()
        let result = pool.submit(ticket) { [self] ctx, ticket in
            if parsed.options.stream { return stream(parsed, exchange, &ctx, ticket) }
            do {
                let body = try execute(parsed, &ctx, ticket, onFrame: nil)
                exchange.send(HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]), body: Array(body)))
            } catch {
                exchange.send(problem(for: error, ticket: ticket))
            }
        }
        guard result == .accepted else { return exchange.send(overloaded(result)) }
        exchange.responder.onCancel { ticket.cancel(.clientGone) }
        ticket.onCancel { [self] reason in
            if let p = cancelProblem(reason) { return exchange.send(p) }
            // Nobody to answer: still count the request (499, as nginx logs a client that left).
            if reason == .clientGone, exchange.claim() { exchange.record(status: 499) }
        }
        armDeadline(ticket)
    }

    /// NDJSON: one line per frame as it is computed, then the summary line; a failure after the
    /// head went out becomes a final `{"type":"error"}` line.
    func stream(_ parsed: ParsedRequest, _ exchange: Exchange, _ ctx: inout WorkerContext, _ ticket: JobTicket) {
        // Media that cannot even be opened still gets its 4xx status, before the 200 head goes out.
        if case .clip(let source) = parsed.work {
            do { _ = try MediaProbe(source: source, limits: mediaLimits) } catch { return exchange.send(problem(for: error, ticket: ticket)) }
        }
        guard let out = exchange.startStream(status: 200, contentType: "application/x-ndjson") else { return }
        do {
            let body = try execute(parsed, &ctx, ticket) { frame in
                if let line = try? StreamLine.frame(frame).ndjson() { out.write(Array(line)) }
            }
            out.write(Array(body))
        } catch {
            let p = problem(for: error, ticket: ticket)
            out.write("{\"type\":\"error\",\"status\":\(p.status),\"detail\":\(jsonString(problemDetail(p)))}\n")
        }
        out.finish()
        exchange.record(status: 200)
    }

    /// Runs the analysis on this worker; returns the response body (NDJSON summary line when streaming).
    func execute(_ parsed: ParsedRequest, _ ctx: inout WorkerContext, _ ticket: JobTicket,
                 onFrame: ((FrameResult) -> Void)?) throws -> Data {
        let cancelled = { ticket.isCancelled }
        let analysis: Analysis
        switch parsed.work {
        case .clip(let source):
            analysis = try ctx.analyzer.analyze(source, request: parsed.options.request, onFrame: onFrame, isCancelled: cancelled)
        case .images(let images):
            analysis = try ctx.analyzer.analyzeImages(images, request: parsed.options.request, onFrame: onFrame, isCancelled: cancelled)
        case .label(let source, let support):
            let labels = try ctx.analyzer.label(source, support: support, request: parsed.options.request, isCancelled: cancelled)
            metrics.recordFrames(labels.media.framesAnalyzed ?? 0, faces: labels.labels.count)
            return try ResultJSON.encode(labels)
        }
        record(analysis)
        return parsed.options.stream ? try StreamLine.summary(analysis.result).ndjson() : try ResultJSON.encode(analysis.result)
    }

    func record(_ analysis: Analysis) {
        for (stage, s) in analysis.timings.stages {
            let ns = Int64(s.wall * 1e9)
            if stage == "decode" { metrics.recordDecode(nanoseconds: ns) } else { metrics.recordStage(stage, nanoseconds: ns) }
        }
        metrics.recordFrames(analysis.timings.framesAnalyzed, faces: analysis.result.persons.reduce(0) { $0 + $1.frames })
    }

    func armDeadline(_ ticket: JobTicket) {
        DispatchQueue.global().asyncAfter(deadline: .now() + config.jobDeadline) { [weak ticket] in ticket?.cancel(.deadline) }
    }

    // MARK: async jobs

    func submitJob(_ parsed: ParsedRequest, _ exchange: Exchange) throws {
        var parsed = parsed
        // The server deletes a spooled body once the 202 is sent: keep our own copy for the job.
        var kept: String? = nil
        if case .clip(.file(let path)) = parsed.work {
            let mine = config.temporaryDirectory + "/affectd-job-\(UUID().uuidString)"
            guard rename(path, mine) == 0 else { throw ProblemError(500, "could not keep the uploaded body for the job") }
            kept = mine
            parsed.work = .clip(.file(mine))
        }
        let ticket = JobTicket()
        guard let id = jobs.create(ticket: ticket) else {
            if let kept { unlink(kept) }
            return exchange.send(.problem(status: config.overloadStatus, detail: "\(config.maxJobRecords) unfinished jobs exist (jobs.max_records); retry later",
                                          extraHeaders: HTTPHeaders([("Retry-After", String(config.retryAfter))])))
        }
        let result = pool.submit(ticket) { [self, parsed, kept] ctx, ticket in
            defer { if let kept { unlink(kept) } }
            jobs.update(id) { $0.status = .running; $0.started = Date() }
            if case .clip(let source) = parsed.work, let probe = try? MediaProbe(source: source, limits: mediaLimits) {
                jobs.update(id) { $0.duration = probe.duration }
            }
            do {
                let body = try execute(parsed, &ctx, ticket) { [jobs] frame in jobs.update(id) { $0.framesDone += 1; $0.lastT = frame.t } }
                jobs.finish(id, status: .succeeded, result: body)
            } catch {
                let p = problem(for: error, ticket: ticket)
                jobs.finish(id, status: ticket.cancelReason == .userRequest ? .cancelled : .failed, error: ProblemError(p.status, problemDetail(p)))
            }
        }
        guard result == .accepted else {
            jobs.remove(id)
            if let kept { unlink(kept) }
            return exchange.send(overloaded(result))
        }
        ticket.onCancel { [self] reason in
            switch reason {
            case .userRequest: jobs.finish(id, status: .cancelled, error: ProblemError(409, "the job was cancelled by DELETE"))
            case .deadline: jobs.finish(id, status: .failed, error: ProblemError(504, deadlineDetail))
            case .shutdown: jobs.finish(id, status: .failed, error: ProblemError(503, "the server shut down before the job ran"))
            case .clientGone: break
            }
        }
        armDeadline(ticket)
        let body = jobs.get(id)?.json ?? "{}"
        exchange.send(HTTPResponse(status: 202, headers: HTTPHeaders([("Content-Type", "application/json"), ("Location", "/v1/jobs/\(id)")]),
                                   body: Array(body.utf8)))
    }

    func jobRecord(_ exchange: Exchange) {
        let id = String(exchange.request.head.path.dropFirst("/v1/jobs/".count))
        guard let record = jobs.get(id) else { return exchange.send(.problem(status: 404, detail: "no job \(id) (unknown, or expired after jobs.retention)")) }
        if exchange.request.head.method == "DELETE" {
            if record.finished == nil { record.ticket.cancel(.userRequest) } else { jobs.remove(id) }
        }
        exchange.send(json(200, (jobs.get(id) ?? record).json))
    }

    // MARK: errors

    var deadlineDetail: String { "the request did not finish within jobs.deadline \(config.jobDeadline) s (queue wait included)" }

    func cancelProblem(_ reason: CancelReason) -> HTTPResponse? {
        switch reason {
        case .deadline: return .problem(status: 504, detail: deadlineDetail)
        case .shutdown: return .problem(status: 503, detail: "the server is shutting down; retry on another instance",
                                        extraHeaders: HTTPHeaders([("Retry-After", String(config.retryAfter))]))
        case .clientGone, .userRequest: return nil
        }
    }

    func overloaded(_ result: SubmitResult) -> HTTPResponse {
        let retry = HTTPHeaders([("Retry-After", String(config.retryAfter))])
        if result == .closed { return .problem(status: 503, detail: "the server is shutting down; retry on another instance", extraHeaders: retry) }
        return .problem(status: config.overloadStatus, detail: "the analysis queue is full (\(config.queueLength) waiting); retry after \(config.retryAfter) s",
                        extraHeaders: retry)
    }

    func problem(for error: Error, ticket: JobTicket?) -> HTTPResponse {
        switch error {
        case let p as ProblemError:
            return .problem(status: p.status, detail: p.detail)
        case let m as MediaError:
            metrics.mediaRejected(reason: m.code)
            switch m {
            case .emptyInput: return .problem(status: 400, detail: m.description)
            case .tooLarge, .tooLong, .tooManyFrames, .frameTooLarge: return .problem(status: 413, detail: m.description)
            case .cannotOpen: return .problem(status: 500, detail: "the upload could not be reopened")
            default: return .problem(status: 422, detail: m.description)
            }
        case AnalyzerError.cancelled:
            return ticket?.cancelReason.flatMap(cancelProblem) ?? .problem(status: 503, detail: "the analysis was cancelled")
        case AnalyzerError.invalidRequest(let m):
            return .problem(status: 400, detail: m)
        default:
            logger.error("analysis failed", metadata: ["error": "\(error)"])
            return .problem(status: 500, detail: "the analysis failed inside the server")
        }
    }

    func problemDetail(_ r: HTTPResponse) -> String {
        (try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])?["detail"] as? String ?? ""
    }
}
