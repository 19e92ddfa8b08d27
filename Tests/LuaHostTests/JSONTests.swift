import LuaHost
import XCTest

/// `LuaValue(json:)` and `jsonText()`.
final class JSONTests: XCTestCase {
    func testRoundTrips() throws {
        for text in [
            #"{"a":[1,2.5,"x"],"b":{"c":true,"d":false},"e":"","f":[]}"#,
            #"[1,-2,3.25,-0.5,1e+20,"\u0000","\n\t\"\\"]"#,
            #"[9223372036854775807,-9223372036854775808]"#,
            #"{"":1,"10":2,"9":3,"A":4,"a":5}"#,
            #"[[[[[]]]]]"#,
            #""h\u00e9llo \u20ac \ud83d\ude00""#,
            "true", "false", "null", "0", "-1", "0.5",
        ] {
            let v = try LuaValue(json: text)
            let again = try LuaValue(json: v.jsonText())
            XCTAssertEqual(v, again, text)
            XCTAssertEqual(try again.jsonText(), try v.jsonText(), text)
        }
    }

    func testOutputIsDeterministicAndCompact() throws {
        let v = try LuaValue(json: #"{ "b" : 1 , "a" : [ 1 , 2 ] , "c" : { "z" : null , "y" : 2.0 } }"#)
        XCTAssertEqual(try v.jsonText(), #"{"a":[1,2],"b":1,"c":{"y":2.0}}"#)
    }

    func testIntegersAndFloatsAreKeptApart() throws {
        XCTAssertEqual(try LuaValue(json: "3"), .integer(3))
        XCTAssertEqual(try LuaValue(json: "3.0"), .number(3))
        XCTAssertEqual(try LuaValue(json: "3e0"), .number(3))
        XCTAssertEqual(try LuaValue(json: "-0"), .integer(0))
        XCTAssertEqual(try LuaValue(json: "9223372036854775807"), .integer(.max))
        XCTAssertEqual(try LuaValue(json: "9223372036854775808"), .number(9223372036854775808))
        XCTAssertEqual(try LuaValue.integer(3).jsonText(), "3")
        XCTAssertEqual(try LuaValue.number(3).jsonText(), "3.0")
        XCTAssertEqual(try LuaValue.number(0.1).jsonText(), "0.1")
        XCTAssertEqual(try LuaValue(json: LuaValue.number(1e300).jsonText()), .number(1e300))
        XCTAssertEqual(try LuaValue(json: LuaValue.number(5e-324).jsonText()), .number(5e-324))
    }

    func testNonFiniteNumbersHaveNoJSON() {
        for d in [Double.nan, .infinity, -.infinity] {
            XCTAssertThrowsError(try LuaValue.number(d).jsonText())
            XCTAssertThrowsError(try LuaValue.list([.number(d)]).jsonText()) { error in
                XCTAssertTrue("\(error)".contains("$[1]"), "\(error)")
            }
        }
        XCTAssertThrowsError(try LuaValue(json: "1e400"))
        XCTAssertThrowsError(try LuaValue(json: "NaN"))
        XCTAssertThrowsError(try LuaValue(json: "Infinity"))
    }

    func testEscapes() throws {
        XCTAssertEqual(try LuaValue(json: #""\"\\\/\b\f\n\r\t""#), .string([34, 92, 47, 8, 12, 10, 13, 9]))
        XCTAssertEqual(try LuaValue(json: #""\u0041\u00e9\u4e2d""#), .text("Aé中"))
        XCTAssertEqual(try LuaValue.string([0, 1, 31, 127, 34, 92, 10]).jsonText(), #""\u0000\u0001\u001f\u007f\"\\\n""#)
        XCTAssertEqual(try LuaValue.text("é€😀").jsonText(), "\"é€😀\"")
    }

    func testSurrogates() throws {
        XCTAssertEqual(try LuaValue(json: #""\ud83d\ude00""#), .text("😀"))
        XCTAssertEqual(try LuaValue(json: #""\uD834\uDD1E""#), .text("𝄞"))
        for bad in [#""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#, #""\ud83d\ud83d""#] {
            XCTAssertThrowsError(try LuaValue(json: bad), bad)
        }
    }

    func testInvalidUTF8HasNoJSON() {
        XCTAssertThrowsError(try LuaValue.string([0xFF]).jsonText()) { XCTAssertTrue("\($0)".contains("UTF-8")) }
        XCTAssertThrowsError(try LuaValue.table(LuaTable(fields: ["k": .string([0xC0, 0x80])])).jsonText())
    }

    func testErrorsHaveLineAndColumn() {
        func message(_ text: String) -> String {
            do { _ = try LuaValue(json: text); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("{\n  \"a\": 1,\n  \"b\" 2\n}"), "JSON line 3, column 7: expected ':'")
        XCTAssertEqual(message("[1, 2"), "JSON line 1, column 6: unterminated array")
        XCTAssertEqual(message("[1,]"), "JSON line 1, column 4: unexpected character")
        XCTAssertEqual(message("{\"a\":1} x"), "JSON line 1, column 9: unexpected text after the JSON value")
        XCTAssertEqual(message("\"abc"), "JSON line 1, column 5: unterminated string")
        XCTAssertEqual(message("\"a\u{1}\""), "JSON line 1, column 3: control character in string")
        XCTAssertEqual(message(#""\x""#), "JSON line 1, column 4: invalid escape")
        XCTAssertEqual(message("tru"), "JSON line 1, column 1: invalid literal")
        XCTAssertEqual(message(""), "JSON line 1, column 1: unexpected end of input")
        XCTAssertEqual(message("[null]"), "JSON line 1, column 6: null inside an array cannot be represented in a Lua sequence")
        XCTAssertEqual(message("{1:2}"), "JSON line 1, column 2: expected a string key")
    }

    func testNestingIsLimited() {
        XCTAssertThrowsError(try LuaValue(json: String(repeating: "[", count: 100_000)))
        XCTAssertNoThrow(try LuaValue(json: String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
    }

    func testTablesBecomeArraysOrObjects() throws {
        XCTAssertEqual(try LuaValue.table(LuaTable()).jsonText(), "[]")
        XCTAssertEqual(try LuaValue.list([1, 2]).jsonText(), "[1,2]")
        let mixed = LuaValue.table(LuaTable(array: ["a", "b"], hash: [.init(key: "x", value: 1), .init(key: 10, value: 2),
                                                                       .init(key: true, value: 3), .init(key: 2.5, value: 4)]))
        XCTAssertEqual(try mixed.jsonText(), #"{"1":"a","10":2,"2":"b","2.5":4,"true":3,"x":1}"#)
    }

    func testDuplicateKeysKeepTheLastValue() throws {
        XCTAssertEqual(try LuaValue(json: #"{"a":1,"a":2}"#), .table(LuaTable(fields: ["a": 2])))
        XCTAssertEqual(try LuaValue(json: #"{"a":1,"a":null}"#), .table(LuaTable()))
    }

    func testPluginValuesThroughJSON() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return {items = {arg.x, arg.x * 2}, ok = true, ratio = arg.x / 4}"))
        let out = try plugin.call("attack", [try LuaValue(json: #"{"x": 3}"#)])
        XCTAssertEqual(try out.first?.jsonText(), #"{"items":[3,6],"ok":true,"ratio":0.75}"#)
    }

    func testCodableUsesTheSameMappingAsJSONText() throws {
        let v: LuaValue = .table(LuaTable(fields: [
            "n": .integer(3), "x": .number(2.5), "whole": .number(2), "s": "hi", "b": true,
            "list": .table(LuaTable(array: [.integer(1), "two"])), "inner": .table(LuaTable(fields: ["k": .integer(-7)])),
        ]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(v)
        let back = try JSONDecoder().decode(LuaValue.self, from: data)
        XCTAssertEqual(back["n"], .integer(3), "integers stay integers")
        XCTAssertEqual(back["x"], .number(2.5))
        XCTAssertEqual(back["list"], .table(LuaTable(array: [.integer(1), "two"])))
        XCTAssertEqual(back["inner"]["k"], .integer(-7))
        XCTAssertEqual(try LuaValue(json: String(decoding: data, as: UTF8.self))["inner"]["k"], .integer(-7))
        XCTAssertThrowsError(try encoder.encode(LuaValue.number(.nan)), "NaN has no JSON form")
    }
}
