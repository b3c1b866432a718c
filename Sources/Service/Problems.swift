// Every failure of a request as the ProblemError the client gets: media refusals, cancellations
// (deadline 504, shutdown 503), a full queue (503/429), and anything unexpected (500, logged).
import Affect
import HTTP
import Media
import Pipeline

extension Service {
    var deadlineDetail: String { "the request did not finish within jobs.deadline \(config.jobDeadline) s (queue wait included)" }

    var retryAfter: HTTPHeaders { HTTPHeaders([("Retry-After", String(config.retryAfter))]) }

    func cancelProblem(_ reason: CancelReason) -> ProblemError? {
        switch reason {
        case .deadline: ProblemError(504, deadlineDetail)
        case .shutdown: ProblemError(503, "the server is shutting down; retry on another instance", headers: retryAfter)
        case .clientGone, .userRequest: nil
        }
    }

    func overloaded(_ result: SubmitResult) -> ProblemError {
        if result == .closed { return ProblemError(503, "the server is shutting down; retry on another instance", headers: retryAfter) }
        return ProblemError(
            config.overloadStatus, "the analysis queue is full (\(config.queueLength) waiting); retry after \(config.retryAfter) s",
            headers: retryAfter)
    }

    func problem(for error: Error, ticket: JobTicket?) -> ProblemError {
        switch error {
        case let p as ProblemError:
            return p
        case let m as MediaError:
            metrics.mediaRejected(reason: m.code)
            switch m {
            case .emptyInput: return ProblemError(400, m.description)
            case .tooLarge, .tooLong, .tooManyFrames, .frameTooLarge: return ProblemError(413, m.description)
            case .cannotOpen: return ProblemError(500, "the upload could not be reopened")
            default: return ProblemError(422, m.description)
            }
        case AnalyzerError.cancelled:
            return ticket?.cancelReason.flatMap(cancelProblem) ?? ProblemError(503, "the analysis was cancelled")
        case AnalyzerError.invalidRequest(let m):
            return ProblemError(400, m)
        default:
            logger.error("analysis failed", metadata: ["error": "\(error)"])
            return ProblemError(500, "the analysis failed inside the server")
        }
    }
}
