// Unit constants, so sizes and rates read as what they are: `capacity_kib * k_kib`.
#pragma once

namespace rdasim::core {

inline constexpr double k_kib = 1024.0;
inline constexpr double k_mib = 1024.0 * 1024.0;
inline constexpr double k_gib = 1024.0 * 1024.0 * 1024.0;
inline constexpr double k_giga = 1e9;  ///< GB/s, GHz and GFLOP/s are decimal
inline constexpr double k_tera = 1e12;
inline constexpr double k_pico = 1e-12;  ///< pJ -> J
inline constexpr double k_nano = 1e-9;   ///< ns -> s

}  // namespace rdasim::core
