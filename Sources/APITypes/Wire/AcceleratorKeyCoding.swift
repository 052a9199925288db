// `Resources.accelerators` is a `[AcceleratorType: Int64]`. Without `CodingKeyRepresentable`, JSONEncoder
// writes such a dictionary as a flat array `["gpu-h100", 8]`; with it, as the object users expect:
// `{"gpu-h100": 8}`. This belongs in ClusterModel beside `AcceleratorType`; it lives here until it moves
// there (then delete this file).

import ClusterModel

extension AcceleratorType: CodingKeyRepresentable {
    public var codingKey: CodingKey { AcceleratorCodingKey(stringValue: rawValue) }
    public init?<T: CodingKey>(codingKey: T) { self.init(rawValue: codingKey.stringValue) }
}

private struct AcceleratorCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
