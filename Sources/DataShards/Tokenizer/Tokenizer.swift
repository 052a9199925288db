import Checksum

/// A byte-level BPE tokenizer: an immutable value, safe to share between threads. Encode through a
/// `TokenEncoder` per thread (it owns the word cache), or the `encode` convenience for one-off calls.
public final class Tokenizer: Sendable {
    public let splitPattern: SplitPattern
    /// ByteLevel `add_prefix_space`: a space is put before each text segment that does not start with one.
    public let addPrefixSpace: Bool
    /// BPE `ignore_merges`: a pre-token that is itself in the vocabulary becomes that one token.
    public let ignoreMerges: Bool
    public let addedTokens: [AddedToken]
    /// Number of ids (highest id + 1).
    public let vocabularySize: Int
    /// sha256 (hex) of `canonicalJSON()`: identifies the tokenizer in dataset indexes.
    public let hash: String

    /// Model vocabulary entries (tokenizer.json form) ordered by id.
    let modelVocab: [(token: String, id: UInt32)]
    let modelIdsByBytes: [[UInt8]: UInt32]
    /// Merges in rank order, as (left id, right id).
    let merges: [(UInt32, UInt32)]
    let pairTable: PairRankTable
    let byteIds: [UInt32]
    /// Bytes of every id (model and added tokens), for decoding.
    let tokenBytes: [[UInt8]]
    let isSpecial: [Bool]
    let addedTokenSplitter: AddedTokenSplitter
    /// The tokenizer.json `post_processor`, kept verbatim (canonical JSON) but not applied by `encode`.
    let postProcessorJSON: String?
    let canonicalBytes: [UInt8]

    /// Builds a tokenizer from a vocabulary (tokenizer.json token strings -> ids), merges (pairs of token
    /// strings, in rank order) and added tokens.
    public init(
        vocabulary: [(token: String, id: UInt32)], merges mergeStrings: [(String, String)],
        addedTokens: [AddedToken], splitPattern: SplitPattern, addPrefixSpace: Bool = false,
        ignoreMerges: Bool = false, postProcessorJSON: String? = nil, source: String = "<memory>"
    ) throws(TokenizerError) {
        self.splitPattern = splitPattern
        self.addPrefixSpace = addPrefixSpace
        self.ignoreMerges = ignoreMerges
        self.addedTokens = addedTokens
        self.postProcessorJSON = postProcessorJSON
        let sortedVocab = vocabulary.sorted { $0.id < $1.id }
        self.modelVocab = sortedVocab

        var byString: [String: UInt32] = [:]
        var byBytes: [[UInt8]: UInt32] = [:]
        var maxId: Int = -1
        for (token, id) in sortedVocab {
            byString[token] = id
            if let b = ByteLevel.decode(token), byBytes[b] == nil { byBytes[b] = id }
            maxId = max(maxId, Int(id))
        }
        for t in addedTokens { maxId = max(maxId, Int(t.id)) }
        self.modelIdsByBytes = byBytes
        self.vocabularySize = maxId + 1

        var byteIds = [UInt32](repeating: 0, count: 256)
        for b in 0..<256 {
            guard let id = byBytes[[UInt8(b)]] else { throw .missingByte(file: source, byte: UInt8(b)) }
            byteIds[b] = id
        }
        self.byteIds = byteIds

        let table = PairRankTable(capacityFor: mergeStrings.count)
        var mergeIds: [(UInt32, UInt32)] = []
        mergeIds.reserveCapacity(mergeStrings.count)
        for (rank, (a, b)) in mergeStrings.enumerated() {
            guard let ia = byString[a] else { throw .mergeTokenNotInVocabulary(file: source, merge: rank, token: a) }
            guard let ib = byString[b] else { throw .mergeTokenNotInVocabulary(file: source, merge: rank, token: b) }
            guard let im = byString[a + b] else {
                throw .mergeTokenNotInVocabulary(file: source, merge: rank, token: a + b)
            }
            table.insertIfAbsent(ia, ib, rank: UInt32(rank), merged: im)
            mergeIds.append((ia, ib))
        }
        self.merges = mergeIds
        self.pairTable = table

        var bytes = [[UInt8]](repeating: [], count: maxId + 1)
        var special = [Bool](repeating: false, count: maxId + 1)
        for (token, id) in sortedVocab { bytes[Int(id)] = ByteLevel.decode(token) ?? Array(token.utf8) }
        for t in addedTokens {
            bytes[Int(t.id)] = Array(t.content.utf8)
            special[Int(t.id)] = t.special
        }
        self.tokenBytes = bytes
        self.isSpecial = special
        self.addedTokenSplitter = AddedTokenSplitter(addedTokens)

        let json = TokenizerJSON.render(
            vocab: sortedVocab, merges: mergeStrings, addedTokens: addedTokens,
            splitPattern: splitPattern, addPrefixSpace: addPrefixSpace,
            ignoreMerges: ignoreMerges, postProcessorJSON: postProcessorJSON)
        self.canonicalBytes = Array(json.utf8)
        self.hash = SHA256.hex(of: canonicalBytes)
    }

    /// The id of a token given by its text: an added token's content, or a model token's raw text.
    public func id(of text: String) -> UInt32? {
        if let t = addedTokens.first(where: { $0.content == text }) { return t.id }
        return modelIdsByBytes[Array(text.utf8)]
    }

    /// The raw bytes of one id (empty for unknown ids).
    public func bytes(of id: UInt32) -> [UInt8] {
        Int(id) < tokenBytes.count ? tokenBytes[Int(id)] : []
    }

    /// Number of merges (rank table size).
    public var mergeCount: Int { merges.count }

    /// A per-thread encoder with its own word cache.
    public func makeEncoder() -> TokenEncoder { TokenEncoder(self) }

    /// Encodes `text` (HF `encode(text, add_special_tokens=False)` ids). Added tokens in the text are
    /// recognised unless `matchAddedTokens` is false (then they are encoded as ordinary text).
    public func encode(_ text: String, matchAddedTokens: Bool = true) -> [UInt32] {
        TokenEncoder(self, cached: false).encode(text, matchAddedTokens: matchAddedTokens)
    }

    /// The bytes the ids stand for, concatenated.
    public func decodeBytes(_ ids: some Sequence<UInt32>, skipSpecialTokens: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where Int(id) < tokenBytes.count {
            if skipSpecialTokens && isSpecial[Int(id)] { continue }
            out += tokenBytes[Int(id)]
        }
        return out
    }

    /// Decodes ids to text; byte sequences that are not valid UTF-8 (e.g. a cut-off emoji) become U+FFFD,
    /// as with the HF ByteLevel decoder.
    public func decode(_ ids: some Sequence<UInt32>, skipSpecialTokens: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    /// The canonical tokenizer.json text (what `save` writes and what `hash` is taken of).
    public func canonicalJSON() -> String { String(decoding: canonicalBytes, as: UTF8.self) }
}
