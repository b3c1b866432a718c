// A coding key for names known only at run time: the keys a client sent (to name an unknown one)
// and log metadata keys.
struct CodingName: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    init(_ name: String) { stringValue = name }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}
