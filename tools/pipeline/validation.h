// `rdasim validate`: measured serving rows (configs/validation/*.csv, Argonne's
// LLM-Inference-Bench) set against rdasim's predictions of them. Each row's hardware, model and
// framework are resolved through a name table (configs/validation/names.yaml) to a system, an
// LLM config and a framework; the row's shape is served as a static batch (tools/pipeline/
// serving.h); the signed error is predicted / measured - 1. Rows that share a system, a split,
// a framework and a model share their timed steps (serve::StepMemo): the distinct steps all rows
// need are listed first, timed once each in worker processes, and every row is then served from
// the memos in this process, which is what makes fitting the framework's overhead keys
// (calibration) cheap: a key that adds host time moves no step the devices run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/json.h"
#include "sim/serve/steps.h"

namespace rdasim::tools {

/// One measured row, as read: its columns kept for the output, and what rdasim needs of it.
struct MeasuredRow {
  std::string file;  ///< where it came from (file:line in messages)
  int line = 0;
  std::vector<std::string> columns, values;  ///< the file's header and this row's fields
  std::string hardware, framework, model;    ///< the names the row gives
  int count = 1;                             ///< devices
  std::int64_t input_len = 0, output_len = 0;
  int batch = 1;
  /// What is compared: the end-to-end latency of the batch (latency_s), or the time to the
  /// first token (ttft_s) when a row gives no latency for its shape.
  std::string metric;
  double measured_s = 0;
};

/// Reads a measured CSV file: the columns of shared/validation's files (hardware, count,
/// framework, model, batch; input_output_length or input_length and output_length; latency_s
/// or ttft_s), others kept as they are. Throws core::InputError naming file:line.
[[nodiscard]] std::vector<MeasuredRow> read_measured_csv(const std::filesystem::path& path);

/// The name table: a row's hardware to a system file, its model id to an LLM config, its
/// framework to a framework file (configs/validation/names.yaml).
struct NameTable {
  std::string source;
  std::map<std::string, std::string> systems, models, frameworks;
  static NameTable load_file(const std::filesystem::path& path);
};

/// A row resolved to a serving run, or the reason it cannot be run.
struct ResolvedRow {
  std::string system;        ///< a path to configs/systems/*.yaml
  std::string system_label;  ///< the system as reports name it: "SN40L x 8", "H100 x 4"
  std::string model;         ///< an LLM config name
  std::string framework;
  int devices = 1;
  std::string reason;  ///< non-empty: not run, and why
};
[[nodiscard]] ResolvedRow resolve_row(const MeasuredRow& row, const NameTable& names);

/// A framework key set for the rows of one framework: what calibration moves.
struct KeySetting {
  std::string framework;  ///< the framework's name (trtllm, sambaflow, ...)
  std::string key;        ///< a key of configs/frameworks/README.md that adds host time only
  double value = 0;
};

struct ValidateOptions {
  std::vector<std::filesystem::path> measured;  ///< CSV files
  std::filesystem::path names;                  ///< the name table
  int jobs = 1;                                 ///< steps timed at once, each share in a worker process
  std::vector<KeySetting> settings;             ///< framework keys replaced for every row of theirs
  /// The simulator's tokens per section at most (as `rdasim serve --max-tokens`): lower than
  /// serve's 2048 so that the SN40L rows' prefills simulate in seconds, not minutes (a 16 x 128
  /// Llama-3-70B prefill on sn40l-8: 74.03 ms at 256, 74.01 ms at 2048).
  int max_tokens = 256;
  bool log = false;  ///< progress per group
};

struct RowResult {
  MeasuredRow row;
  ResolvedRow resolved;
  double predicted_latency_s = 0, predicted_ttft_s = 0, predicted_throughput_tok_s = 0;
  double predicted_s = 0;  ///< the row's metric
  double error = 0;        ///< predicted_s / measured_s - 1
  [[nodiscard]] bool ran() const { return resolved.reason.empty(); }
};

/// The steps of every group, timed once: group key -> memo.
using StepMemos = std::map<std::string, serve::StepMemo>;

/// Times the distinct steps every runnable row needs (shared out over `jobs` workers, the
/// costliest first) into `memos`; steps a memo holds already are not timed again.
void time_steps(const std::vector<MeasuredRow>& rows, const NameTable& names, const ValidateOptions& options,
                StepMemos& memos);

/// Serves every row from the memos (times missing steps in this process) with `settings`.
[[nodiscard]] std::vector<RowResult> predict_rows(const std::vector<MeasuredRow>& rows, const NameTable& names,
                                                  const std::vector<KeySetting>& settings,
                                                  const ValidateOptions& options, StepMemos& memos);

/// Per system (hardware x count and framework): rows run and not, median, largest and mean
/// signed error; the systems with rows first.
struct SystemError {
  std::string system;
  int rows = 0, not_run = 0;
  double median_abs = 0, max_abs = 0, mean_signed = 0;
};
[[nodiscard]] std::vector<SystemError> system_errors(const std::vector<RowResult>& results);

/// For every shape (model, lengths, batch, metric) measured on two systems: does rdasim pick
/// the same one as faster, and its ratio against the measured one.
struct Verdict {
  std::string model, metric, a, b;
  std::int64_t input_len = 0, output_len = 0;
  int batch = 0;
  double measured_ratio = 0, predicted_ratio = 0;  ///< a's time over b's
  [[nodiscard]] bool agrees() const { return (measured_ratio > 1) == (predicted_ratio > 1); }
};
[[nodiscard]] std::vector<Verdict> verdicts(const std::vector<RowResult>& results);
/// The share of pairs that agree (1 when there is none).
[[nodiscard]] double agreement(const std::vector<Verdict>& pairs);
/// By how much: the median over pairs of |predicted ratio / measured ratio - 1| (0 when none).
[[nodiscard]] double median_ratio_error(const std::vector<Verdict>& pairs);

/// The calibration spec (configs/validation/calibration.yaml): each key with the values it may
/// take; every combination of a framework's values is tried on the training rows.
struct FitKey {
  std::string framework, key;
  std::vector<double> values;
  std::string why;  ///< the mechanism the key stands for
};
struct CalibrationSpec {
  std::string source;
  std::vector<FitKey> keys;
  static CalibrationSpec load_file(const std::filesystem::path& path);
};

/// What fitting needs of every row, served once for all fits: its prediction with every key at
/// 0, and per key the time one unit of it adds (the keys add host time linearly).
struct CalibrationProbe {
  std::vector<KeySetting> zero;            ///< every key at 0
  std::vector<RowResult> base;             ///< the rows served with `zero`
  std::vector<std::vector<double>> slope;  ///< [key][row]: seconds per unit of the key
};
[[nodiscard]] CalibrationProbe probe_calibration(const std::vector<MeasuredRow>& rows, const NameTable& names,
                                                 const CalibrationSpec& spec, const ValidateOptions& options,
                                                 StepMemos& memos);

/// Fits the keys on the rows `train` accepts: the combination of values with the least mean
/// |log(predicted / measured)| (robust to the few rows no mechanism explains); returns it.
[[nodiscard]] std::vector<KeySetting> fit_keys(const CalibrationProbe& probe, const CalibrationSpec& spec,
                                               const std::function<bool(const RowResult&)>& train);

[[nodiscard]] core::Json to_json(const RowResult& r);
/// validation.csv: each input row's columns (the union over files, in order of first use) and
/// system, predicted_latency_s, predicted_ttft_s, predicted_throughput_tok_s, metric,
/// predicted, error, status.
[[nodiscard]] std::string validation_csv(const std::vector<RowResult>& results);

}  // namespace rdasim::tools
