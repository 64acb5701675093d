// Text helpers: edit distance, suggestions and number formatting.
#include "core/text.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

namespace rdasim::core {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates) {
  // A typo changes at most about a third of a word; beyond that a suggestion is noise.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    // A key without its unit suffix ("capacity" for "capacity_kib") is a near miss too.
    const bool prefix = !word.empty() && (std::string_view(candidate).starts_with(word) ||
                                          word.starts_with(candidate));
    if (prefix) d = std::min(d, limit);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
  auto match = closest_match(word, candidates);
  return match ? fmt::format(" (did you mean '{}'?)", *match) : std::string{};
}

std::string quoted_list(std::span<const std::string> items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
    out += "'" + items[i] + "'";
  }
  return out;
}

std::string format_si(double value, std::string_view unit, int digits) {
  static constexpr std::array<const char*, 9> k_prefixes = {"", "k", "M", "G", "T",
                                                            "P", "E", "Z", "Y"};
  std::size_t index = 0;
  double scaled = value;
  while (std::fabs(scaled) >= 1000.0 && index + 1 < k_prefixes.size()) {
    scaled /= 1000.0;
    ++index;
  }
  return fmt::format("{:.{}g} {}{}", scaled, digits, k_prefixes[index], unit);
}

std::string format_bytes(double bytes) {
  static constexpr std::array<const char*, 7> k_prefixes = {"B",   "KiB", "MiB", "GiB",
                                                            "TiB", "PiB", "EiB"};
  std::size_t index = 0;
  double scaled = bytes;
  while (std::fabs(scaled) >= 1024.0 && index + 1 < k_prefixes.size()) {
    scaled /= 1024.0;
    ++index;
  }
  return fmt::format("{:.4g} {}", scaled, k_prefixes[index]);
}

}  // namespace rdasim::core
