import XCTest
@testable import Media
