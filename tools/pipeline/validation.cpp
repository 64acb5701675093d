#include "tools/pipeline/validation.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/text.h"
#include "core/worker.h"
#include "sim/serve/framework.h"
#include "sim/serve/server.h"
#include "tools/pipeline/serving.h"
#include "workloads/llm.h"

namespace rdasim::tools {

// ---- measured rows ------------------------------------------------------------------------

namespace {

/// The columns a measured file must have (one of each group).
struct Columns {
  int hardware = -1, count = -1, framework = -1, model = -1, batch = -1;
  int input_output = -1, input = -1, output = -1;
  int latency = -1, ttft = -1;
};

int column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

double parse_number(const core::Location& where, const std::string& name, const std::string& text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    throw core::InputError(where, fmt::format("{} is '{}'; expected a number", name, core::printable(text)));
  }
  return value;
}

std::int64_t parse_whole(const core::Location& where, const std::string& name, const std::string& text) {
  const double value = parse_number(where, name, text);
  if (value < 1 || value != std::floor(value) || value > 1e9) {
    throw core::InputError(where, fmt::format("{} is '{}'; expected a whole number >= 1", name, core::printable(text)));
  }
  return static_cast<std::int64_t>(value);
}

}  // namespace

std::vector<MeasuredRow> read_measured_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw core::InputError(core::Location(path.string()), "cannot open the measured rows");
  std::string text;
  int line = 0;
  std::vector<std::string> header;
  Columns c;
  std::vector<MeasuredRow> rows;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text.front() == '#') continue;
    const core::Location where(path.string(), line);
    auto fields = core::csv_fields(text);
    if (header.empty()) {
      header = std::move(fields);
      c = {column(header, "hardware"),     column(header, "count"),         column(header, "framework"),
           column(header, "model"),        column(header, "batch"),         column(header, "input_output_length"),
           column(header, "input_length"), column(header, "output_length"), column(header, "latency_s"),
           column(header, "ttft_s")};
      for (const char* name : {"hardware", "count", "framework", "model", "batch"}) {
        if (column(header, name) < 0) {
          throw core::InputError(where, fmt::format("the header has no '{}' column; expected those of "
                                                    "configs/validation/README.md",
                                                    name));
        }
      }
      if (c.input_output < 0 && (c.input < 0 || c.output < 0)) {
        throw core::InputError(where,
                               "the header has neither 'input_output_length' nor 'input_length' and "
                               "'output_length': no shape to serve");
      }
      if (c.latency < 0 && c.ttft < 0) {
        throw core::InputError(where, "the header has neither 'latency_s' nor 'ttft_s': nothing measured to compare");
      }
      continue;
    }
    // A row may leave trailing columns out (shared/validation's GH200 TTFT row has no end
    // latency): they read as empty, and only a column rdasim needs must be there.
    if (fields.size() > header.size()) {
      throw core::InputError(where, fmt::format("{} fields; the header has {}", fields.size(), header.size()));
    }
    const std::size_t given = fields.size();
    fields.resize(header.size());
    std::vector<int> needed{c.hardware, c.count, c.framework, c.model, c.batch};
    if (c.input_output >= 0) needed.push_back(c.input_output);
    else needed.insert(needed.end(), {c.input, c.output});
    for (int column : needed) {
      if (static_cast<std::size_t>(column) >= given) {
        throw core::InputError(where, fmt::format("{} fields; the header has {} and '{}' is needed", given,
                                                  header.size(), header[static_cast<std::size_t>(column)]));
      }
    }
    auto field = [&](int i) -> const std::string& { return fields[static_cast<std::size_t>(i)]; };
    MeasuredRow r;
    r.file = path.string();
    r.line = line;
    r.columns = header;
    r.hardware = field(c.hardware);
    r.framework = field(c.framework);
    r.model = field(c.model);
    r.count = static_cast<int>(parse_whole(where, "count", field(c.count)));
    r.batch = static_cast<int>(parse_whole(where, "batch", field(c.batch)));
    if (c.input_output >= 0) {
      r.input_len = r.output_len = parse_whole(where, "input_output_length", field(c.input_output));
    } else {
      r.input_len = parse_whole(where, "input_length", field(c.input));
      r.output_len = parse_whole(where, "output_length", field(c.output));
    }
    if (c.latency >= 0 && !field(c.latency).empty()) {
      r.metric = "latency_s";
      r.measured_s = parse_number(where, "latency_s", field(c.latency));
    } else if (c.ttft >= 0 && !field(c.ttft).empty()) {
      r.metric = "ttft_s";
      r.measured_s = parse_number(where, "ttft_s", field(c.ttft));
    } else {
      throw core::InputError(where, "gives no measured time (latency_s or ttft_s is empty)");
    }
    if (r.measured_s <= 0) {
      throw core::InputError(where, fmt::format("{} is {}; expected a time > 0", r.metric, r.measured_s));
    }
    r.values = std::move(fields);
    rows.push_back(std::move(r));
  }
  if (header.empty()) {
    throw core::InputError(core::Location(path.string()),
                           "is empty; expected a header (hardware,count,framework,model,...) and measured rows");
  }
  if (rows.empty()) throw core::InputError(core::Location(path.string()), "has a header but no measured row");
  return rows;
}

