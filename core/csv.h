// CSV records, one per line (RFC 4180 quoting without embedded line breaks): what the comparison
// harness reads from measure.py and what sweeps append to results.csv.
#pragma once

#include <string>
#include <vector>

namespace rdasim::core {

/// One record: fields split at commas outside double quotes ("" is a quote); a trailing '\r' is
/// dropped.
[[nodiscard]] std::vector<std::string> csv_fields(const std::string& line);

/// A field as written: quoted when it holds a comma, a quote or a line break; line breaks become
/// spaces so every record stays on one line.
[[nodiscard]] std::string csv_field(const std::string& text);

/// Fields joined into one line, without the line break.
[[nodiscard]] std::string csv_line(const std::vector<std::string>& fields);

}  // namespace rdasim::core
