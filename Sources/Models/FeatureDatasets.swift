import Tensor

/// Toy feature-classification data sets for MLP classifiers, generated from a seed (the text
/// tasks for GPTs are the domain's `TaskCatalog`, in the Superalign target).
///
/// - `blobs`: 4-class classification of 16-dimensional points drawn around 4 random centres
///   (each coordinate of a centre ~ N(0, 2²), each point = centre + N(0, 1) noise);
///   2,000 train and 500 test points.
///
/// ```swift
/// let (train, test) = try FeatureDatasets.make("blobs", seed: 0)
/// train.count          // 2000
/// test[0].features     // 16 numbers
/// ```
public enum FeatureDatasets {
    /// The data sets `make` knows.
    public static let names = ["blobs"]

    /// The train and test split of the data set `name`; an unknown name is an error listing
    /// the known ones.
    public static func make(_ name: String, seed: UInt64) throws -> (train: [LabeledFeatures], test: [LabeledFeatures]) {
        guard name == "blobs" else {
            throw ModelsError.invalidArgument(op: "FeatureDatasets",
                                              detail: "unknown data set \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
        return blobs(seed: seed)
    }

    /// Gaussian blobs (see the type's documentation).
    public static func blobs(seed: UInt64, classes: Int = 4, dimensions: Int = 16,
                             trainCount: Int = 2000, testCount: Int = 500) -> (train: [LabeledFeatures], test: [LabeledFeatures]) {
        // The constant keeps these draws apart from other users of the same seed.
        var rng = RandomGenerator(seed: seed ^ 0x7A5C_0DE5)
        let centres = (0..<classes).map { _ in (0..<dimensions).map { _ in 2 * rng.normal() } }
        func draw(_ n: Int) -> [LabeledFeatures] {
            (0..<n).map { _ in
                let k = rng.below(classes)
                return LabeledFeatures(features: centres[k].map { $0 + rng.normal() }, label: k)
            }
        }
        let train = draw(trainCount)
        return (train, draw(testCount))
    }
}
