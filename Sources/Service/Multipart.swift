// multipart/form-data (RFC 7578) split into parts: name, filename, content type and the byte range
// of each body. Strict: a missing boundary, an unterminated part or a part without a name is a 400.
import Foundation

struct MultipartPart {
    let name: String
    let filename: String?
    let contentType: String?
    let body: Data
}

struct MultipartError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum Multipart {
    static let maxParts = 10_000

    /// The boundary parameter of a multipart/form-data Content-Type.
    static func boundary(contentType: String) -> String? {
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.trimmingCharacters(in: .whitespaces)
            guard kv.lowercased().hasPrefix("boundary=") else { continue }
            var b = String(kv.dropFirst("boundary=".count))
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            return (1...70).contains(b.utf8.count) ? b : nil
        }
        return nil
    }

    static func parse(_ data: Data, boundary: String) throws(MultipartError) -> [MultipartPart] {
        let dash = Data("--\(boundary)".utf8)
        let delimiter = Data("\r\n--\(boundary)".utf8)
        guard let first = data.range(of: dash),
            data[data.startIndex..<first.lowerBound].allSatisfy({ $0 == 13 || $0 == 10 }) || first.lowerBound == data.startIndex
        else { throw MultipartError("multipart body does not start with its boundary") }
        var cursor = first.upperBound
        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if data[cursor...].starts(with: Data("--".utf8)) { return parts }
            guard data[cursor...].starts(with: Data("\r\n".utf8)) else { throw MultipartError("malformed multipart delimiter") }
            cursor += 2
            guard let headEnd = data.range(of: Data("\r\n\r\n".utf8), in: cursor..<data.endIndex) else {
                throw MultipartError("multipart part without a header block")
            }
            var name: String?, filename: String?, contentType: String?
            let headText = String(decoding: data[cursor..<headEnd.lowerBound], as: UTF8.self)
            for line in headText.components(separatedBy: "\r\n") where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { throw MultipartError("malformed multipart header line") }
                let field = line[..<colon].lowercased().trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if field == "content-type" { contentType = value }
                if field == "content-disposition" {
                    name = parameter(value, "name")
                    filename = parameter(value, "filename")
                }
            }
            guard let partName = name else { throw MultipartError("a multipart part has no Content-Disposition name") }
            guard let end = data.range(of: delimiter, in: headEnd.upperBound..<data.endIndex) else {
                throw MultipartError("multipart part \"\(partName)\" is not terminated by the boundary")
            }
            parts.append(
                MultipartPart(
                    name: partName, filename: filename, contentType: contentType,
                    body: data.subdata(in: headEnd.upperBound..<end.lowerBound)))
            guard parts.count <= maxParts else { throw MultipartError("more than \(maxParts) multipart parts") }
            cursor = end.upperBound
        }
    }

    /// `name="x"` from a Content-Disposition value (quoted or token).
    static func parameter(_ header: String, _ key: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let kv = piece.trimmingCharacters(in: .whitespaces)
            guard let eq = kv.firstIndex(of: "="), kv[..<eq].lowercased() == key else { continue }
            var v = String(kv[kv.index(after: eq)...])
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}
