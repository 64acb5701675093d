#include "tools/sweep/results.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/files.h"

namespace rdasim::tools::sweep {

namespace {

constexpr std::uintmax_t k_max_results_bytes = std::uintmax_t{1} << 32;

/// Holds an exclusive flock on a file descriptor for its lifetime.
class FileLock {
 public:
  explicit FileLock(int fd) : m_fd(fd) {
    while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { ::flock(m_fd, LOCK_UN); }

 private:
  int m_fd;
};

void write_all(int fd, const std::string& text, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw core::InputError(core::Location(path.string()), fmt::format("cannot append: {}", std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
}

/// The lines of `text`, a torn last line (no line break) left out.
std::vector<std::string> whole_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', begin)) {
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

/// How two headers differ, named by their columns: "pcu.stages only in it, pcu.lanes only in
/// <other>", or "the same columns in another order".
std::string header_difference(const std::vector<std::string>& found, const std::vector<std::string>& expected,
                              const std::string& other) {
  const auto missing_from = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::vector<std::string> out;
    for (const auto& c : a) {
      if (std::find(b.begin(), b.end(), c) == b.end()) out.push_back(c);
    }
    return out;
  };
  const auto only_found = missing_from(found, expected);
  const auto only_expected = missing_from(expected, found);
  std::vector<std::string> parts;
  if (!only_found.empty()) parts.push_back(fmt::format("{} only in it", fmt::join(only_found, ", ")));
  if (!only_expected.empty()) parts.push_back(fmt::format("{} only in {}", fmt::join(only_expected, ", "), other));
  if (parts.empty()) return "the same columns in another order";
  return fmt::format("{}", fmt::join(parts, ", "));
}

core::InputError other_sweep(const std::filesystem::path& path, const std::string& first_line,
                             const std::vector<std::string>& header) {
  return core::InputError(core::Location(path.string(), 1),
                          fmt::format("was written by another sweep ({}); give another --out",
                                      header_difference(core::csv_fields(first_line), header, "this sweep")));
}

}  // namespace

void check_header(const std::filesystem::path& path, const std::vector<std::string>& header) {
  if (!std::filesystem::exists(path)) return;
  const auto lines = whole_lines(core::read_text_file(path, k_max_results_bytes));
  // Empty, or a header torn by a kill: the sweep writes it again.
  if (!lines.empty() && lines.front() != core::csv_line(header)) throw other_sweep(path, lines.front(), header);
}

ResultsFile::ResultsFile(std::filesystem::path path, const std::vector<std::string>& header) : m_path(std::move(path)) {
  m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (m_fd < 0) {
    throw core::InputError(core::Location(m_path.string()),
                           fmt::format("cannot open for appending: {}", std::strerror(errno)));
  }
  try {
    load(header);
  } catch (...) {
    ::close(m_fd);  // a constructor that throws runs no destructor
    m_fd = -1;
    throw;
  }
}

void ResultsFile::load(const std::vector<std::string>& header) {
  const core::Location where(m_path.string());
  FileLock lock(m_fd);
  const std::string text = core::read_text_file(m_path, k_max_results_bytes);
  const std::string header_line = core::csv_line(header);
  if (text.empty() || text.find('\n') == std::string::npos) {
    // New, or killed before its header was whole.
    if (::ftruncate(m_fd, 0) != 0)
      throw core::InputError(where, fmt::format("cannot truncate: {}", std::strerror(errno)));
    write_all(m_fd, header_line + "\n", m_path);
    return;
  }
  const auto lines = whole_lines(text);
  if (lines.front() != header_line) {
    throw other_sweep(m_path, lines.front(), header);
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto fields = core::csv_fields(lines[i]);
    if (fields.size() != header.size()) {
      throw core::InputError(core::Location(m_path.string(), static_cast<int>(i + 1)),
                             fmt::format("has {} fields, the header {}", fields.size(), header.size()));
    }
    m_keys.insert(fields.front());
  }
  // A run killed in the middle of a write leaves a line without its end: drop it, the point
  // runs again.
  std::size_t whole = text.rfind('\n') + 1;
  if (whole != text.size() && ::ftruncate(m_fd, static_cast<off_t>(whole)) != 0) {
    throw core::InputError(where, fmt::format("cannot truncate a torn last line: {}", std::strerror(errno)));
  }
}

ResultsFile::~ResultsFile() {
  if (m_fd >= 0) ::close(m_fd);
}

void ResultsFile::append(const std::vector<std::string>& record) {
  if (!m_keys.insert(record.front()).second) return;
  FileLock lock(m_fd);
  write_all(m_fd, core::csv_line(record) + "\n", m_path);
}

void ResultsFile::sort(const std::vector<std::string>& keys) {
  FileLock lock(m_fd);
  const auto lines = whole_lines(core::read_text_file(m_path, k_max_results_bytes));
  if (lines.empty()) return;
  std::map<std::string, std::size_t> line_of;  // key -> line
  for (std::size_t i = 1; i < lines.size(); ++i) line_of.emplace(core::csv_fields(lines[i]).front(), i);
  std::vector<bool> written(lines.size(), false);
  std::string text = lines.front() + "\n";
  for (const auto& key : keys) {
    const auto it = line_of.find(key);
    if (it == line_of.end() || written[it->second]) continue;
    text += lines[it->second] + "\n";
    written[it->second] = true;
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (!written[i]) text += lines[i] + "\n";
  }
  core::write_text_file(m_path, text);
}

ResultsTable read_results(const std::filesystem::path& path) {
  const auto lines = whole_lines(core::read_text_file(path, k_max_results_bytes));
  if (lines.empty()) throw core::InputError(core::Location(path.string()), "is empty: expected a header line");
  ResultsTable table;
  table.header = core::csv_fields(lines.front());
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto fields = core::csv_fields(lines[i]);
    if (fields.size() != table.header.size()) {
      throw core::InputError(core::Location(path.string(), static_cast<int>(i + 1)),
                             fmt::format("has {} fields, the header {}", fields.size(), table.header.size()));
    }
    table.rows.push_back(std::move(fields));
  }
  return table;
}

std::size_t merge_results(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs) {
  const auto results_of = [](const std::filesystem::path& p) {
    return std::filesystem::is_directory(p) ? p / "results.csv" : p;
  };
  const auto target = results_of(out);
  std::vector<std::filesystem::path> files;
  if (std::filesystem::exists(target)) files.push_back(target);  // merging into a sweep keeps its rows
  for (const auto& in : inputs) {
    if (!std::filesystem::exists(results_of(in))) {
      throw core::InputError(core::Location(in.string()),
                             "has no results.csv (expected a sweep's --out folder or its results.csv)");
    }
    if (std::filesystem::exists(target) && std::filesystem::equivalent(results_of(in), target)) continue;
    files.push_back(results_of(in));
  }
  ResultsTable merged;
  std::set<std::string> keys;
  for (const auto& file : files) {
    auto table = read_results(file);
    if (merged.header.empty()) {
      merged.header = table.header;
    } else if (table.header != merged.header) {
      throw core::InputError(
          core::Location(file.string(), 1),
          fmt::format("its columns differ from {}'s ({}): not shards of one sweep", files.front().string(),
                      header_difference(table.header, merged.header, files.front().string())));
    }
    for (auto& row : table.rows) {
      if (keys.insert(row.front()).second) merged.rows.push_back(std::move(row));
    }
  }
  std::string text = core::csv_line(merged.header) + "\n";
  for (const auto& row : merged.rows) text += core::csv_line(row) + "\n";
  core::write_text_file(target, text);
  return merged.rows.size();
}

}  // namespace rdasim::tools::sweep
