#if canImport(Glibc)
import Glibc
#endif
import RunStore

/// One generated run: its `runs.jsonl` record, and the recipe for its history.
struct SyntheticRun {
    private static let projects: [(entity: String, project: String, archs: [String])] = [
        ("acme", "text-classifier", ["bert", "roberta", "distilbert"]),
        ("acme", "image-classifier", ["resnet50", "vit-b16", "convnext-t"]),
        ("acme", "lm-pretraining", ["gpt2", "llama-mini"]),
        ("acme", "summarization", ["t5-small", "bart-base"]),
        ("research", "speech-asr", ["wav2vec2", "whisper-tiny"]),
    ]
    private static let adjectives = ["bright", "calm", "dashing", "eager", "fancy", "gentle", "hardy", "jolly", "lively", "misty", "noble", "proud", "quiet", "rosy", "sunny", "swift", "vivid", "wise"]
    private static let nouns = ["breeze", "cloud", "dawn", "dew", "field", "firefly", "forest", "frost", "glade", "harbor", "lake", "meadow", "moon", "river", "sky", "star", "sun", "wave"]
    private static let learningRates: [(value: Double, text: String)] = [
        (1e-5, "1e-5"), (3e-5, "3e-5"), (1e-4, "1e-4"), (3e-4, "3e-4"), (1e-3, "1e-3"), (3e-3, "3e-3"),
    ]

    private(set) var record: JSONObject = [:]
    private let id: String
    /// Whether the run logged every planned step (finished runs do).
    private let complete: Bool
    private let createdAt: Double
    private let stepSeconds: Double
    private let loggedSteps: Int
    private let quality: Double
    private let learningRate: Double
    private let warmupFraction: Double
    private let scheduler: String
    private let divergesAt: Int?
    private let throughput: Double

