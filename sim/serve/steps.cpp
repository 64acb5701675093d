#include "sim/serve/steps.h"

#include <bit>

namespace rdasim::serve {

namespace {

/// The powers of two around `x` (>= 1) and the weight of the upper one.
struct Bracket {
  std::int64_t lo = 1, hi = 1;
  double w = 0;
};

Bracket bracket(std::int64_t x) {
  const auto u = static_cast<std::uint64_t>(x);
  const auto lo = static_cast<std::int64_t>(std::bit_floor(u));
  if (lo == x) return {x, x, 0};
  const std::int64_t hi = lo * 2;
  return {lo, hi, static_cast<double>(x - lo) / static_cast<double>(hi - lo)};
}

/// Powers of two and the halfway points between them (1, 2, 3, 4, 6, 8, 12, 16, ...): a grid
/// twice as fine where a step's time bends.
Bracket batch_bracket(std::int64_t x) {
  Bracket b = bracket(x);
  if (b.w == 0 || b.lo < 2) return b;
  const std::int64_t mid = b.lo + b.lo / 2;
  if (x == mid) return {x, x, 0};
  if (x < mid) return {b.lo, mid, static_cast<double>(x - b.lo) / static_cast<double>(mid - b.lo)};
  return {mid, b.hi, static_cast<double>(x - mid) / static_cast<double>(b.hi - mid)};
}

StepTime mix(const StepTime& a, const StepTime& b, double w) {
  auto m = [w](double x, double y) { return x + (y - x) * w; };
  return {m(a.seconds, b.seconds), m(a.collective_s, b.collective_s), m(a.overlapped_s, b.overlapped_s),
          m(a.launch_s, b.launch_s), m(a.energy_j, b.energy_j)};
}

}  // namespace

StepMemo::key_type step_key(const std::string& model, const workloads::LlmStep& step) {
  const bool prefill = step.phase == workloads::LlmPhase::prefill;
  return {model, static_cast<int>(step.phase), step.batch, prefill ? step.prompt : step.context};
}

StepTime StepTable::prefill(const std::string& model, std::int64_t batch, std::int64_t prompt) {
  return lookup(model, workloads::LlmPhase::prefill, batch, prompt);
}

StepTime StepTable::decode(const std::string& model, std::int64_t batch, std::int64_t context) {
  return lookup(model, workloads::LlmPhase::decode, batch, context);
}

StepTime StepTable::lookup(const std::string& model, workloads::LlmPhase phase, std::int64_t batch,
                           std::int64_t length) {
  if (!m_interpolate) return exact(model, phase, batch, length);
  // A decode step bends in batch (its few rows fill the PCUs' lanes), so its batch grid is twice
  // as fine; a prefill's rows (batch x prompt tokens) fill them already and grow linearly, but
  // it bends in length (attention, and where its collectives stop hiding under its compute).
  const bool decode = phase == workloads::LlmPhase::decode;
  const Bracket b = decode ? batch_bracket(batch) : bracket(batch);
  const Bracket l = decode ? bracket(length) : batch_bracket(length);
  auto at = [&](std::int64_t bb, std::int64_t ll) { return exact(model, phase, bb, ll); };
  const StepTime low = l.w == 0 ? at(b.lo, l.lo) : mix(at(b.lo, l.lo), at(b.lo, l.hi), l.w);
  if (b.w == 0) return low;
  const StepTime high = l.w == 0 ? at(b.hi, l.lo) : mix(at(b.hi, l.lo), at(b.hi, l.hi), l.w);
  return mix(low, high, b.w);
}

StepTime StepTable::exact(const std::string& model, workloads::LlmPhase phase, std::int64_t batch,
                          std::int64_t length) {
  workloads::LlmStep step;
  step.phase = phase;
  step.batch = batch;
  if (phase == workloads::LlmPhase::prefill) step.prompt = length;
  else step.context = length;
  const auto key = step_key(model, step);
  if (const auto found = m_memo->find(key); found != m_memo->end()) return found->second;
  const StepTime t = m_timer(model, step);
  m_memo->emplace(key, t);
  ++m_timed;
  return t;
}

}  // namespace rdasim::serve
