import XCTest
import LuaHost

final class LuaValueTests: XCTestCase {
    func testIntConversionNeverTraps() {
        XCTAssertNil(LuaValue.number(.nan).int)
        XCTAssertNil(LuaValue.number(.infinity).int)
        XCTAssertNil(LuaValue.number(1e300).int)
        XCTAssertNil(LuaValue.number(9.223372036854775808e18).int)
        XCTAssertNil(LuaValue.number(1.5).int)
        XCTAssertEqual(LuaValue.number(-3).int, -3)
        XCTAssertEqual(LuaValue.integer(.max).int, Int.max)
    }

    func testTableHashPartIsSortedDeterministically() {
        let t = LuaTable(hash: [
            .init(key: "b", value: 1), .init(key: 10, value: 2), .init(key: true, value: 3),
            .init(key: "a", value: 4), .init(key: 2.5, value: 5), .init(key: false, value: 6),
        ])
        XCTAssertEqual(t.hash.map(\.key), [false, true, 2.5, 10, "a", "b"])
    }

    func testTextKeepsEmbeddedZeros() {
        let v = LuaValue.string([0x61, 0x00, 0x62])
        XCTAssertEqual(v.text?.utf8.count, 3)
        XCTAssertEqual(v, .text("a\u{0}b"))
    }
}
