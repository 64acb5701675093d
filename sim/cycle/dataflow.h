// One section of a mapping as a token-level dataflow network, in plain C++ (the SystemC modules
// in engine.cpp only wake nodes and carry time). Every placed unit is a node that fires once per
// token: it starts when the first bytes of a token are on each input and there is room on each
// output (bounded buffers give back-pressure), and is busy for its service time but never ends
// before its inputs' last bytes. Its results stream out as it works (cut-through): the first
// bytes leave after the unit's pipeline latency, over each output stream's links. A token is
// `chunk` vectors of the section's largest stream; every stream carries its bytes in the same
// number of tokens, in order. What a unit needs before it fires token k is what the mapper says
// its op needs of each stream (mapper::TokenNeed): token k (element-wise), the tokens under a
// window of slices, or all of them (a barrier: the stream is then held whole, as are skips past
// a barrier); likewise for its DRAM reads.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "mapper/mapping.h"
#include "sim/cycle/resources.h"
#include "sim/cycle/ring.h"

namespace rdasim::sim {

inline constexpr double k_never = std::numeric_limits<double>::infinity();

/// How finely tokens cut a section's streams.
struct TokenOptions {
  int chunk = 64;       ///< vectors (lanes x 4 bytes) per token
  int min_tokens = 64;  ///< but at least this many tokens per section, or one per vector
  /// and at most this many (or min_tokens): a longer section's chunk doubles until it has no more.
  /// A section converges long before: the 1 GB LM head of Llama-3-8B simulates within 0.1% at
  /// 573 tokens of what it does at 9162 (tests/unit/sim/cycle_test.cpp), lensing at batch 16
  /// within 0.5% at 1541 of 12321 (but 4.3% slower at 771: its convolutions' windows need more).
  int max_tokens = 2048;
  int buffer_tokens =
      2;  ///< tokens a stream from a PCU holds (double buffering); a PMU's streams hold what fits its capacity
};

/// Tokens of a section: its largest stream (on chip or off) in vectors of `vector_bytes`, cut
/// into chunks, never fewer than min_tokens unless there are fewer vectors, never more than
/// max_tokens (or min_tokens when that is more).
[[nodiscard]] std::int64_t section_tokens(const mapper::MappedSection& section, double vector_bytes,
                                          const TokenOptions& options);

/// Cycles from a token leaving a unit's pipeline input to its result at the output: the PCU's
/// pipeline depth (stages; the systolic wavefront of lanes + stages for matrix ops; the
/// cross-lane reduction tree; the tail stage of transcendental functions) or a PMU access.
[[nodiscard]] double fill_latency(const mapper::MappedOp& op, arch::UnitKind kind, const arch::Spec& spec);

enum class UnitState : std::uint8_t { idle, busy, stalled_input, stalled_output };

/// An input buffer of a node, fed by one stream. Its reader and its writer each touch most of
/// it per token: it starts on a cache line of its own, what every firing reads first, and holds
/// its first few arrivals in itself (Ring).
struct alignas(64) InPort {
  mapper::TokenNeed need;
  std::int64_t lead = 0;  ///< window: tokens a firing reaches past its own (the halo); slice: a slice
  std::int64_t base = 0;  ///< the token arrivals.front() is
  /// Tokens sent that a firing may still look at, by arrival of their first bytes and of the
  /// last bytes of every token up to them (tokens stream in order).
  Ring<Span> arrivals;
  double latest = 0;       ///< the last bytes of every token sent so far
  double latency = 0;      ///< hops from the channel's source: switch latencies
  std::int64_t freed = 0;  ///< tokens its node is done with (room given back upstream)
  int node = -1;
  int channel = -1;
  int occupancy = 0;  ///< tokens sent or promised and not yet freed
  int capacity = 2;   ///< tokens it may hold: double buffering, more for a window, all when held whole

  /// Tokens that must have arrived before the node fires token k (of `tokens`).
  [[nodiscard]] std::int64_t needed(std::int64_t k, std::int64_t tokens) const {
    // Inline for the common case, a firing that needs its own token: called several times per
    // firing, this was 5% of the simulator's instructions as a call.
    const bool own = need.dependency == graphs::Dependency::same || need.dependency == graphs::Dependency::prefix;
    return own && k < tokens ? k + 1 : needed_beyond(k, tokens);
  }
  /// Drops the arrivals of tokens that no firing from token k on looks at (only the last a
  /// firing needs is read): a port that needs a stream whole keeps one, not thousands.
  void forget_before(std::int64_t k, std::int64_t tokens) {
    const std::int64_t keep = needed(k, tokens) - 1;
    while (base < keep && !arrivals.empty()) {
      arrivals.pop_front();
      ++base;
    }
  }
  /// Tokens it may free once token k has fired.
  [[nodiscard]] std::int64_t done_with(std::int64_t k, std::int64_t tokens) const;

 private:
  /// needed() for windows, slices, whole streams and asks after the last firing.
  [[nodiscard]] std::int64_t needed_beyond(std::int64_t k, std::int64_t tokens) const;
};

/// A stream (or multicast group) from one node to its ports.
struct Channel {
  int src = -1;
  double bytes = 0;        ///< per token
  std::vector<int> links;  ///< every link of the group, each once
  std::vector<int> ports;
  int capacity = 2;  ///< tokens the stream buffers (double buffering; what fits a PMU): each port's start
};

struct Node {
  int unit = -1;  ///< fabric unit id
  int op = -1;    ///< index into the section's ops
  int tile = 0;
  arch::UnitKind kind = arch::UnitKind::pcu;
  double service = 0;           ///< cycles busy per token
  double latency = 0;           ///< fill latency added to each result
  std::vector<int> inputs;      ///< InPort ids
  std::vector<int> outputs;     ///< Channel ids
  double dram_read = 0;         ///< bytes per token from DRAM
  double dram_write = 0;        ///< bytes per token to DRAM
  double pmu_bytes = 0;         ///< bytes per token through its banks (PMUs)
  std::size_t dram_window = 2;  ///< DRAM reads (and writes) it keeps in flight
  bool dram_all = false;        ///< needs every DRAM read before its first token

