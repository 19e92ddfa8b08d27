/// Upper bounds on the sizes a model may take, so that a size derived from data (the longest
/// line, the largest label) can never become an unbounded allocation: a line or a label past
/// them is an error naming the file and the line, never a 20 GB attention matrix.
///
/// ```swift
/// GPTConfig(layers: 2, width: 64, heads: 4, context: 200_002, vocabulary: 30)  // validate() throws
/// ```
public enum ModelBounds {
    /// The longest GPT context, in positions (tokens, BOS and EOS included): nanoGPT's GPT-2
    /// `block_size`. Training memory grows with its square (the attention matrices), so a
    /// context derived from data is capped here, and a longer line is an error.
    public static let maximumContext = 1024

    /// The most classes a classifier (a GPT classification head, an MLP's output layer) may have
    /// when they are derived from data: labels are `0 ..< maximumClasses`.
    public static let maximumClasses = 1024
}
