import CLua
import CLuaShim

/// The host side of the sandbox's string.find/match/gmatch/gsub: the matching itself runs on
/// `LuaPattern`, charged to the call's budget, so no pattern can run unbounded in C.
enum PatternPrimitive {
    /// pmatch(s, p, init, anchored, mode): see the sandbox prelude for the result shapes.
    static func match(_ call: HostCall) throws -> Int32 {
        let start = Int(try call.integer(3)) - 1
        let anchored = call.boolean(4)
        let mode = try call.integer(5)
        return try call.withBytes(1) { subject in
            let pattern = try call.withBytes(2) { LuaPattern(Array($0)) }
            let found: LuaPattern.PartialMatch?
            do {
                // Mode 3 (gsub) keeps open captures (pushed as false); the others refuse them.
                let partial = try pattern.firstPartialMatch(in: subject, from: start, anchored: anchored) { steps in
                    sa_charge(call.state.raw, Int64(steps)) == 0
                }
                if mode != 3, partial?.captures.contains(where: { $0 == nil }) == true {
                    throw LuaPattern.Failure.malformed("unfinished capture")
                }
                found = partial
            } catch let failure as LuaPattern.Failure {
                switch failure {
                case .malformed(let message): throw HostCallError.message(message)
                case .budgetExceeded: throw HostCallError.budgetExceeded
                }
            }
            guard let m = found else { call.pushNil(); return 1 }
            guard call.reserve(Int32(m.captures.count + 2)) else { throw HostCallError.message("too many captures") }
            func pushCapture(_ c: LuaPattern.Capture?) {
                switch c {
                case .substring(let r)?: call.push(bytes: UnsafeBufferPointer(rebasing: subject[r]))
                case .position(let p)?: call.push(integer: Int64(p))
                case nil: call.push(.boolean(false))
                }
            }
            if mode == 1 {
                if m.captures.isEmpty {
                    call.push(bytes: UnsafeBufferPointer(rebasing: subject[m.range]))
                    return 1
                }
                m.captures.forEach(pushCapture)
                return Int32(m.captures.count)
            }
            call.push(integer: Int64(m.range.lowerBound + 1))
            call.push(integer: Int64(m.range.upperBound))
            m.captures.forEach(pushCapture)
            return Int32(m.captures.count + 2)
        }
    }

    /// pfind_plain(s, p, init): start and end of the first occurrence, or nil.
    static func findPlain(_ call: HostCall) throws -> Int32 {
        let start = Int(try call.integer(3)) - 1
        return try call.withBytes(1) { subject in
            try call.withBytes(2) { needle in
                let found: Range<Int>?
                do {
                    found = try LuaPattern.findPlain(needle, in: subject, from: start) { steps in
                        sa_charge(call.state.raw, Int64(steps)) == 0
                    }
                } catch {
                    throw HostCallError.budgetExceeded
                }
                guard let r = found else { call.pushNil(); return 1 }
                call.push(integer: Int64(r.lowerBound + 1))
                call.push(integer: Int64(r.upperBound))
                return 2
            }
        }
    }
}
