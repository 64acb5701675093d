// The time of a serving step (a prefill of a batch of prompts, or a decode of one token per
// sequence), from whichever simulator runs the system, memoized: each distinct step is timed
// once, and with interpolation only the steps on a grid are timed (decode contexts and prefill
// batches at powers of two, decode batches and prompt lengths at powers of two and halfway
// between), the rest read bilinearly between them. A
// decode step's time is close to a + b x batch + c x batch x context (weights, activations, the
// KV cache), which bilinear interpolation reproduces exactly; tests/unit/tools/serving_test.cpp
// shows simulated Llama-3-8B steps read within 1% of simulating them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include "workloads/llm.h"

namespace rdasim::serve {

struct StepTime {
  double seconds = 0;       ///< on the devices: segments and link ops on the system timeline
  double collective_s = 0;  ///< of which the longest any device spent in link ops
  double overlapped_s = 0;  ///< link-op time a device spent on work needing none of their results
  double launch_s = 0;      ///< of which reconfiguration (RDA) or waiting on the host to issue kernels (GPU)
  double energy_j = 0;      ///< every device

  /// Another step run after this one, on the same devices.
  StepTime& operator+=(const StepTime& next) {
    seconds += next.seconds;
    collective_s += next.collective_s;
    overlapped_s += next.overlapped_s;
    launch_s += next.launch_s;
    energy_j += next.energy_j;
    return *this;
  }
};

/// Times one step of a model (by the name the run knows it).
using StepTimer = std::function<StepTime(const std::string& model, const workloads::LlmStep& step)>;

/// Steps timed: (model, phase, batch, prompt or context) -> time. Runs that share one (the same
/// system, split and framework kernels, as `rdasim validate` groups them) time each step once.
using StepMemo = std::map<std::tuple<std::string, int, std::int64_t, std::int64_t>, StepTime>;

/// A step's key in a StepMemo: its model, phase, batch and prompt (prefill) or context (decode).
[[nodiscard]] StepMemo::key_type step_key(const std::string& model, const workloads::LlmStep& step);

class StepTable {
 public:
  /// `interpolate`: time the grid's steps only (else every distinct step). `shared`: a memo
  /// that outlives the table, read first and added to (else the table keeps its own).
  StepTable(StepTimer timer, bool interpolate, StepMemo* shared = nullptr)
      : m_timer(std::move(timer)),
        m_interpolate(interpolate),
        m_memo(shared != nullptr ? shared : &m_own) {}
  StepTable(const StepTable&) = delete;
  StepTable& operator=(const StepTable&) = delete;

  [[nodiscard]] StepTime prefill(const std::string& model, std::int64_t batch, std::int64_t prompt);
  [[nodiscard]] StepTime decode(const std::string& model, std::int64_t batch, std::int64_t context);
  /// Steps this table timed (each distinct one once; none that a shared memo held already).
  [[nodiscard]] int timed() const { return m_timed; }
  [[nodiscard]] bool interpolates() const { return m_interpolate; }

 private:
  StepTime lookup(const std::string& model, workloads::LlmPhase phase, std::int64_t batch, std::int64_t length);
  StepTime exact(const std::string& model, workloads::LlmPhase phase, std::int64_t batch, std::int64_t length);

  StepTimer m_timer;
  bool m_interpolate;
  StepMemo m_own;
  StepMemo* m_memo;
  int m_timed = 0;
};

}  // namespace rdasim::serve
