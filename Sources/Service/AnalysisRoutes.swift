// /v1/analyze, /v1/frames and /v1/label: queue the parsed request on the worker pool and answer
// from the worker (or from whoever cancels: deadline 504, shutdown 503; a client that went away
// cancels its work and needs no answer).
import Affect
import Dispatch
import Foundation
import HTTP
import Media
import Pipeline

extension Service {
    func runNow(_ parsed: ParsedRequest, _ exchange: Exchange) {
        let ticket = JobTicket()
        let result = pool.submit(ticket) { [self] ctx, ticket in
            if parsed.stream { return stream(parsed, exchange, &ctx, ticket) }
            do {
                exchange.send(try .json(200, try execute(parsed, &ctx, ticket, onFrame: nil)))
            } catch {
                exchange.send(problem(for: error, ticket: ticket).response)
            }
        }
        guard result == .accepted else { return exchange.send(overloaded(result).response) }
        exchange.responder.onCancel { ticket.cancel(.clientGone) }
        ticket.onCancel { [self] reason in
            if let p = cancelProblem(reason) { return exchange.send(p.response) }
            // Nobody to answer: still count the request (499, as nginx logs a client that left).
            if reason == .clientGone, exchange.claim() { exchange.record(status: 499) }
        }
        armDeadline(ticket)
    }

    /// NDJSON: one line per frame as it is computed, then the summary line; a failure after the
    /// head went out becomes a final `{"type":"error"}` line.
    func stream(_ parsed: ParsedRequest, _ exchange: Exchange, _ ctx: inout WorkerContext, _ ticket: JobTicket) {
        // Media that cannot even be opened still gets its 4xx status, before the 200 head goes out;
        // the analysis then reads the input this opened.
        var reader: MediaReader?
        if case .clip(let source) = parsed.work {
            do { reader = try MediaReader(source: source, limits: parsed.request.limits) } catch {
                return exchange.send(problem(for: error, ticket: ticket).response)
            }
        }
        guard let out = exchange.startStream(status: 200, contentType: "application/x-ndjson") else { return }
        do {
            let output = try execute(parsed, reader: reader, &ctx, ticket) { frame in
                if let line = try? StreamLine.frame(frame).ndjson() { out.write(Array(line)) }
            }
            if case .analysis(let result) = output { out.write(Array(try StreamLine.summary(result).ndjson())) }
        } catch {
            if let line = try? StreamErrorLine(problem(for: error, ticket: ticket)).ndjson() { out.write(line) }
        }
        out.finish()
        exchange.record(status: 200)
    }

    /// Runs the analysis on this worker and counts what it did; a clip is read through `reader` when
    /// the caller has already opened it.
    func execute(
        _ parsed: ParsedRequest, reader: MediaReader? = nil, _ ctx: inout WorkerContext, _ ticket: JobTicket,
        onFrame: ((FrameResult) -> Void)?
    ) throws -> AnalysisOutput {
        let cancelled = { ticket.isCancelled }
        let analysis: Analysis
        switch parsed.work {
        case .clip(let source):
            let reader = try reader ?? MediaReader(source: source, limits: parsed.request.limits)
            analysis = try ctx.analyzer.analyze(reader, request: parsed.request, onFrame: onFrame, isCancelled: cancelled)
        case .images(let images):
            analysis = try ctx.analyzer.analyzeImages(images, request: parsed.request, onFrame: onFrame, isCancelled: cancelled)
        case .label(let source, let support):
            let labels = try ctx.analyzer.label(source, support: support, request: parsed.request, isCancelled: cancelled)
            metrics.recordFrames(labels.media.framesAnalyzed, faces: labels.labels.count)
            return .labels(labels)
        }
        record(analysis)
        return .analysis(analysis.result)
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
}
