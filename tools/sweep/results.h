// A sweep's results.csv: one record per finished point, keyed by the point's hash. Appends are
// whole lines in one write() under an exclusive lock, so a killed run leaves at most a torn last
// line (dropped when the file is opened again) and concurrent writers never interleave.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace rdasim::tools::sweep {

class ResultsFile {
 public:
  /// Opens `path` for appending: creates it with `header`, or checks that an existing file has
  /// the same header (core::InputError otherwise: another spec wrote it) and reads which keys
  /// it holds.
  ResultsFile(std::filesystem::path path, const std::vector<std::string>& header);
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  ~ResultsFile();

  [[nodiscard]] bool contains(const std::string& key) const { return m_keys.contains(key); }
  [[nodiscard]] std::size_t size() const { return m_keys.size(); }
  /// Appends one record (its first field is the key); a key already present is not written again.
  void append(const std::vector<std::string>& record);
  /// Rewrites the file (atomically: a new file renamed over it) with the records of `keys` in
  /// that order, then any others as they were: a finished sweep reads in point order whatever
  /// order its workers finished in.
  void sort(const std::vector<std::string>& keys);

 private:
  /// Checks the header and reads the keys under the lock; writes the header into a new file.
  void load(const std::vector<std::string>& header);

  std::filesystem::path m_path;
  int m_fd = -1;
  std::set<std::string> m_keys;
};

/// Throws core::InputError (file:1) when `path` exists with a header other than `header`: it
/// holds another sweep's results. Checked before a sweep writes anything into its folder.
void check_header(const std::filesystem::path& path, const std::vector<std::string>& header);

/// A results.csv read whole: its header and records. Throws core::InputError (file:line) for a
/// record whose field count differs from the header's.
struct ResultsTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};
[[nodiscard]] ResultsTable read_results(const std::filesystem::path& path);

/// Joins the results of shard folders (or files) into `out`/results.csv: every key once, in the
/// order first seen. Throws core::InputError when the headers differ. Returns the rows written.
std::size_t merge_results(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs);

}  // namespace rdasim::tools::sweep