// ---- names --------------------------------------------------------------------------------

NameTable NameTable::load_file(const std::filesystem::path& path) {
  const auto root = core::ConfigNode::load_file(path);
  root.check_keys({"hardware", "models", "frameworks"});
  NameTable t;
  t.source = path.string();
  auto read_map = [&root](const char* key, std::map<std::string, std::string>& into) {
    const auto node = root.at(key);
    for (const auto& name : node.keys()) into[name] = node.at(name).as_string();
  };
  read_map("hardware", t.systems);
  // System files are named relative to the table, as a system names its device file.
  for (auto& [hardware, file] : t.systems)
    file = core::named_file(path.parent_path(), file, "systems", ".yaml").lexically_normal().string();
  read_map("models", t.models);
  read_map("frameworks", t.frameworks);
  return t;
}

namespace {

std::vector<std::string> keys_of(const std::map<std::string, std::string>& m) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  return keys;
}

/// "Nvidia H100 GPU" -> "H100", "SambaNova SN40L" -> "SN40L": the word with a digit in it.
std::string short_hardware(const std::string& hardware) {
  std::size_t start = 0;
  while (start < hardware.size()) {
    const auto end = std::min(hardware.find(' ', start), hardware.size());
    const std::string word = hardware.substr(start, end - start);
    if (std::any_of(word.begin(), word.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; })) return word;
    start = end + 1;
  }
  return hardware;
}

}  // namespace

ResolvedRow resolve_row(const MeasuredRow& row, const NameTable& names) {
  ResolvedRow r;
  r.devices = row.count;
  r.system_label = fmt::format("{} x {}", short_hardware(row.hardware), row.count);
  auto missing = [&](const char* what, const std::string& name, const std::map<std::string, std::string>& known) {
    return fmt::format("no {} '{}' in {}{}", what, name, names.source, core::did_you_mean(name, keys_of(known)));
  };
  const auto system = names.systems.find(row.hardware);
  if (system == names.systems.end()) {
    r.reason = missing("hardware", row.hardware, names.systems);
    return r;
  }
  r.system = system->second;
  const auto model = names.models.find(row.model);
  if (model == names.models.end()) {
    r.reason = missing("model", row.model, names.models);
    return r;
  }
  r.model = model->second;
  const auto framework = names.frameworks.find(row.framework);
  if (framework == names.frameworks.end()) {
    r.reason = missing("framework", row.framework, names.frameworks);
    return r;
  }
  r.framework = framework->second;
  return r;
}

// ---- serving the rows ---------------------------------------------------------------------

namespace {

/// Rows that share a system, devices, framework and model share their steps.
std::string group_key(const ResolvedRow& r) {
  return fmt::format("{}|{}|{}|{}", r.system, r.devices, r.framework, r.model);
}

ServeInputs serve_inputs(const MeasuredRow& row, const ResolvedRow& r, const std::vector<KeySetting>& settings,
                         int max_tokens) {
  ServeInputs in;
  in.max_tokens = max_tokens;
  in.models = {r.model};
  in.system = r.system;
  in.devices = r.devices;
  in.tp = r.devices;
  in.framework = r.framework;
  for (const auto& s : settings) {
    if (s.framework == r.framework) {
      in.framework_sets.push_back(core::Override{s.key, fmt::format("{}", s.value)});
    }
  }
  in.batch = row.batch;
  in.input_len = row.input_len;
  in.output_len = row.output_len;
  in.bounds = false;
  return in;
}

/// A distinct step some rows need, timed once for all of them.
struct StepTask {
  std::string group;
  std::size_t row = 0;  ///< a row of the group: its inputs name the system and setup
  std::string model;
  workloads::LlmStep step;
  double cost = 0;  ///< rough, for sharing out: an RDA step is simulated, a GPU's is a formula
};

/// Times tasks, each group's system, setup and model loaded once (a worker times many steps of
/// a few groups).
class GroupTimers {
 public:
  GroupTimers(const std::vector<MeasuredRow>& rows, const NameTable& names, const ValidateOptions& options)
      : m_rows(rows),
        m_names(names),
        m_options(options) {}

