// swift-tools-version:6.0
// Superalign: a Swift host that embeds Lua 5.4 to run superalignment experiments on CPUs.
//
// CPU-specific code generation is chosen by the build scripts (Scripts/build-flags.sh), never
// by compiler flags written into this manifest: a plain `swift build` builds a portable, correct binary.
import PackageDescription

let package = Package(
    name: "superalign",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "superalign", targets: ["superalign"]),
        .library(name: "LuaHost", targets: ["LuaHost"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Superalign", targets: ["Superalign"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // MARK: Lua
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // Our C beside it: wrappers for lua.h's macros, the budget hook and allocator, and the
        // trampolines that keep a Lua error from unwinding through a Swift frame. Built with the
        // compiler's default warnings here (flags in a manifest would be unsafeFlags);
        // Scripts/tests/shim-sanitizers.sh builds it with -Wall -Wextra -Werror under ASan and UBSan.
        .target(name: "CLuaShim", dependencies: ["CLua"]),
        // Its own Lua (the sandbox prelude) lives in Sources/LuaHost/Lua/*.lua, linted by luacheck and
        // compiled in as Swift strings by Scripts/embed-lua.py (no resource bundle to ship).
        .target(name: "LuaHost", dependencies: ["CLuaShim", "CLua"], exclude: ["Lua"]),

        // MARK: Numeric engine (knows nothing of Lua or alignment)
        .target(name: "CAtomics"),
        .target(name: "Tensor", dependencies: ["CAtomics"]),
        .target(name: "Models", dependencies: ["Tensor"]),

        // MARK: The domain: tasks, plugins' host API, the loop, weak-to-strong, the run store
        .target(name: "Superalign", dependencies: [
            "LuaHost", "Models", "Tensor", .product(name: "GRDB", package: "GRDB.swift"),
        ]),

        // MARK: Command line
        .executableTarget(
            name: "superalign",
            dependencies: [
                "LuaHost", "Tensor", "Models", "Superalign",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "LuaHostTests", dependencies: ["LuaHost", "CLuaShim", "CLua", "TestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"]),
        .testTarget(name: "SuperalignTests", dependencies: [
            "Superalign", "LuaHost", "Models", "Tensor", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // End-to-end: runs the built `superalign` binary (built beside the test bundle).
        .testTarget(name: "CLITests", dependencies: ["Models", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
