// Decodes a query string (`fps=2&include=a,b`) into a Decodable type: a flat keyed container whose
// text values convert to the type asked for, so query parameters and JSON bodies share one options
// type (AnalysisOptions). Repeated keys: the last wins.
import Foundation

enum QueryDecoder {
    /// `ignoring`: parameters another part of the request reads (a job's callback_url).
    static func decode<T: Decodable>(_ type: T.Type, from query: Substring?, ignoring: [String] = []) throws -> T {
        try T(from: QueryValues(values: try parse(query).filter { !ignoring.contains($0.key) }))
    }

    static func parse(_ query: Substring?) throws(ProblemError) -> [String: String] {
        var values: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = percentDecode(kv[0]), let v = percentDecode(kv.count > 1 ? kv[1] : "") else {
                throw ProblemError(400, "query parameter \(pair) is not valid percent-encoding")
            }
            values[k] = v
        }
        return values
    }

    static func percentDecode(_ s: Substring) -> String? { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
}

private struct QueryValues: Decoder {
    let values: [String: String]
    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(QueryContainer<Key>(values: values))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a query string is a set of key=value pairs"))
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a query string is a set of key=value pairs"))
    }
}

private struct QueryContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let values: [String: String]
    var codingPath: [CodingKey] { [] }
    var allKeys: [Key] { values.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try scalar(key) }

    /// Every value is text: types that read themselves from text (numbers, strings) decode; others do not.
    func scalar<T>(_ key: Key) throws -> T {
        guard let text = values[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "no query parameter \(key.stringValue)"))
        }
        guard let convertible = T.self as? any LosslessStringConvertible.Type, let value = convertible.init(text) as? T else {
            let kind = T.self is any BinaryInteger.Type ? "an integer" : T.self is any FloatingPoint.Type ? "a number" : "a \(T.self)"
            throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "\"\(text)\" is not \(kind)"))
        }
        return value
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try scalar(key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try scalar(key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try scalar(key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try scalar(key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try scalar(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try scalar(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try scalar(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try scalar(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try scalar(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try scalar(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try scalar(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try scalar(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try scalar(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try scalar(key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "query values are not nested"))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "query values are not nested"))
    }
    func superDecoder() throws -> Decoder {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "query values have no superclass data"))
    }
    func superDecoder(forKey key: Key) throws -> Decoder {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [key], debugDescription: "query values are not nested"))
    }
}
