import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe whole-file writes: temporary file in the same directory, `fsync`, `rename`, then
/// `fsync` of the directory so the rename itself is durable.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        func fail(_ what: String) -> ModelsError {
            ModelsError.checkpoint(path: url.path, tensor: nil, detail: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw fail("cannot create temporary file \(tmp.lastPathComponent)") }
        var ok = false
        defer { if !ok { unlink(tmp.path) } }
        let written: Bool = data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        guard written else { let e = fail("write failed"); close(fd); throw e }
        guard fsync(fd) == 0 else { let e = fail("fsync failed"); close(fd); throw e }
        guard close(fd) == 0 else { throw fail("close failed") }
        guard rename(tmp.path, url.path) == 0 else { throw fail("rename failed") }
        ok = true
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}

#if canImport(Glibc)
private let posixWrite = Glibc.write
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
#endif