  serve::StepTime time(const StepTask& task) {
    auto& slot = m_timers[task.group];
    if (!slot) {
      const ResolvedRow r = resolve_row(m_rows[task.row], m_names);
      const ServeInputs in = serve_inputs(m_rows[task.row], r, m_options.settings, m_options.max_tokens);
      slot = std::make_unique<Timer>(Timer{served_system(in), {}, r.system_label});
      const auto config = workloads::load_llm_config(workloads::llm_config_path(r.model));
      slot->timer = step_timer(slot->served.system, slot->served.setup, {{task.model, config}});
    }
    const auto started = std::chrono::steady_clock::now();
    const serve::StepTime t = slot->timer(task.model, task.step);
    if (m_options.log && !slot->served.system.is_gpu()) {  // a simulated step: seconds of wall time
      const bool prefill = task.step.phase == workloads::LlmPhase::prefill;
      core::log::info("{} {}: {} batch {} {} {} -> {} ({:.1f} s)", task.model, slot->label,
                      prefill ? "prefill" : "decode", task.step.batch, prefill ? "prompt" : "context",
                      prefill ? task.step.prompt : task.step.context, core::format_si(t.seconds, "s"),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return t;
  }

 private:
  struct Timer {
    ServedSystem served;
    serve::StepTimer timer;  ///< refers to `served`, which therefore stays put (unique_ptr)
    std::string label;
  };
  const std::vector<MeasuredRow>& m_rows;
  const NameTable& m_names;
  const ValidateOptions& m_options;
  std::map<std::string, std::unique_ptr<Timer>> m_timers;
};

core::Json step_time_json(const serve::StepTime& t) {
  return {t.seconds, t.collective_s, t.overlapped_s, t.launch_s, t.energy_j};
}

serve::StepTime step_time_from(const core::Json& j) {
  return {j[0].get<double>(), j[1].get<double>(), j[2].get<double>(), j[3].get<double>(), j[4].get<double>()};
}

}  // namespace

void time_steps(const std::vector<MeasuredRow>& rows, const NameTable& names, const ValidateOptions& options,
                StepMemos& memos) {
  // The steps every row needs, listed by serving it without timing anything (a static batch's
  // steps do not depend on their times), each distinct one once.
  std::vector<StepTask> tasks;
  std::set<std::pair<std::string, serve::StepMemo::key_type>> seen;  // (group, step)
  std::map<std::string, double> scale;                               // per group: its steps' rough cost per token
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ResolvedRow r = resolve_row(rows[i], names);
    if (!r.reason.empty()) continue;
    const std::string group = group_key(r);
    ServeInputs in = serve_inputs(rows[i], r, options.settings, options.max_tokens);
    std::vector<std::pair<std::string, workloads::LlmStep>> listed;
    in.list_steps = &listed;
    try {
      (void)run_serving(in);
      if (!scale.contains(group)) {  // an RDA's steps are simulated, a GPU's are a formula
        const double params =
            static_cast<double>(workloads::load_llm_config(workloads::llm_config_path(r.model)).parameters());
        scale[group] = served_system(in).system.is_gpu() ? 0 : params / 8e9;
      }
    } catch (const serve::DoesNotFit&) {
      continue;  // predict_rows lists the row with the reason
    } catch (const core::InputError&) {
      continue;  // the same: a config the name table points at is missing or wrong
    }
    for (const auto& [model, step] : listed) {
      const auto key = serve::step_key(model, step);
      if (!seen.insert({group, key}).second || memos[group].contains(key)) continue;
      const double tokens = static_cast<double>(step.batch * step.new_tokens());
      tasks.push_back({group, i, model, step, 1e-3 + (1.0 + tokens / 256.0) * scale[group]});
    }
  }
  auto record = [&memos](const StepTask& task, const serve::StepTime& t) {
    memos[task.group].emplace(serve::step_key(task.model, task.step), t);
  };
  if (options.log) core::log::info("{} distinct steps to time", tasks.size());
  if (options.jobs <= 1 || tasks.size() <= 1) {
    GroupTimers timers(rows, names, options);
    for (const auto& task : tasks) record(task, timers.time(task));
    return;
  }
  // Side by side: each worker times its share (the costliest first onto the least loaded).
  std::vector<std::pair<double, std::size_t>> work;
  for (std::size_t i = 0; i < tasks.size(); ++i) work.emplace_back(tasks[i].cost, i);
  const auto shares = core::share_out(std::move(work), static_cast<std::size_t>(options.jobs));
  std::vector<std::pair<const std::vector<std::size_t>*, std::unique_ptr<core::Worker>>> workers;
  for (const auto& share : shares) {
    if (share.empty()) continue;
    workers.emplace_back(&share, std::make_unique<core::Worker>([&tasks, &share, &rows, &names, &options]() {
      GroupTimers timers(rows, names, options);
      core::Json out = core::Json::array();
      for (std::size_t i : share) out.push_back(step_time_json(timers.time(tasks[i])));
      return out;
    }));
  }
  for (auto& [share, worker] : workers) {
    const core::Json out = worker->wait();
    for (std::size_t k = 0; k < share->size(); ++k) record(tasks[(*share)[k]], step_time_from(out[k]));
  }
}

std::vector<RowResult> predict_rows(const std::vector<MeasuredRow>& rows, const NameTable& names,
                                    const std::vector<KeySetting>& settings, const ValidateOptions& options,
                                    StepMemos& memos) {
  std::vector<RowResult> results;
  results.reserve(rows.size());
  for (const auto& row : rows) {
    RowResult res;
    res.row = row;
    res.resolved = resolve_row(row, names);
    if (res.ran()) {
      ServeInputs in = serve_inputs(row, res.resolved, settings, options.max_tokens);
      in.step_memo = &memos[group_key(res.resolved)];
      try {
        const ServeOutcome out = run_serving(in);
        res.predicted_latency_s = out.report["latency_s"].get<double>();
        res.predicted_ttft_s = out.report["ttft_s"].get<double>();
        res.predicted_throughput_tok_s = out.report["throughput_tok_s"].get<double>();
        res.predicted_s = row.metric == "ttft_s" ? res.predicted_ttft_s : res.predicted_latency_s;
        res.error = res.predicted_s / row.measured_s - 1;
      } catch (const serve::DoesNotFit& e) {
        res.resolved.reason = fmt::format("does not fit: {}", e.what());
      } catch (const core::InputError& e) {
        res.resolved.reason = e.what();
      }
    }
    results.push_back(std::move(res));
  }
  return results;
}

// ---- summaries ----------------------------------------------------------------------------

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string system_of(const RowResult& r) {
  return fmt::format("{} {}", r.resolved.system_label,
                     r.resolved.framework.empty() ? r.row.framework : r.resolved.framework);
}

}  // namespace