  // Running state.
  std::int64_t started = 0, fired = 0, reads = 0;
  /// Leading inputs whose bytes for token `started` are on their way (sent), and when the last
  /// of them is ready: the node sleeps until then, or until the next input's emit.
  std::size_t sent_inputs = 0;
  double inputs_at = 0;
  int full_ports = 0;  ///< ports of its output streams at capacity: it may fire when none is
  bool busy = false;
  double busy_until = 0;
  Ring<Span> read_arrivals;    ///< DRAM reads issued, by arrival
  double read_last = 0;        ///< when the last bytes of every read issued so far arrive
  Ring<double> write_ready;    ///< results to write to DRAM, not yet issued: when each is out
  Ring<double> write_done;     ///< DRAM writes in flight, by completion
  std::int64_t writes = 0;     ///< DRAM writes issued
  bool memory_queued = false;  ///< waits in the memory arbiter's queue, under the key below
  bool queued_deferred = false;
  std::int64_t queued_token = 0;
  UnitState state = UnitState::idle;
  double since = 0;
  double time[4] = {0, 0, 0, 0};  ///< cycles per UnitState in this section
  double busy_start = 0;
  double input_wait = 0;  ///< of its busy time, waiting for the last bytes of its inputs
  double first_start = k_never, last_end = 0;
  bool done = false;
};

/// Who a node's firing must tell: the world's network and memory, and a way to wake nodes.
class DataflowContext {
 public:
  virtual ~DataflowContext() = default;
  virtual Network& network() = 0;
  virtual Memory& memory() = 0;
  /// Node `node` must run its step at cycle `at` (now or later).
  virtual void wake(int node, double at) = 0;
  /// Node `node` has DRAM reads or writes to issue: the chip's memory arbiter issues them
  /// (SectionFlow::issue_read, issue_write), now or as the memory drains, most needed first.
  virtual void want_memory(int node, double now) = 0;
  /// Node `node` fired its last token and drained its writes.
  virtual void node_done(int node) = 0;
};

/// A section ready to run: nodes, channels and ports, plus the DRAM traffic no unit holds (a
/// view's inputs in a section of views alone), which the sequencer moves before streaming.
class SectionFlow {
 public:
  /// `memory_tier` is where the section's DRAM traffic goes (an index into the spec's tiers).
  SectionFlow(const mapper::MappedSection& section, const arch::Fabric& fabric, std::size_t memory_tier,
              const TokenOptions& options);

  [[nodiscard]] std::int64_t tokens() const { return m_tokens; }
  [[nodiscard]] std::vector<Node>& nodes() { return m_nodes; }
  [[nodiscard]] const std::vector<Node>& nodes() const { return m_nodes; }
  [[nodiscard]] const std::vector<Channel>& channels() const { return m_channels; }
  /// Bytes per tile to read and write before streaming: traffic no unit holds.
  [[nodiscard]] const std::vector<std::pair<int, double>>& preload() const { return m_preload; }
  [[nodiscard]] const std::vector<std::pair<int, double>>& prewrite() const { return m_prewrite; }
  /// Every link the section's streams use, once.
  [[nodiscard]] const std::vector<int>& links() const { return m_links; }

  /// Runs node `id` at cycle `now`: retires what finished, starts what can start, and returns
  /// when it next needs to run (k_never when only another node can unblock it).
  double step(int id, double now, DataflowContext& context);
  /// Whether node `id` has a DRAM read left to issue and room in its window for it.
  [[nodiscard]] bool can_read(int id) const;
  /// Issues node `id`'s next DRAM read at `now`, waking the node if it waits on it.
  void issue_read(int id, double now, DataflowContext& context);
  /// Whether node `id` has a result waiting to be written to DRAM.
  [[nodiscard]] bool can_write(int id) const;
  /// Whether node `id`'s DRAM writes fill its window, so that it cannot fire again.
  [[nodiscard]] bool writes_full(int id) const;
  /// Issues node `id`'s oldest waiting DRAM write at `now` (or once the result is out).
  void issue_write(int id, double now, DataflowContext& context);
  /// Closes the nodes' state accounting at the section's end.
  void finish(double now);
  /// Which unfinished nodes wait on what (the first few), for a stall's error message.
  [[nodiscard]] std::string stall_report() const;

 private:
  /// Node ids, every node after the nodes feeding it.
  [[nodiscard]] std::vector<int> topological_order() const;
  void set_state(Node& n, UnitState s, double now);
  /// The arrival of the last token port needs before its node fires token k; nullptr until sent.
  const Span* needed_arrival(const InPort& port, std::int64_t k) const;
  /// When that arrival lets the node start.
  static double ready_at(const InPort& port, const Span& arrival);
  bool inputs_ready(Node& n, double now) const;
  bool outputs_ready(const Node& n) const;
  void emit(int id, double now, double data_end, DataflowContext& context);

  std::int64_t m_tokens = 1;
  int m_buffer = 2;
  std::vector<Node> m_nodes;
  std::vector<Channel> m_channels;
  std::vector<InPort> m_ports;
  std::vector<std::pair<int, double>> m_preload;
  std::vector<std::pair<int, double>> m_prewrite;
  std::vector<int> m_links;
};

}  // namespace rdasim::sim