    init(index: Int, of total: Int, id: String, plannedSteps: Int, random: inout SplitMix64) {
        self.id = id
        let project = Self.projects[Int(random.next() % 100) % Self.projects.count]
        let arch = random.pick(project.archs)
        let optimizer = random.chance(0.03) ? "adafactor" : random.pick(["adam", "adamw", "adamw", "sgd"])
        let rate = random.pick(Self.learningRates)
        let seed = Int64(random.next() % 5)
        learningRate = rate.value

        // Spread over ~300 days, in creation order, from 2026-01-05.
        let base = 1_767_571_200.0
        createdAt = (base + Double(index) / Double(max(total, 1)) * 300 * 86_400 + random.uniform(0, 6 * 3600)).rounded()

        let stateRoll = random.unit()
        let state: RunState =
            stateRoll < 0.85 ? .finished : stateRoll < 0.91 ? .failed : stateRoll < 0.95 ? .crashed : stateRoll < 0.97 ? .killed : .running
        loggedSteps = state == .finished ? plannedSteps : max(1, Int(Double(plannedSteps) * random.uniform(0.5, 0.95)))
        complete = loggedSteps == plannedSteps
        divergesAt = random.chance(0.015) && plannedSteps > 4 ? Int(Double(loggedSteps) * random.uniform(0.3, 0.8)) : nil

        // How good the run is: best near lr 3e-4 with adam(w), a little better for larger models.
        let lrDistance = abs(log10(rate.value) - log10(3e-4))
        quality = max(0.05, min(0.98, 0.93 - 0.09 * lrDistance * lrDistance - (optimizer == "sgd" ? 0.06 : 0) + 0.025 * random.normal()))
        stepSeconds = random.uniform(0.2, 2.5)
        warmupFraction = random.pick([0.0, 0.05, 0.1])
        scheduler = random.pick(["cosine", "cosine", "linear", "constant"])
        throughput = random.uniform(80, 2400)

        var config: JSONObject = [:]
        config["learning_rate"] = random.chance(0.02) ? .string(rate.text) : .double(rate.value)
        config["optimizer"] = .string(optimizer)
        config["batch_size"] = .int(random.pick([16, 32, 64, 128]))
        config["epochs"] = .int(random.pick([3, 5, 10, 20]))
        config["seed"] = .int(seed)
        config["weight_decay"] = .double(random.pick([0.0, 0.01, 0.1]))
        config["warmup_steps"] = .int(Int64(Double(plannedSteps) * warmupFraction))
        config["gradient_clip"] = .double(random.pick([0.5, 1.0, 5.0]))
        config["scheduler"] = .string(scheduler)
        if random.chance(0.7) { config["label_smoothing"] = .double(random.pick([0.0, 0.1])) }
        config["mixed_precision"] = .bool(random.chance(0.6))
        config["gradient_accumulation"] = .int(random.pick([1, 1, 2, 4]))
        config["num_workers"] = .int(random.pick([2, 4, 8]))
        config["eval_every"] = .int(10)
        var model: JSONObject = [
            "arch": .string(arch),
            "hidden_size": .int(random.pick([256, 512, 768, 1024])),
            "num_layers": .int(random.pick([4, 6, 12, 24])),
            "num_heads": .int(random.pick([4, 8, 12, 16])),
            "dropout": .double(random.pick([0.0, 0.1, 0.2])),
            "activation": .string(random.pick(["gelu", "relu", "silu"])),
        ]
        if project.project != "image-classifier" {
            model["vocab_size"] = .int(random.pick([30522, 32000, 50257]))
            model["max_seq_len"] = .int(random.pick([128, 256, 512]))
        }
        if random.chance(0.8) { model["pretrained"] = .bool(random.chance(0.7)) }
        model["init_std"] = .double(0.02)
        config["model"] = .object(model)
        var data: JSONObject = [
            "dataset": .string(project.project.split(separator: "-").joined(separator: "_") + "_v" + String(random.next() % 3 + 1)),
            "version": .int(Int64(random.next() % 3 + 1)),
            "train_split": .double(0.9),
            "val_split": .double(0.1),
            "augment": .bool(random.chance(0.5)),
            "shuffle": .bool(true),
        ]
        if random.chance(0.5) { data["max_samples"] = .int(random.pick([10_000, 50_000, 100_000])) }
        if project.project != "image-classifier" { data["tokenizer"] = .string(arch + "-tokenizer") }
        config["data"] = .object(data)
        var optim: JSONObject = ["eps": .double(1e-8)]
        if optimizer == "sgd" {
            optim["momentum"] = .double(random.pick([0.9, 0.95]))
            optim["nesterov"] = .bool(random.chance(0.5))
        } else {
            optim["betas"] = [0.9, .double(random.pick([0.98, 0.999]))]
        }
        config["optim"] = .object(optim)
        config["trainer"] = [
            "device": .string(random.pick(["cuda:0", "cuda:1", "cuda:0,1"])),
            "precision": .string(random.pick(["bf16", "fp16", "fp32"])),
            "deterministic": .bool(random.chance(0.3)),
            "log_every": .int(1),
        ]

        var tags: [JSONValue] = []
        if arch.contains("bert") { tags.append("bert") }
        for tag in ["baseline", "ablation", "sweep", "prod-candidate", "debug"] where random.chance(0.12) {
            tags.append(.string(tag))
        }

        var record: JSONObject = [:]
        record["id"] = .string(id)
        record["entity"] = .string(project.entity)
        record["project"] = .string(project.project)
        record["name"] = .string("\(random.pick(Self.adjectives))-\(random.pick(Self.nouns))-\(index + 1)")
        record["state"] = .string(state.rawValue)
        record["group"] = random.chance(0.7) ? .string("sweep-\(arch)-\(index / 50)") : .null
        record["job_type"] = .string(random.chance(0.9) ? "train" : "eval")
        record["tags"] = .array(tags)
        record["notes"] = random.chance(0.1) ? .string("rerun of \(arch) with \(optimizer), lr \(rate.text)") : .null
        record["user"] = .string(random.pick(["alice", "bob", "carol", "dave"]))
        record["host"] = .string("gpu-node-0\(random.next() % 8 + 1)")
        record["created_at"] = .string(Timestamp.format(createdAt))
        record["runtime"] = .double(Self.round(Double(loggedSteps) * stepSeconds, digits: 1))
        record["config"] = .object(config)
        self.record = record
        self.record["summary"] = .object(summary(random: &random))
    }

    /// Rounds to a number of decimals, so that the files stay a realistic size.
    static func round(_ value: Double, digits: Int) -> Double {
        guard value.isFinite else { return value }
        let scale = pow(10.0, Double(digits))
        return (value * scale).rounded() / scale
    }

    // MARK: Curves

    private func progress(_ step: Int) -> Double { Double(step) / Double(max(loggedSteps - 1, 1)) }

    private func trainLoss(_ step: Int) -> Double { 2.4 * exp(-4 * progress(step)) * (1.3 - quality) + 0.35 * (1 - quality) }
    private func validationF1(_ step: Int) -> Double { quality * (1 - exp(-5 * progress(step) - 0.2)) }

    private func scheduledRate(_ step: Int) -> Double {
        let position = progress(step)
        if position < warmupFraction { return learningRate * position / warmupFraction }
        switch scheduler {
        case "constant": return learningRate
        case "linear": return learningRate * (1 - position)
        default: return learningRate * 0.5 * (1 + cos(Double.pi * position))
        }
    }