std::vector<SystemError> system_errors(const std::vector<RowResult>& results) {
  std::map<std::string, std::vector<const RowResult*>> by;
  std::vector<std::string> order;
  for (const auto& r : results) {
    const std::string s = system_of(r);
    if (!by.contains(s)) order.push_back(s);
    by[s].push_back(&r);
  }
  std::vector<SystemError> out;
  for (const auto& s : order) {
    SystemError e;
    e.system = s;
    std::vector<double> abs;
    double sum = 0;
    for (const RowResult* r : by[s]) {
      if (!r->ran()) {
        ++e.not_run;
        continue;
      }
      ++e.rows;
      abs.push_back(std::abs(r->error));
      sum += r->error;
      e.max_abs = std::max(e.max_abs, std::abs(r->error));
    }
    e.median_abs = median(abs);
    e.mean_signed = e.rows > 0 ? sum / e.rows : 0;
    out.push_back(e);
  }
  // Systems with rows first, each group in the order of the measured files.
  std::stable_partition(out.begin(), out.end(), [](const SystemError& e) { return e.rows > 0; });
  return out;
}

std::vector<Verdict> verdicts(const std::vector<RowResult>& results) {
  std::vector<Verdict> out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& a = results[i];
    if (!a.ran()) continue;
    for (std::size_t j = i + 1; j < results.size(); ++j) {
      const auto& b = results[j];
      if (!b.ran() || a.row.model != b.row.model || a.row.metric != b.row.metric ||
          a.row.input_len != b.row.input_len || a.row.output_len != b.row.output_len || a.row.batch != b.row.batch ||
          system_of(a) == system_of(b)) {
        continue;
      }
      Verdict v;
      v.model = a.row.model;
      v.metric = a.row.metric;
      v.a = system_of(a);
      v.b = system_of(b);
      v.input_len = a.row.input_len;
      v.output_len = a.row.output_len;
      v.batch = a.row.batch;
      v.measured_ratio = a.row.measured_s / b.row.measured_s;
      v.predicted_ratio = a.predicted_s / b.predicted_s;
      out.push_back(v);
    }
  }
  return out;
}

