/// Bounds on sizes that flags, plan files and executor requests may ask for, checked before
/// anything is allocated from them. One home: the commands' messages and the executor's
/// request check read them from here, and docs/cli.md ("Errors and limits") lists them.
public enum Limits {
    /// Sequences the executor decodes together.
    public static let maxBatch = 65_536
    /// Decode steps of one run.
    public static let maxDecodeSteps = 1_000_000
    /// Layers a model may have (more than any published model).
    public static let maxLayers = 4096
    /// Worker threads of one run.
    public static let maxThreads = 4096
    /// Synthetic prompt tokens per sequence (2^26).
    public static let maxPromptTokens = 1 << 26
    /// Keys per Quest page.
    public static let maxPageSize = 1 << 20
    /// Positions `pigplan quality` evaluates per context.
    public static let maxQualityPositions = 65_536
}

extension LSHParameters {
    /// (K, L) = (10, 150): the MagicPIG paper's default setting (and its README's), used where
    /// nothing else names one (`pigplan run --attention lsh`, calibration's last setting).
    public static let magicPIGDefault = LSHParameters(hashBitsPerTable: 10, tableCount: 150)
}
