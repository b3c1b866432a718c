import Foundation

public struct ModelPackageError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "model package: \(message)" }
}

/// A model package directory (docs/model-package.md): manifest.json plus the safetensors files it
/// lists. Loading checks what the manifest promises — format, every file's size and sha256, every
/// tensor a block names — and `network(_:)` test-runs a network once on a zero input, so a package
/// whose manifest and tensors disagree fails at load with the block and tensor names, not later on
/// a request. Immutable after loading; networks are shared by all workers.
public final class ModelPackage: @unchecked Sendable {
    public let directory: String
    public let manifest: JSON
    public let name: String
    public let version: String
    /// Weight files by manifest path, memory-mapped.
    public let files: [String: SafeTensorsFile]

    public init(directory: String, verifyHashes: Bool = true) throws {
        self.directory = directory
        let manifestPath = directory + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw ModelPackageError("cannot read \(manifestPath) (build the default package with `make setup`)")
        }
        do { manifest = try JSON(bytes: data) } catch { throw ModelPackageError("\(manifestPath): \(error)") }
        guard manifest["format"]?.string == "affectd-model/1" else {
            throw ModelPackageError("\(manifestPath): format must be \"affectd-model/1\", got \(manifest["format"]?.serialized ?? "nothing")")
        }
        guard let name = manifest["name"]?.string, let version = manifest["version"]?.string else {
            throw ModelPackageError("\(manifestPath): needs a name and a version")
        }
        self.name = name
        self.version = version
        guard let list = manifest["files"]?.array, !list.isEmpty else { throw ModelPackageError("\(manifestPath): \"files\" must list the weight files") }
        var files: [String: SafeTensorsFile] = [:]
        for entry in list {
            guard let path = entry["path"]?.string, let bytes = entry["bytes"]?.int, let sha = entry["sha256"]?.string else {
                throw ModelPackageError("files entry \(entry.serialized) needs path, bytes and sha256")
            }
            guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw ModelPackageError("weight file \(path) lies outside the package")
            }
            let full = directory + "/" + path
            guard let contents = FileManager.default.contents(atPath: full) else { throw ModelPackageError("weight file \(path) is missing") }
            guard contents.count == bytes else {
                throw ModelPackageError("weight file \(path) has \(contents.count) bytes, the manifest says \(bytes)")
            }
            if verifyHashes {
                let got = contents.withUnsafeBytes { SHA256.hex($0) }
                guard got == sha.lowercased() else { throw ModelPackageError("weight file \(path): sha256 \(got), the manifest says \(sha)") }
            }
            do { files[path] = try SafeTensorsFile(path: full) } catch { throw ModelPackageError("\(error)") }
        }
        self.files = files
    }

    /// Network names declared by the manifest, sorted.
    public var networkNames: [String] { (manifest["networks"]?.object?.keys).map { $0.sorted() } ?? [] }

    /// The weight file that network `name` declares.
    public func weightFile(forNetwork name: String) throws -> SafeTensorsFile {
        guard let decl = manifest["networks"]?[name] else { throw ModelPackageError("no network \(name) in the manifest") }
        guard let fileName = decl["file"]?.string, let file = files[fileName] else {
            throw ModelPackageError("network \(name): its \"file\" \(decl["file"]?.serialized ?? "(none)") is not among the package files")
        }
        return file
    }

    /// Builds network `name` (weights folded and repacked) and test-runs it once on zeros.
    public func network(_ name: String) throws -> Network {
        let file = try weightFile(forNetwork: name)
        let decl = manifest["networks"]![name]!
        let net: Network
        do { net = try Network(manifest: manifest, network: name, weights: file) } catch { throw ModelPackageError("network \(name): \(error)") }
        let arena = Arena(bytes: 1 << 16)
        let probes = net.inputs.enumerated().map { i, input -> Tensor in
            // A free dimension gets the input's declared "probe" size, else the smallest size every
            // image network accepts (P-Net: 12); audio networks need longer signals than that.
            let probe = decl["inputs"]?.array?[i]["probe"]?.array?.map(\.int)
            let dims = input.shape.enumerated().map { k, d in d ?? probe.flatMap { k < $0.count ? $0[k] : nil } ?? 12 }
            return Tensor(zeros: [1] + dims, layout: .nhwc)
        }
        do { _ = try net.run(probes, arena: arena) } catch {
            throw ModelPackageError("network \(name) does not run on its declared input: \(error)\(tensorHint(decl, error))")
        }
        return net
    }

    /// "; block X names tensors a, b" for the block an engine error points at.
    private func tensorHint(_ decl: JSON, _ error: Error) -> String {
        let text = "\(error)"
        for (i, b) in (decl["blocks"]?.array ?? []).enumerated() {
            let blockName = b["name"]?.string ?? "#\(i)"
            guard text.contains("block \(blockName) ") else { continue }
            var names: [String] = []
            func collect(_ j: JSON) {
                for (k, v) in j.object ?? [:] {
                    if let s = v.string, ["weight", "bias", "slope", "mean", "var"].contains(k) { names.append(s) } else { collect(v) }
                }
            }
            collect(b)
            let shapes = names.sorted().map { n in
                let shape = files.values.compactMap { $0.entries[n]?.shape }.first
                return "\(n) \(shape.map { "\($0)" } ?? "(missing)")"
            }
            return "; block \(blockName) uses tensors " + shapes.joined(separator: ", ")
        }
        return ""
    }
}
