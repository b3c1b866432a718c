import Tensor

/// Every vision network of a package, built once and shared by workers: the MTCNN detector, the
/// expression network (fer's mini-Xception) and the scene/person encoder (EfficientNet-Lite0).
public struct VisionModels: @unchecked Sendable {
    public let detector: MTCNNNetworks
    public let expression: Network
    public let encoder: Network

    public init(package: ModelPackage) throws {
        detector = try MTCNNNetworks(package: package)
        expression = try package.network("expression")
        encoder = try package.network("efficientnet_lite0")
    }
}
