#include "sim/serve/server.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <list>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/units.h"

namespace rdasim::serve {

const char* to_string(StepKind kind) {
  switch (kind) {
    case StepKind::prefill: return "prefill";
    case StepKind::decode: return "decode";
    case StepKind::mixed: return "prefill+decode";
    case StepKind::load: return "load";
  }
  return "?";
}

Spread Spread::of(std::vector<double> values) {
  Spread s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {  // nearest rank
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
  };
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  s.p50 = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.max = values.back();
  return s;
}

core::Json Spread::to_json() const { return {{"mean", mean}, {"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}}; }

namespace {

/// KV-cache tokens a request holds: its whole length, in whole blocks when the cache is paged.
/// Reserved when it is admitted (no preemption: a paged cache that grows as tokens come and
/// preempts when full reaches the same batch while it does not preempt).
std::int64_t reserved_tokens(const Request& r, int block) {
  const std::int64_t tokens = r.input_len + r.output_len;
  return block > 0 ? (tokens + block - 1) / block * block : tokens;
}

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / core::k_gib); }

/// One request in the system.
struct Live {
  int id = 0;
  std::int64_t context = 0;    ///< tokens in its cache
  std::int64_t generated = 0;  ///< output tokens so far
  std::int64_t prefilled = 0;  ///< prompt tokens through the prefill
  double kv_bytes = 0;         ///< reserved
  double last_token_s = 0;
};

class Scheduler {
 public:
  Scheduler(const std::vector<Request>& requests, const std::vector<ServedModel>& models, const ServeOptions& options,
            StepTable& steps)
      : m_req(requests),
        m_options(options),
        m_steps(steps),
        m_fw(options.framework),
        m_sync_rounds(std::ceil(std::log2(static_cast<double>(std::max(1, options.ranks))))) {
    for (const auto& m : models) m_models.emplace(m.name, m);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (!m_models.contains(model_of(static_cast<int>(i)))) {
        throw core::InputError(
            core::Location("requests"),
            fmt::format("request {} asks for model '{}', which the run does not serve", i, requests[i].model));
      }
    }
    m_out.requests.resize(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& rec = m_out.requests[i];
      rec.id = static_cast<int>(i);
      rec.model = model_of(rec.id);
      rec.input_len = requests[i].input_len;
      rec.output_len = requests[i].output_len;
      rec.arrival_s = requests[i].arrival_s;
    }
  }

  ServeResult run() {
    if (m_req.empty()) return std::move(m_out);
    m_t = ready_s(0);
    const double start = m_t - m_fw.request_overhead_s;
    while (true) {
      arrive();
      if (m_running.empty() && m_prefilling.empty()) {
        if (m_waiting.empty()) {
          if (m_next == m_req.size()) break;
          m_out.idle_s += ready_s(m_next) - m_t;
          m_t = ready_s(m_next);
          continue;
        }
        make_active(model_of(m_waiting.front()));
        m_slots = 0;
      }
      admit();
      if (m_options.chunked_prefill_tokens > 0) chunked_step();
      else if (!m_prefilling.empty()) prefill_step();
      else decode_step();
    }
    m_out.seconds = m_t - std::max(0.0, start);
    for (const auto& r : m_req) {
      m_out.input_tokens += r.input_len;
      m_out.output_tokens += r.output_len;
    }
    m_out.steps_timed = m_steps.timed();
    return std::move(m_out);
  }

 private:
  [[nodiscard]] const std::string& model_of(int id) const {
    return m_req[static_cast<std::size_t>(id)].model.empty() ? m_models.begin()->first
                                                             : m_req[static_cast<std::size_t>(id)].model;
  }
  /// When a request reaches the scheduler: after the endpoint's overhead.
  [[nodiscard]] double ready_s(std::size_t i) const { return m_req[i].arrival_s + m_fw.request_overhead_s; }

  void arrive() {
    while (m_next < m_req.size() && ready_s(m_next) <= m_t) m_waiting.push_back(static_cast<int>(m_next++));
  }

  [[nodiscard]] double resident_bytes() const {
    double bytes = 0;
    for (const auto& name : m_resident) bytes += m_models.at(name).weight_bytes;
    return bytes;
  }
  [[nodiscard]] double free_bytes() const { return m_options.memory_bytes - resident_bytes() - m_kv_bytes; }

  /// Evicts the least recently used model other than the active one; false when there is none.
  bool evict_one() {
    for (auto it = m_resident.rbegin(); it != m_resident.rend(); ++it) {
      if (*it != m_active) {
        m_resident.erase(std::next(it).base());
        return true;
      }
    }
    return false;
  }

  void make_active(const std::string& name) {
    const auto found = std::find(m_resident.begin(), m_resident.end(), name);
    if (found != m_resident.end()) {
      m_resident.splice(m_resident.begin(), m_resident, found);  // most recently used
      m_active = name;
      return;
    }
    m_active = name;
    const ServedModel& model = m_models.at(name);
    while (free_bytes() < model.weight_bytes && evict_one()) {
    }
    if (free_bytes() < model.weight_bytes) {
      throw DoesNotFit(fmt::format("'{}' needs {} of {} per device for its weights, which holds {} ({} short)", name,
                                   gib(model.weight_bytes), m_options.tier, gib(m_options.memory_bytes),
                                   gib(model.weight_bytes - m_options.memory_bytes)));
    }
    m_resident.push_front(name);
    if (m_loaded_once) {  // the first model is in memory when serving starts
      StepRecord load;
      load.kind = StepKind::load;
      load.model = name;
      load.start_s = m_t;
      load.end_s = m_t + model.weight_bytes / m_options.load_bytes_per_s;
      m_out.switching_s += load.end_s - load.start_s;
      ++m_out.switches;
      m_t = load.end_s;
      m_out.steps.push_back(load);
    }
    m_loaded_once = true;
  }

  void admit() {
    if (m_fw.batching == Batching::static_batch && !(m_running.empty() && m_prefilling.empty())) return;
    const ServedModel& model = m_models.at(m_active);
    while (!m_waiting.empty()) {
      const int id = m_waiting.front();
      if (model_of(id) != m_active) break;  // first come, first served: the batch drains, then switches
      if (static_cast<int>(m_running.size() + m_prefilling.size()) >= m_options.max_batch) break;
      const Request& r = m_req[static_cast<std::size_t>(id)];
      const double need = static_cast<double>(reserved_tokens(r, m_fw.kv_block_tokens)) * model.kv_bytes_per_token;
      while (free_bytes() < need && evict_one()) {
      }
      if (free_bytes() < need) {
        if (m_running.empty() && m_prefilling.empty()) {
          throw DoesNotFit(fmt::format(
              "'{}' needs {} of {} per device for its weights and {} for the KV cache of one request of {} + {} "
              "tokens; {} holds {} ({} short)",
              m_active, gib(model.weight_bytes), m_options.tier, gib(need), r.input_len, r.output_len, m_options.tier,
              gib(m_options.memory_bytes), gib(model.weight_bytes + need - m_options.memory_bytes)));
        }
        break;
      }
      m_waiting.pop_front();
      m_kv_bytes += need;
      m_out.requests[static_cast<std::size_t>(id)].admitted_s = m_t;
      m_prefilling.push_back(Live{id, 0, 0, 0, need, 0});
      ++m_slots;
    }
  }

  /// The framework's time around a step of `batch` sequences.
  [[nodiscard]] double step_overhead(std::int64_t batch) const {
    return m_fw.step_overhead_s + (m_fw.launch == Launch::graph ? m_fw.graph_launch_s : 0) +
           m_fw.token_overhead_s * static_cast<double>(batch) + m_fw.rank_sync_s * m_sync_rounds;
  }

  void record(StepKind kind, std::int64_t batch, std::int64_t length, const StepTime& device) {
    StepRecord s;
    s.kind = kind;
    s.model = m_active;
    s.start_s = m_t;
    s.device = device;
    s.overhead_s = step_overhead(batch);
    s.batch = batch;
    s.length = length;
    m_t += device.seconds + s.overhead_s;
    s.end_s = m_t;
    (kind == StepKind::prefill ? m_out.prefill_s : m_out.decode_s) += device.seconds;
    m_out.collective_s += device.collective_s;
    m_out.overlapped_s += device.overlapped_s;
    m_out.launch_s += device.launch_s;
    m_out.overhead_s += s.overhead_s;
    m_out.energy_j += device.energy_j;
    m_out.steps.push_back(std::move(s));
  }

  /// A request has its first token.
  void first_token(Live& live) {
    const Request& r = m_req[static_cast<std::size_t>(live.id)];
    live.context = r.input_len;
    live.generated = 1;
    live.last_token_s = m_t;
    auto& rec = m_out.requests[static_cast<std::size_t>(live.id)];
    rec.first_token_s = m_t;
    if (r.output_len == 1) finish(live);
    else m_running.push_back(live);
  }

  void finish(const Live& live) {
    m_out.requests[static_cast<std::size_t>(live.id)].end_s = m_t;
    m_kv_bytes -= live.kv_bytes;
  }

  void prefill_step() {
    std::int64_t tokens = 0;
    for (const auto& p : m_prefilling) tokens += m_req[static_cast<std::size_t>(p.id)].input_len;
    const auto n = static_cast<std::int64_t>(m_prefilling.size());
    const std::int64_t prompt = (tokens + n - 1) / n;  // the mean prompt, rounded up
    record(StepKind::prefill, n, prompt, m_steps.prefill(m_active, n, prompt));
    auto done = std::move(m_prefilling);
    m_prefilling.clear();
    for (auto& live : done) first_token(live);
  }

  /// One token for every running request. A static batch runs at the size it formed with
  /// (finished sequences are padding) until its longest request ends.
  void decode_step() { decode_tokens(StepKind::decode, StepTime{}); }

  void decode_tokens(StepKind kind, const StepTime& extra) {
    std::int64_t context = 0;
    for (const auto& live : m_running) context += live.context;
    const auto n = static_cast<std::int64_t>(m_running.size());
    const std::int64_t batch = m_fw.batching == Batching::static_batch ? std::max<std::int64_t>(m_slots, n) : n;
    StepTime t = m_steps.decode(m_active, batch, (context + n - 1) / n);
    t += extra;
    record(kind, batch, (context + n - 1) / n, t);
    std::vector<Live> still;
    for (auto& live : m_running) {
      ++live.generated;
      ++live.context;
      m_out.token_gaps.push_back(m_t - live.last_token_s);
      live.last_token_s = m_t;
      if (live.generated >= m_req[static_cast<std::size_t>(live.id)].output_len) finish(live);
      else still.push_back(live);
    }
    m_running = std::move(still);
  }

  /// Chunked prefill: up to N prompt tokens of the admitted requests ride along with the
  /// running batch's decode, their prefill pieces timed as prefills of one sequence run after
  /// the decode (an upper bound: the weights a piece and the decode both read are not shared).
  void chunked_step() {
    if (m_prefilling.empty()) {
      decode_step();
      return;
    }
    std::int64_t budget = m_options.chunked_prefill_tokens;
    StepTime pieces;
    std::vector<Live> done;
    while (budget > 0 && !m_prefilling.empty()) {
      Live& p = m_prefilling.front();
      const std::int64_t left = m_req[static_cast<std::size_t>(p.id)].input_len - p.prefilled;
      const std::int64_t piece = std::min(left, budget);
      pieces += m_steps.prefill(m_active, 1, piece);
      p.prefilled += piece;
      budget -= piece;
      if (p.prefilled == m_req[static_cast<std::size_t>(p.id)].input_len) {
        done.push_back(p);
        m_prefilling.pop_front();
      }
    }
    if (m_running.empty()) {
      record(StepKind::prefill, 1, m_options.chunked_prefill_tokens - budget, pieces);
    } else {
      m_out.prefill_s += pieces.seconds;  // its share of the mixed step
      m_out.decode_s -= pieces.seconds;
      decode_tokens(StepKind::mixed, pieces);
    }
    for (auto& live : done) first_token(live);
  }

  const std::vector<Request>& m_req;
  const ServeOptions& m_options;
  StepTable& m_steps;
  const Framework& m_fw;
  double m_sync_rounds;  ///< of the ranks' agreement on each step: ceil(log2 ranks)
  std::map<std::string, ServedModel> m_models;
  ServeResult m_out;
  double m_t = 0;
  std::size_t m_next = 0;
  std::deque<int> m_waiting;
  std::deque<Live> m_prefilling;
  std::vector<Live> m_running;
  std::int64_t m_slots = 0;  ///< a static batch's size as it formed
  double m_kv_bytes = 0;
  std::list<std::string> m_resident;  ///< most recently used first
  std::string m_active;
  bool m_loaded_once = false;
};

}  // namespace

ServeResult serve(const std::vector<Request>& requests, const std::vector<ServedModel>& models,
                  const ServeOptions& options, StepTable& steps) {
  if (models.empty()) throw core::InternalError("serve: no model");
  return Scheduler(requests, models, options, steps).run();
}

void check_batch_fits(const ServedModel& model, int batch, std::int64_t tokens, const ServeOptions& options) {
  const Request r{0, tokens, 0, {}};
  const double kv = static_cast<double>(batch) *
                    static_cast<double>(reserved_tokens(r, options.framework.kv_block_tokens)) *
                    model.kv_bytes_per_token;
  const double need = model.weight_bytes + kv;
  if (need <= options.memory_bytes) return;
  throw DoesNotFit(fmt::format(
      "'{}' at batch {} of {} tokens needs {} of {} per device: {} of weights and {} of KV cache; {} holds {} "
      "({} short); lower the batch or split the model over more devices (--tp, --pp)",
      model.name, batch, tokens, gib(need), options.tier, gib(model.weight_bytes), gib(kv), options.tier,
      gib(options.memory_bytes), gib(need - options.memory_bytes)));
}

core::Json to_json(const ServeResult& result, const ServeOptions& options, bool with_requests) {
  std::vector<double> ttft, tpot, e2e;
  int met = 0;
  for (const auto& r : result.requests) {
    ttft.push_back(r.ttft_s());
    e2e.push_back(r.e2e_s());
    if (r.output_len > 1) tpot.push_back(r.tpot_s());
    const bool ok = (options.slo.ttft_s <= 0 || r.ttft_s() <= options.slo.ttft_s) &&
                    (options.slo.tpot_s <= 0 || r.tpot_s() <= options.slo.tpot_s);
    met += ok ? 1 : 0;
  }
  const double latency = result.seconds;
  const double tokens = static_cast<double>(result.input_tokens + result.output_tokens);
  const Spread itl = Spread::of(result.token_gaps);
  const Spread first = Spread::of(ttft);
  core::Json j{
      {"requests", result.requests.size()},
      {"latency_s", latency},
      {"ttft_s", first.mean},
      {"itl_s", itl.to_json()},
      {"ttft", first.to_json()},
      {"tpot_s", Spread::of(tpot).to_json()},
      {"e2e_s", Spread::of(e2e).to_json()},
      {"output_tok_s", latency > 0 ? static_cast<double>(result.output_tokens) / latency : 0},
      {"throughput_tok_s", latency > 0 ? tokens / latency : 0},
      {"input_tokens", result.input_tokens},
      {"output_tokens", result.output_tokens},
      {"energy_j", result.energy_j},
      {"energy_per_token_j",
       result.output_tokens > 0 ? result.energy_j / static_cast<double>(result.output_tokens) : 0},
      {"time",
       {{"prefill_s", result.prefill_s},
        {"decode_s", result.decode_s},
        {"collective_s", result.collective_s},
        {"overlapped_s", result.overlapped_s},
        {"launch_s", result.launch_s},
        {"switching_s", result.switching_s},
        {"overhead_s", result.overhead_s},
        {"request_overhead_s", options.framework.request_overhead_s},
        {"idle_s", result.idle_s}}},
      {"switches", result.switches},
      {"steps", result.steps.size()},
      {"steps_timed", result.steps_timed},
  };
  if (options.slo.ttft_s > 0 || options.slo.tpot_s > 0) {
    j["slo"] = {{"ttft_s", options.slo.ttft_s},
                {"tpot_s", options.slo.tpot_s},
                {"met", met},
                {"share", result.requests.empty() ? 0.0 : met / static_cast<double>(result.requests.size())},
                {"goodput_req_s", latency > 0 ? met / latency : 0}};
  }
  if (with_requests) {
    core::Json rows = core::Json::array();
    for (const auto& r : result.requests) {
      rows.push_back({{"id", r.id},
                      {"model", r.model},
                      {"input_len", r.input_len},
                      {"output_len", r.output_len},
                      {"arrival_s", r.arrival_s},
                      {"admitted_s", r.admitted_s},
                      {"first_token_s", r.first_token_s},
                      {"end_s", r.end_s},
                      {"ttft_s", r.ttft_s()},
                      {"tpot_s", r.tpot_s()},
                      {"e2e_s", r.e2e_s()}});
    }
    j["request_records"] = std::move(rows);
  }
  return j;
}

core::Json serve_trace(const ServeResult& result, int devices) {
  core::Json events = core::Json::array();
  auto us = [](double s) { return s * 1e6; };
  auto name_track = [&](int pid, int tid, const std::string& process, const std::string& thread) {
    events.push_back(
        {{"ph", "M"}, {"pid", pid}, {"tid", tid}, {"name", "process_name"}, {"args", {{"name", process}}}});
    events.push_back({{"ph", "M"}, {"pid", pid}, {"tid", tid}, {"name", "thread_name"}, {"args", {{"name", thread}}}});
  };
  auto span = [&](int pid, int tid, const std::string& name, double start, double end, core::Json args) {
    if (end <= start) return;
    events.push_back({{"ph", "X"},
                      {"pid", pid},
                      {"tid", tid},
                      {"name", name},
                      {"ts", us(start)},
                      {"dur", us(end - start)},
                      {"args", std::move(args)}});
  };
  for (int d = 0; d < devices; ++d) name_track(1, d, "devices", fmt::format("device {}", d));
  for (const auto& s : result.steps) {
    const std::string name =
        s.kind == StepKind::load ? fmt::format("load {}", s.model) : fmt::format("{} b{}", to_string(s.kind), s.batch);
    core::Json args{{"model", s.model},
                    {"batch", s.batch},
                    {"length", s.length},
                    {"device_s", s.device.seconds},
                    {"collective_s", s.device.collective_s},
                    {"launch_s", s.device.launch_s},
                    {"overhead_s", s.overhead_s}};
    for (int d = 0; d < devices; ++d) span(1, d, name, s.start_s, s.end_s, args);
  }
  for (const auto& r : result.requests) {
    name_track(2, r.id, "requests", fmt::format("request {} ({} + {})", r.id, r.input_len, r.output_len));
    span(2, r.id, "queued", r.arrival_s, r.admitted_s, {{"model", r.model}});
    span(2, r.id, "prefill", r.admitted_s, r.first_token_s, {{"ttft_s", r.ttft_s()}});
    span(2, r.id, "decode", r.first_token_s, r.end_s, {{"tpot_s", r.tpot_s()}, {"e2e_s", r.e2e_s()}});
  }
  return core::Json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}};
}

}  // namespace rdasim::serve
