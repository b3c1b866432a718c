// What one analysis produced, kept typed until it is written: a response body, an NDJSON summary
// line or a job record's `result`.
import Affect
import Pipeline

enum AnalysisOutput: Encodable, Sendable {
    case analysis(AnalysisResult)
    case labels(LabelResult)

    func encode(to encoder: Encoder) throws {
        switch self {
        case .analysis(let result): try result.encode(to: encoder)
        case .labels(let labels): try labels.encode(to: encoder)
        }
    }
}
