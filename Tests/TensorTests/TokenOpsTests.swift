import XCTest

@testable import Tensor

/// The face networks' plumbing ops (TokenOps.swift) on small hand-checked inputs, and the limits
/// they refuse (errors, never traps). Their numerics inside the real networks are checked against
/// LiteRT by FaceLandmarkerParityTests.
final class TokenOpsTests: XCTestCase {
    let arena = Arena()

    func run(_ op: String, _ params: String, _ x: Tensor, tensors: [String: Tensor] = [:]) throws -> Tensor {
        try OpRegistry.make(OpSpec(op: op, params: try JSON(parsing: params), tensors: tensors)).run([x], arena)
    }

    func testPadChannels() throws {
        let y = try run("pad_channels", #"{"before": 1, "after": 2}"#, try Tensor([1, 2, 3, 4], [1, 1, 2, 2]))
        XCTAssertEqual(y.shape.dims, [1, 1, 2, 5])
        XCTAssertEqual(y.array, [0, 1, 2, 0, 0, 0, 3, 4, 0, 0])
        XCTAssertThrowsError(try run("pad_channels", #"{"before": 1}"#, try Tensor([1], [1])))  // "after" is required
    }

    func testTransposeSwapsTheLastTwoAxes() throws {
        let y = try run("transpose", "{}", try Tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]))
        XCTAssertEqual(y.shape.dims, [1, 3, 2])
        XCTAssertEqual(y.array, [1, 4, 2, 5, 3, 6])
        XCTAssertThrowsError(try run("transpose", "{}", try Tensor([1, 2], [2])))
    }

    func testSliceAndItsBounds() throws {
        let x = try Tensor([1, 2, 3, 4, 5, 6], [1, 3, 2])
        XCTAssertEqual(try run("slice", #"{"axis": 1, "start": 1, "length": 2}"#, x).array, [3, 4, 5, 6])
        XCTAssertThrowsError(try run("slice", #"{"axis": 1, "start": 2, "length": 2}"#, x))  // past the end
        XCTAssertThrowsError(try run("slice", #"{"axis": 3, "start": 0, "length": 1}"#, x))  // no such axis
        XCTAssertThrowsError(try run("slice", #"{"axis": 1, "start": 0, "length": 0}"#, x))  // empty
    }

    func testPrependToken() throws {
        let token = try Tensor([9, 8], [2])
        let y = try run("prepend_token", #"{"token": "t"}"#, try Tensor([1, 2, 3, 4], [1, 2, 2]), tensors: ["t": token])
        XCTAssertEqual(y.shape.dims, [1, 3, 2])
        XCTAssertEqual(y.array, [9, 8, 1, 2, 3, 4])
        XCTAssertThrowsError(try run("prepend_token", #"{"token": "t"}"#, try Tensor([1, 2, 3], [1, 1, 3]), tensors: ["t": token]))
    }

    func testNormalizePoints() throws {
        // Centre (1, 1); distances to it all sqrt(2): (x - 1) / sqrt(2) * 2.
        let y = try run("normalize_points", #"{"scale": 2}"#, try Tensor([0, 0, 2, 2, 0, 2, 2, 0], [1, 4, 2]))
        let r = Float(2).squareRoot()
        for (a, b) in zip(y.array, [-r, -r, r, r, -r, r, r, -r]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // Coincident points (no spread): zeros, not NaN.
        XCTAssertEqual(try run("normalize_points", "{}", try Tensor([3, 3, 3, 3], [1, 2, 2])).array, [0, 0, 0, 0])
        XCTAssertThrowsError(try run("normalize_points", "{}", try Tensor([1, 2], [1, 2])))  // not [N, P, D]
    }
}