double agreement(const std::vector<Verdict>& pairs) {
  if (pairs.empty()) return 1;
  const auto agree = std::count_if(pairs.begin(), pairs.end(), [](const Verdict& v) { return v.agrees(); });
  return static_cast<double>(agree) / static_cast<double>(pairs.size());
}

double median_ratio_error(const std::vector<Verdict>& pairs) {
  std::vector<double> errors;
  for (const auto& v : pairs) errors.push_back(std::abs(v.predicted_ratio / v.measured_ratio - 1));
  return median(std::move(errors));
}

// ---- calibration --------------------------------------------------------------------------

CalibrationSpec CalibrationSpec::load_file(const std::filesystem::path& path) {
  const auto root = core::ConfigNode::load_file(path);
  root.check_keys({"fit"});
  CalibrationSpec spec;
  spec.source = path.string();
  for (const auto& node : root.at("fit").elements()) {
    node.check_keys({"framework", "key", "values", "why"});
    FitKey k;
    k.framework = node.at("framework").as_string();
    k.key = node.at("key").as_string();
    const auto& host_keys = serve::Framework::host_time_keys();
    if (std::find(host_keys.begin(), host_keys.end(), k.key) == host_keys.end()) {
      node.at("key").fail(
          fmt::format("'{}' is not a key that only adds host time ({}): fitting another would time "
                      "every step again per value",
                      k.key, core::quoted_list(host_keys)));
    }
    for (const auto& v : node.at("values").elements()) k.values.push_back(v.as_double(core::Bounds::at_least(0)));
    if (k.values.empty()) node.at("values").fail("lists no value to try");
    if (const auto why = node.find("why")) k.why = why->as_string();
    spec.keys.push_back(std::move(k));
  }
  return spec;
}

CalibrationProbe probe_calibration(const std::vector<MeasuredRow>& rows, const NameTable& names,
                                   const CalibrationSpec& spec, const ValidateOptions& options, StepMemos& memos) {
  // The keys add host time linearly (each step, request or token of a static batch is counted
  // once, and host time moves no step the devices run), so a row's prediction is its time with
  // every key at 0 plus, per key, its value times the row's count of what the key is paid per:
  // the count is what serving once with the key at a probe value adds.
  constexpr double k_probe = 1000;
  CalibrationProbe probe;
  for (const auto& k : spec.keys) probe.zero.push_back({k.framework, k.key, 0});
  probe.base = predict_rows(rows, names, probe.zero, options, memos);
  probe.slope.assign(spec.keys.size(), std::vector<double>(rows.size(), 0));
  for (std::size_t k = 0; k < spec.keys.size(); ++k) {
    auto settings = probe.zero;
    settings[k].value = k_probe;
    const auto moved = predict_rows(rows, names, settings, options, memos);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (probe.base[i].ran() && moved[i].ran()) {
        probe.slope[k][i] = (moved[i].predicted_s - probe.base[i].predicted_s) / k_probe;
      }
    }
  }
  return probe;
}

