// /v1/jobs: queue an analysis and answer 202 at once; GET /v1/jobs/{id} reads the record, DELETE
// cancels a running job or removes a finished one.
import Foundation
import HTTP
import Media

extension Service {
    func submitJob(_ parsed: ParsedRequest, _ exchange: Exchange) throws {
        var parsed = parsed
        parsed.request.workClass = .batch  // no client waits on the connection: interactive requests go first
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
            throw ProblemError(config.overloadStatus, "\(config.maxJobRecords) unfinished jobs exist (jobs.max_records); retry later", headers: retryAfter)
        }
        let result = pool.submit(ticket, .batch) { [self, parsed, kept] ctx, ticket in
            defer { if let kept { unlink(kept) } }
            jobs.update(id) {
                $0.status = .running; $0.started = Date()
            }
            do {
                // The record shows the clip's duration while it runs; the analysis reads the input opened here.
                var reader: MediaReader?
                if case .clip(let source) = parsed.work {
                    let opened = try MediaReader(source: source, limits: parsed.request.limits)
                    jobs.update(id) { $0.duration = opened.probe.duration }
                    reader = opened
                }
                let output = try execute(parsed, reader: reader, &ctx, ticket) { [jobs] frame in
                    jobs.update(id) {
                        $0.framesDone += 1; $0.lastT = frame.t
                    }
                }
                jobs.finish(id, status: .succeeded, result: output)
            } catch {
                jobs.finish(id, status: ticket.cancelReason == .userRequest ? .cancelled : .failed, error: problem(for: error, ticket: ticket))
            }
        }
        guard result == .accepted else {
            jobs.remove(id)
            if let kept { unlink(kept) }
            throw overloaded(result)
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
        guard let record = jobs.get(id) else { throw ProblemError(500, "the job record expired at once") }
        exchange.send(try .json(202, record, headers: HTTPHeaders([("Location", "/v1/jobs/\(id)")])))
    }

    func job(_ id: String) throws(ProblemError) -> JobRecord {
        guard let record = jobs.get(id) else { throw ProblemError(404, "no job \(id) (unknown, or expired after jobs.retention)") }
        return record
    }

    /// Cancels a job that has not finished (its record then shows the outcome); removes a finished one.
    func cancelJob(_ id: String) throws(ProblemError) -> JobRecord {
        let record = try job(id)
        if record.finished == nil { record.ticket.cancel(.userRequest) } else { jobs.remove(id) }
        return jobs.get(id) ?? record
    }
}
