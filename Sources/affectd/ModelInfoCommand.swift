import ArgumentParser
import Foundation
import Tensor

/// `affectd model info [DIR]`: what a model package holds — networks with their inputs, blocks,
/// outputs and weights, the files with their hashes, and where every weight came from. Loading
/// verifies the package (hashes, tensor names, a test run of every network) before printing.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Inspect model packages.", subcommands: [ModelInfoCommand.self])
}

struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print what a model package contains (verified by loading it).")

    @Argument(help: "Package directory.") var directory: String = "models/default"

    func run() throws {
        let package: ModelPackage
        do { package = try ModelPackage(directory: directory) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let m = package.manifest
        print("\(package.name) \(package.version)  (\(directory), \(m["format"]?.string ?? "?"))")
        if let d = m["description"]?.string { print("  \(d)") }
        print("\nfiles:")
        for f in m["files"]?.array ?? [] {
            let path = f["path"]?.string ?? "?"
            let tensors = package.files[path]?.entries.count ?? 0
            print("  \(path)  \(f["bytes"]?.int ?? 0) bytes, \(tensors) tensors, sha256 \(f["sha256"]?.string ?? "?") (verified)")
        }
        print("\nnetworks:")
        for name in package.networkNames {
            let decl = m["networks"]![name]!
            let net: Network
            do { net = try package.network(name) } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let file = decl["file"]?.string ?? "?"
            let names = Set(tensorNames(decl["blocks"] ?? .null))
            let entries = names.compactMap { package.files[file]?.entries[$0] }
            let bytes = entries.reduce(0) { $0 + $1.end - $1.begin }
            let params = entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
            var ops: [String: Int] = [:]
            for op in net.blockOps { ops[op, default: 0] += 1 }
            print("  \(name)  (\(file))")
            for i in decl["inputs"]?.array ?? [] {
                let shape = (i["shape"]?.array ?? []).map { $0.int.map(String.init) ?? "any" }.joined(separator: "x")
                let norm = i["normalize"].map { "mean \($0["mean"]?.serialized ?? "?") std \($0["std"]?.serialized ?? "?")" } ?? ""
                print("    input \(i["name"]?.string ?? "?"): \(shape) \(i["color"]?.string ?? "") resize \(i["resize"]?.string ?? "?") \(norm)")
            }
            print("    blocks: \(net.blockOps.count) (" + ops.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")")
            print("    outputs: " + net.outputNames.joined(separator: ", "))
            print("    weights: \(names.count) tensors, \(params) parameters, \(bytes) bytes")
            if let labels = decl["labels"]?.object {
                for (k, v) in labels.sorted(by: { $0.key < $1.key }) {
                    print("    labels \(k): " + (v.array?.compactMap(\.string).joined(separator: ", ") ?? v.string ?? v.serialized))
                }
            }
        }
        print("\nprovenance:")
        for p in m["provenance"]?.array ?? [] {
            var parts: [String] = []
            if let pkg = p["package"]?.string { parts.append("\(pkg) \(p["version"]?.string ?? "?")") }
            if let w = p["wheel"]?.string { parts.append(w) }
            if let s = p["wheel_sha256"]?.string { parts.append("wheel sha256 \(s)") }
            if let mem = p["member"]?.string { parts.append(mem) }
            if let md5 = p["member_md5"]?.string { parts.append("md5 \(md5)") }
            if let f = p["file"]?.string { parts.append(f) }
            if let l = p["license"]?.string { parts.append("licence \(l)") }
            if let t = p["trained"]?.bool, !t { parts.append("not trained") }
            if let n = p["note"]?.string { parts.append(n) }
            print("  \(p["network"]?.string ?? "?"): " + parts.joined(separator: "; "))
        }
    }

    private func tensorNames(_ j: JSON) -> [String] {
        if let a = j.array { return a.flatMap(tensorNames) }
        guard let o = j.object else { return [] }
        return o.flatMap { k, v -> [String] in
            if let s = v.string, ["weight", "bias", "slope", "mean", "var"].contains(k) { return [s] }
            return tensorNames(v)
        }
    }
}