std::vector<KeySetting> fit_keys(const CalibrationProbe& probe, const CalibrationSpec& spec,
                                 const std::function<bool(const RowResult&)>& train) {
  // Every combination of a framework's values is tried exactly; the caller serves the rows
  // again with the chosen ones.
  const auto& base = probe.base;
  const auto& slope = probe.slope;
  std::vector<KeySetting> settings = probe.zero;
  std::vector<std::string> frameworks;
  for (const auto& k : spec.keys) {
    if (std::find(frameworks.begin(), frameworks.end(), k.framework) == frameworks.end()) {
      frameworks.push_back(k.framework);
    }
  }
  for (const auto& framework : frameworks) {
    std::vector<std::size_t> keys;
    double combinations = 1;
    for (std::size_t k = 0; k < spec.keys.size(); ++k) {
      if (spec.keys[k].framework != framework) continue;
      keys.push_back(k);
      combinations *= static_cast<double>(spec.keys[k].values.size());
    }
    if (combinations > 1e7) {
      throw core::InputError(
          core::Location(spec.source),
          fmt::format("{:.3g} combinations of {}'s values to try; at most 1e7", combinations, framework));
    }
    std::vector<std::size_t> at(keys.size(), 0);
    double best_loss = std::numeric_limits<double>::infinity();
    std::vector<std::size_t> best = at;
    while (true) {
      double sum = 0;
      int n = 0;
      for (std::size_t i = 0; i < base.size(); ++i) {
        if (!base[i].ran() || base[i].resolved.framework != framework || !train(base[i])) continue;
        double predicted = base[i].predicted_s;
        for (std::size_t j = 0; j < keys.size(); ++j) predicted += spec.keys[keys[j]].values[at[j]] * slope[keys[j]][i];
        sum += std::abs(std::log(predicted / base[i].row.measured_s));
        ++n;
      }
      if (n > 0 && sum / n < best_loss - 1e-12) {
        best_loss = sum / n;
        best = at;
      }
      std::size_t j = 0;  // the next combination, the first key fastest
      while (j < keys.size() && ++at[j] == spec.keys[keys[j]].values.size()) at[j++] = 0;
      if (j == keys.size()) break;
    }
    for (std::size_t j = 0; j < keys.size(); ++j) settings[keys[j]].value = spec.keys[keys[j]].values[best[j]];
  }
  return settings;
}

// ---- output -------------------------------------------------------------------------------

core::Json to_json(const RowResult& r) {
  core::Json j{{"file", r.row.file},
               {"line", r.row.line},
               {"hardware", r.row.hardware},
               {"count", r.row.count},
               {"framework", r.row.framework},
               {"model", r.row.model},
               {"input_len", r.row.input_len},
               {"output_len", r.row.output_len},
               {"batch", r.row.batch},
               {"metric", r.row.metric},
               {"measured_s", r.row.measured_s},
               {"system", system_of(r)}};
  if (r.ran()) {
    j["predicted_s"] = r.predicted_s;
    j["predicted_latency_s"] = r.predicted_latency_s;
    j["predicted_ttft_s"] = r.predicted_ttft_s;
    j["predicted_throughput_tok_s"] = r.predicted_throughput_tok_s;
    j["error"] = r.error;
  } else {
    j["not_run"] = r.resolved.reason;
  }
  return j;
}

std::string validation_csv(const std::vector<RowResult>& results) {
  std::vector<std::string> columns;
  for (const auto& r : results) {
    for (const auto& c : r.row.columns) {
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    }
  }
  std::vector<std::string> header = columns;
  for (const char* c : {"system", "metric", "predicted_latency_s", "predicted_ttft_s", "predicted_throughput_tok_s",
                        "predicted_s", "error", "status"}) {
    header.emplace_back(c);
  }
  std::string out = core::csv_line(header) + "\n";
  for (const auto& r : results) {
    std::vector<std::string> f;
    for (const auto& c : columns) {
      const auto it = std::find(r.row.columns.begin(), r.row.columns.end(), c);
      f.push_back(it == r.row.columns.end() ? "" : r.row.values[static_cast<std::size_t>(it - r.row.columns.begin())]);
    }
    f.push_back(system_of(r));
    f.push_back(r.row.metric);
    if (r.ran()) {
      for (double v :
           {r.predicted_latency_s, r.predicted_ttft_s, r.predicted_throughput_tok_s, r.predicted_s, r.error}) {
        f.push_back(fmt::format("{:.6g}", v));
      }
      f.emplace_back("ok");
    } else {
      for (int k = 0; k < 5; ++k) f.emplace_back("");
      f.push_back("not run: " + r.resolved.reason);
    }
    out += core::csv_line(f) + "\n";
  }
  return out;
}

}  // namespace rdasim::tools
