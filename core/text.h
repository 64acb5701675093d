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
[[nodiscard]] std::optional<std::string> closest_match(std::string_view word, std::span<const std::string> candidates);

/// " (did you mean 'x'?)" or "" when nothing is close.
[[nodiscard]] std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

/// "'a', 'b' or 'c'": a list of allowed values for an error message.
[[nodiscard]] std::string quoted_list(std::span<const std::string> items);

/// True when `text` is well-formed UTF-8.
[[nodiscard]] bool is_valid_utf8(std::string_view text);

/// `text` made safe for a one-line message: control characters (and, in text that is not
/// UTF-8, every byte above 0x7f) escaped as \n, \t or \xNN, and cut to `max_chars` with "...".
[[nodiscard]] std::string printable(std::string_view text, std::size_t max_chars = 60);

/// How many times `what` occurs in `text` (overlapping occurrences count).
[[nodiscard]] std::size_t count_occurrences(std::string_view text, std::string_view what);

/// Text safe inside XML (SVG) content and attribute values: & < > " escaped.
[[nodiscard]] std::string xml_escape(std::string_view text);

/// A number as people write it: integers without exponent or decimals (1048576, not
/// 1.04858e+06), other values with up to 6 significant digits.
[[nodiscard]] std::string format_number(double value);

/// "1 element", "3 elements".
[[nodiscard]] std::string plural(std::size_t n, std::string_view noun);

/// The whole of `text` as a decimal integer ("-3", "64"); nullopt for anything else (spaces,
/// a sign alone, trailing characters, out of range).
[[nodiscard]] std::optional<long long> parse_integer(std::string_view text);
/// The whole of `text` as a finite real number ("1e-3", "0.5"); nullopt otherwise.
[[nodiscard]] std::optional<double> parse_number(std::string_view text);

/// A value with an SI prefix and unit: format_si(1.2288e13, "FLOP/s") == "12.29 TFLOP/s",
/// format_si(1.5e-5, "s") == "15 us" (m, u, n, p below 1).
[[nodiscard]] std::string format_si(double value, std::string_view unit, int digits = 4);

/// A byte count with a binary prefix: format_bytes(16777216) == "16 MiB".
[[nodiscard]] std::string format_bytes(double bytes);

}  // namespace rdasim::core
