// Text helpers: edit distance, suggestions and number formatting.
#include "core/text.h"

#include <charconv>

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

std::optional<std::string> closest_match(std::string_view word, std::span<const std::string> candidates) {
  // A typo changes at most about a third of a word; beyond that a suggestion is noise.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    // A key without its unit suffix ("capacity" for "capacity_kib") is a near miss too.
    const bool prefix = !word.empty() && (std::string_view(candidate).starts_with(word) || word.starts_with(candidate));
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

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    if (c < 0x80) extra = 0;
    else if ((c & 0xE0) == 0xC0 && c >= 0xC2) extra = 1;
    else if ((c & 0xF0) == 0xE0) extra = 2;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4) extra = 3;
    else return false;
    if (i + extra >= text.size() && extra > 0) return false;  // cut off in the middle
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string printable(std::string_view text, std::size_t max_chars) {
  const bool utf8 = is_valid_utf8(text);
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (shown == max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
    // Count characters, not UTF-8 continuation bytes.
    if (!(utf8 && (c & 0xC0) == 0x80)) ++shown;
  }
  return out;
}

std::string format_number(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{:g}", value);
}

std::string plural(std::size_t n, std::string_view noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

std::optional<long long> parse_integer(std::string_view text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string format_si(double value, std::string_view unit, int digits) {
  static constexpr std::array<const char*, 9> k_prefixes = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
  static constexpr std::array<const char*, 4> k_small = {"m", "u", "n", "p"};  // u: micro, ASCII
  std::size_t index = 0;
  double scaled = value;
  while (std::fabs(scaled) >= 1000.0 && index + 1 < k_prefixes.size()) {
    scaled /= 1000.0;
    ++index;
  }
  if (scaled != 0.0 && std::fabs(scaled) < 1.0) {
    std::size_t small = 0;
    while (std::fabs(scaled) < 1.0 && small < k_small.size()) {
      scaled *= 1000.0;
      ++small;
    }
    // Under a thousandth of the smallest prefix: rounding residue of a difference, not a value.
    if (std::fabs(scaled) < 1e-3) return fmt::format("0 {}", unit);
    return fmt::format("{:.{}g} {}{}", scaled, digits, k_small[small - 1], unit);
  }
  return fmt::format("{:.{}g} {}{}", scaled, digits, k_prefixes[index], unit);
}

std::string format_bytes(double bytes) {
  static constexpr std::array<const char*, 7> k_prefixes = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t index = 0;
  double scaled = bytes;
  while (std::fabs(scaled) >= 1024.0 && index + 1 < k_prefixes.size()) {
    scaled /= 1024.0;
    ++index;
  }
  return fmt::format("{:.4g} {}", scaled, k_prefixes[index]);
}

std::size_t count_occurrences(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace rdasim::core
