// Small text helpers shared by error messages and reports: "did you mean", SI formatting.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rdasim::core {

/// Levenshtein distance between two strings (case-sensitive).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
[[nodiscard]] std::optional<std::string> closest_match(std::string_view word,
                                                       std::span<const std::string> candidates);

/// " (did you mean 'x'?)" or "" when nothing is close.
[[nodiscard]] std::string did_you_mean(std::string_view word,
                                       std::span<const std::string> candidates);

/// "'a', 'b' or 'c'": a list of allowed values for an error message.
[[nodiscard]] std::string quoted_list(std::span<const std::string> items);

/// A value with an SI prefix and unit: format_si(1.2288e13, "FLOP/s") == "12.29 TFLOP/s".
[[nodiscard]] std::string format_si(double value, std::string_view unit, int digits = 4);

/// A byte count with a binary prefix: format_bytes(16777216) == "16 MiB".
[[nodiscard]] std::string format_bytes(double bytes);

}  // namespace rdasim::core
