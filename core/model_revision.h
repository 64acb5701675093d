// Which revision of rdasim's models (the mapper's estimate, the simulators, the GPU model) made
// a result. Bump it in any commit that moves what rdasim predicts, so that a resumed sweep does
// not keep rows an older model made beside rows of the new one (tools/sweep keys include it).
#pragma once

namespace rdasim::core {

/// 1: release 0.1.0 and the "one place for each fact" work. 2: token dependencies (what each op
/// needs of its inputs along the streamed axis). 3: weights pass into PCUs one link each (an op's
/// stage is no faster than its weights' ingress), each PCU's weight slice is its own stream (no
/// multicast), a streamed op stages its weights over enough PMUs to carry the memory's
/// bandwidth, an embedding reads its rows and a KV-cache write only its new entries. 4: what
/// moved predictions after 3 without a bump (found when the example sweep no longer matched its
/// committed rows under the same keys): links serve transfers each in its turn and a memory
/// arbiter issues DRAM traffic by need (5a947d4), PMUs load ahead into their scratchpads
/// (1937986), a section's tokens are capped by doubling its chunk (26eb363, 33498ee), the GPU
/// model's attention packs a KV head's query rows (552821b). 5: a chip's events due at the same
/// time run in the order they were asked for (sim/cycle/event_queue.h), not in the order
/// libsystemc's heap held them.
inline constexpr int k_model_revision = 5;

}  // namespace rdasim::core
