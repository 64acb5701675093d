// Which revision of rdasim's models (the mapper's estimate, the simulators, the GPU model) made
// a result. Bump it in any commit that moves what rdasim predicts, so that a resumed sweep does
// not keep rows an older model made beside rows of the new one (tools/sweep keys include it).
#pragma once

namespace rdasim::core {

/// 1: release 0.1.0 and the "one place for each fact" work. 2: token dependencies (what each op
/// needs of its inputs along the streamed axis).
inline constexpr int k_model_revision = 2;

}  // namespace rdasim::core