    private func summary(random: inout SplitMix64) -> JSONObject {
        let last = loggedSteps - 1
        let lastValidation = last / 10 * 10
        let diverged = divergesAt != nil
        let f1 = diverged ? Double.nan : Self.round(validationF1(lastValidation), digits: 6)
        let bestF1 = diverged ? Self.round(validationF1(divergesAt! / 10 * 10), digits: 6) : f1
        var summary: JSONObject = [:]
        summary["train/loss"] = diverged ? .double(.nan) : .double(Self.round(trainLoss(last), digits: 6))
        summary["train/acc"] = .double(diverged ? 0.1 : Self.round(min(0.999, quality + 0.04), digits: 6))
        summary["train/lr"] = .double(Self.round(scheduledRate(last), digits: 9))
        summary["train/grad_norm"] = diverged ? .double(.infinity) : .double(Self.round(random.uniform(0.2, 2.0), digits: 4))
        summary["perf/throughput"] = .double(Self.round(throughput, digits: 1))
        summary["val/loss"] = diverged ? .double(.nan) : .double(Self.round(trainLoss(lastValidation) * 1.08, digits: 6))
        summary["val/acc"] = diverged ? .double(.nan) : .double(Self.round(min(0.999, f1 + 0.03), digits: 6))
        summary["val/f1"] = .double(f1)
        summary["val/precision"] = diverged ? .double(.nan) : .double(Self.round(min(0.999, f1 + random.uniform(-0.02, 0.04)), digits: 6))
        summary["val/recall"] = diverged ? .double(.nan) : .double(Self.round(min(0.999, f1 + random.uniform(-0.04, 0.02)), digits: 6))
        summary["best/val_f1"] = .double(bestF1)
        summary["best/step"] = .int(Int64(diverged ? divergesAt! / 10 * 10 : lastValidation))
        if complete, !diverged {
            summary["test/f1"] = .double(Self.round(f1 - random.uniform(0, 0.02), digits: 6))
            summary["test/acc"] = .double(Self.round(min(0.999, f1 + 0.02), digits: 6))
            summary["test/loss"] = .double(Self.round(trainLoss(last) * 1.1, digits: 6))
        }
        summary["gpu/mem_peak_gb"] = .double(Self.round(random.uniform(4, 78), digits: 2))
        summary["params/total_m"] = .double(Self.round(random.uniform(5, 400), digits: 1))
        summary["epoch"] = .int(Int64(max(1, loggedSteps / 50)))
        summary["data/samples_seen"] = .int(Int64(loggedSteps) * 32)
        summary["time/step_seconds"] = .double(Self.round(stepSeconds, digits: 4))
        return summary
    }

    /// Writes the run's history lines; returns how many.
    func writeHistory(to file: BufferedFile, random: inout SplitMix64) throws -> Int {
        var line = ""
        line.reserveCapacity(320)
        for step in 0..<loggedSteps {
            let runtime = Self.round(Double(step) * stepSeconds, digits: 3)
            line.removeAll(keepingCapacity: true)
            line += "{\"run_id\":\"\(id)\",\"_step\":\(step),\"_runtime\":\(runtime),\"_timestamp\":\(Self.round(createdAt + runtime, digits: 3))"
            let diverged = divergesAt.map { step >= $0 } ?? false
            let noise = random.normal()
            func metric(_ key: String, _ value: Double, digits: Int = 6) {
                let shown = random.chance(0.001) ? Double.nan : Self.round(value, digits: digits)
                line += ",\"\(key)\":\(JSONWriter.formatDouble(shown))"
            }
            if diverged {
                line += ",\"train/loss\":\(random.chance(0.5) ? "NaN" : "Infinity")"
            } else {
                metric("train/loss", max(0.001, trainLoss(step) * (1 + 0.04 * noise)))
            }
            metric("train/acc", diverged ? 0.1 : max(0, min(0.999, quality * (1 - exp(-4 * progress(step))) + 0.01 * noise)))
            metric("train/lr", scheduledRate(step), digits: 9)
            metric("train/grad_norm", diverged ? 1e30 : abs(1.2 - progress(step) + 0.3 * noise), digits: 4)
            metric("perf/throughput", throughput * (1 + 0.02 * random.normal()), digits: 1)
            if step % 10 == 0 {
                let f1 = diverged ? Double.nan : validationF1(step) + 0.01 * random.normal()
                metric("val/loss", diverged ? .nan : trainLoss(step) * 1.08 * (1 + 0.03 * random.normal()))
                metric("val/acc", min(0.999, f1 + 0.03))
                metric("val/f1", f1)
            }
            line += "}\n"
            try file.write(line)
        }
        return loggedSteps
    }
}
