import Tensor
import XCTest

/// The audio front-end ops on small hand-checked inputs, and their limits (the whole Silero VAD
/// front end is checked against onnxruntime by AudioTests).
final class SignalOpsTests: XCTestCase {
    /// Outputs live in the arena: it must outlive every read of them.
    let arena = Arena()

    func make(_ op: String, _ params: [String: JSON]) throws -> any Kernel {
        try OpRegistry.make(OpSpec(op: op, params: .object(params), tensors: [:]))
    }

    func testReflectPadMirrorsWithoutTheEdge() throws {
        let pad = try make("reflect_pad", ["pad": .array([.number(0), .number(2), .number(0), .number(3)])])
        let x = try Tensor([1, 2, 3, 4], [1, 1, 4, 1])
        let y = try pad.run([x], arena)
        XCTAssertEqual(y.shape.dims, [1, 1, 9, 1])
        XCTAssertEqual(y.array, [3, 2, 1, 2, 3, 4, 3, 2, 1])  // numpy.pad(mode="reflect")
        let tooMuch = try make("reflect_pad", ["pad": .array([.number(0), .number(0), .number(0), .number(4)])])
        XCTAssertThrowsError(try tooMuch.run([x], arena))
        XCTAssertThrowsError(try make("reflect_pad", ["pad": .array([.number(0), .number(-1), .number(0), .number(0)])]))
        XCTAssertThrowsError(try make("reflect_pad", ["pad": .number(131_072)]))
    }

    func testMagnitude() throws {
        let y = try make("magnitude", [:]).run([try Tensor([3, 0, 4, 1, 5, 2, 12, 0], [2, 4])], arena)
        XCTAssertEqual(y.shape.dims, [2, 2])
        XCTAssertEqual(y.array, [5, 1, 13, 2])
        XCTAssertThrowsError(try make("magnitude", [:]).run([try Tensor([1, 2, 3], [1, 3])], arena))
    }

    func testReshape() throws {
        let x = try Tensor((0..<12).map(Float.init), [3, 4])
        let y = try make("reshape", ["shape": .array([.number(1), .number(-1), .number(4)])]).run([x], arena)
        XCTAssertEqual(y.shape.dims, [1, 3, 4])
        XCTAssertEqual(y.array, x.array)
        XCTAssertThrowsError(try make("reshape", ["shape": .array([.number(5), .number(-1)])]).run([x], arena))
        XCTAssertThrowsError(try make("reshape", ["shape": .array([.number(-1), .number(-1)])]))
        XCTAssertThrowsError(try make("reshape", ["shape": .array([.number(0), .number(12)])]))
        XCTAssertThrowsError(try make("reshape", ["shape": .array(Array(repeating: .number(1), count: 7))]))
    }

    func testLogIsFlooredAtEps() throws {
        let y = try make("log", ["eps": .number(0.01)]).run([try Tensor([0, -1, 1, 100], [4])], arena)
        XCTAssertEqual(y.array, [logf(0.01), logf(0.01), 0, logf(100)])
        XCTAssertThrowsError(try make("log", ["eps": .number(0)]))
        XCTAssertThrowsError(try make("log", ["eps": .number(-1)]))
    }
}
