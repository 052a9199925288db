// A Hugging Face GPT-2 directory (`config.json` + `model.safetensors`, as `GPT2LMHeadModel.save_pretrained`
// writes it) from the engine's model, and the engine's model from one. Names and transpositions come from
// `HuggingFaceGPT2Names`; the config's checks from `HuggingFaceGPT2Config`.

import Foundation

public enum HuggingFaceGPT2 {
    public static let weightsFileName = "model.safetensors"

    /// Writes `config.json` and `model.safetensors` (fp32) into `directory`, which must exist. The tied head is
    /// not written (transformers ties `lm_head` to `wte` itself), and `__metadata__` says `format: pt`, which
    /// `from_pretrained` requires of a safetensors file.
    public static func write(
        _ model: GPTModel, step: Int, endOfTextTokenID: Int?, into directory: String
    ) throws(HuggingFaceModelError) {
        let config = try HuggingFaceGPT2Config.json(
            for: model.config, endOfTextTokenID: endOfTextTokenID, step: step, path: directory)
        let configPath = (directory as NSString).appendingPathComponent(HuggingFaceGPT2Config.fileName)
        guard FileManager.default.createFile(atPath: configPath, contents: config) else {
            throw HuggingFaceModelError(path: directory, reason: "cannot write \(configPath)")
        }
        let slots = Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0) })
        var tensors: [NamedTensor] = []
        for name in HuggingFaceGPT2Names.all(layers: model.config.layers) {
            guard let slot = slots[name.engine] else {
                preconditionFailure("HuggingFaceGPT2Names lists \(name.engine), which the engine's layout lacks")
            }
            let values = Array(model.parameters[slot.offset..<(slot.offset + slot.count)])
            if name.transposed {
                let (rows, columns) = (slot.shape[0], slot.shape[1])
                tensors.append(
                    NamedTensor(
                        name: name.huggingFace, shape: [columns, rows],
                        values: HuggingFaceGPT2Names.transpose(values, rows: rows, columns: columns)))
            } else {
                tensors.append(NamedTensor(name: name.huggingFace, shape: slot.shape, values: values))
            }
        }
        let weightsPath = (directory as NSString).appendingPathComponent(weightsFileName)
        do {
            try Safetensors.write(tensors, metadata: ["format": "pt"], to: weightsPath)
        } catch {
            throw HuggingFaceModelError(path: directory, reason: "\(error)")
        }
    }

    /// The engine config of the GPT-2 in `directory` (its config.json).
    public static func config(directory: String) throws(HuggingFaceModelError) -> GPTConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw HuggingFaceModelError(
                path: directory,
                reason: "no such directory (give the directory that holds config.json and model.safetensors)")
        }
        return try HuggingFaceGPT2Config.read(
            path: (directory as NSString).appendingPathComponent(HuggingFaceGPT2Config.fileName))
    }

    /// A model holding the weights of the GPT-2 in `directory`.
    public static func loadModel(directory: String, threads: Int = 1) throws(HuggingFaceModelError) -> GPTModel {
        let config = try config(directory: directory)
        let model: GPTModel
        do { model = try GPTModel(config: config, threads: threads, seed: nil) } catch {
            throw HuggingFaceModelError(path: directory, reason: "\(error)")
        }
        try load(directory: directory, into: model)
        return model
    }

    /// Replaces `model`'s weights with those of the GPT-2 in `directory`; its config must equal the model's.
    public static func load(directory: String, into model: GPTModel) throws(HuggingFaceModelError) {
        func fail(_ reason: String) -> HuggingFaceModelError { HuggingFaceModelError(path: directory, reason: reason) }
        let config = try config(directory: directory)
        guard config == model.config else {
            throw fail("its config.json describes \(config), the model to load into is \(model.config)")
        }
        let file = try weightsFile(directory)
        for name in HuggingFaceGPT2Names.all(layers: config.layers) {
            guard let slot = model.tensors.first(where: { $0.name == name.engine }) else {
                preconditionFailure("HuggingFaceGPT2Names lists \(name.engine), which the engine's layout lacks")
            }
            let stored = [name.huggingFace, String(name.huggingFace.dropFirst(HuggingFaceGPT2Names.prefix.count))]
            guard let key = stored.first(where: { file.entries[$0] != nil }), let entry = file.entries[key] else {
                throw fail("model.safetensors has no tensor \(name.huggingFace) (nor \(stored[1]))")
            }
            let expected = name.transposed ? [slot.shape[1], slot.shape[0]] : slot.shape
            guard entry.shape == expected else {
                throw fail("tensor \(key) has shape \(entry.shape); config.json needs \(expected)")
            }
            var values: [Float]
            do { values = try file.values(key) } catch { throw fail("\(error)") }
            if name.transposed {
                values = HuggingFaceGPT2Names.transpose(values, rows: expected[0], columns: expected[1])
            }
            (model.parameters.baseAddress! + slot.offset).update(from: values, count: slot.count)
        }
        try checkTiedHead(file, model: model, directory: directory)
    }

    private static func weightsFile(_ directory: String) throws(HuggingFaceModelError) -> Safetensors.File {
        let path = (directory as NSString).appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: path) else {
            let fm = FileManager.default
            let reason =
                fm.fileExists(atPath: path + ".index.json")
                ? "its weights are sharded (model.safetensors.index.json); save them as one file (save_pretrained(max_shard_size=\"100GB\"))"
                : fm.fileExists(atPath: (directory as NSString).appendingPathComponent("pytorch_model.bin"))
                    ? "it has pytorch_model.bin but no model.safetensors; save it with save_pretrained(safe_serialization=True)"
                    : "it has no model.safetensors"
            throw HuggingFaceModelError(path: directory, reason: reason)
        }
        do { return try Safetensors.File(path: path) } catch {
            throw HuggingFaceModelError(path: directory, reason: "\(error)")
        }
    }

    /// The engine's head is the token embedding; a file whose `lm_head.weight` differs from `wte` would compute
    /// other logits here than in transformers, so it is refused.
    private static func checkTiedHead(_ file: Safetensors.File, model: GPTModel, directory: String)
        throws(HuggingFaceModelError)
    {
        guard file.entries[HuggingFaceGPT2Names.tiedHead] != nil else { return }
        let head: [Float]
        do { head = try file.values(HuggingFaceGPT2Names.tiedHead) } catch {
            throw HuggingFaceModelError(path: directory, reason: "\(error)")
        }
        guard head == model.tensor(named: "tok_emb.weight") else {
            throw HuggingFaceModelError(
                path: directory,
                reason:
                    "lm_head.weight differs from wte.weight; the engine's output head is tied to the token embedding"
            )
        }
    }
}
