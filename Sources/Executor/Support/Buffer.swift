import CKernels

/// A fixed-size, zero-initialised, 64-byte-aligned heap array that kernels and worker threads
/// write through raw pointers. Reference semantics: copies share storage. Thread safety is the
/// caller's: workers must write disjoint ranges.
public final class Buffer<Element: BitwiseCopyable>: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>

    public convenience init(count: Int) {
        self.init(uninitializedCount: count)
        UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }

    /// Storage the caller fills at once (weights copied from a file): no zero fill first, which
    /// for a model's weights is a whole extra pass over memory (loading an 8B-shaped two-layer
    /// GGUF spent a third of its time in it).
    public init(uninitializedCount count: Int) {
        self.count = count
        let bytes = max(1, count) * MemoryLayout<Element>.stride
        // Large buffers (KV cache, tables, weights) are 2 MiB aligned and backed by huge pages
        // where the OS allows, before anything touches them.
        let huge = bytes >= 8 << 20
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: huge ? 2 << 20 : 64)
        if huge { _ = pp_advise_huge_pages(raw, bytes) }
        pointer = raw.bindMemory(to: Element.self, capacity: max(1, count))
    }

    public convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public var bytes: Int { count * MemoryLayout<Element>.stride }

    public subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public func array(_ range: Range<Int>? = nil) -> [Element] {
        let r = range ?? 0..<count
        return Array(UnsafeBufferPointer(start: pointer + r.lowerBound, count: r.count))
    }

    public func fill(_ value: Element) { pointer.update(repeating: value, count: count) }
}

/// A raw pointer that crosses into `@Sendable` closures (workers write disjoint ranges).
public struct SendablePointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
