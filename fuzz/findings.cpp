#include "fuzz/findings.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "trace/print.h"

namespace loopcheck::fuzz {
namespace {

constexpr std::string_view kSignaturePrefix = "# signature: ";

}  // namespace

std::set<std::string> known_signatures(const std::string& dir) {
  namespace fs = std::filesystem;
  std::set<std::string> known;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return known;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".trace") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(kSignaturePrefix)) known.insert(line.substr(kSignaturePrefix.size()));
      if (!line.starts_with("#")) break;  // the header ends at the first statement line
    }
  }
  return known;
}

std::string finding_file_name(const std::string& signature) {
  return fmt::format("finding-{:016x}.trace", XXH3_64bits(signature.data(), signature.size()));
}

std::string finding_file_text(const Trace& trace, const Finding& finding, std::string_view origin,
                              const std::optional<MutationSequence>& mutations) {
  std::string out;
  out += fmt::format("{}{}\n", kSignaturePrefix, finding.signature);
  out += fmt::format("# found by: {} (profile {})\n", origin, trace.profile);
  if (mutations) out += fmt::format("# mutations: {}\n", mutations->format());
  out += fmt::format("# fails at statement {} of {}\n", finding.step + 1, trace.stmts.size());
  std::istringstream detail(finding.detail);
  for (std::string line; std::getline(detail, line);) out += "# " + line + "\n";
  out += print_trace(trace);
  return out;
}

std::string store_finding(const std::string& dir, const Trace& trace, const Finding& finding,
                          std::string_view origin,
                          const std::optional<MutationSequence>& mutations) {
  namespace fs = std::filesystem;
  if (known_signatures(dir).contains(finding.signature)) return {};
  fs::create_directories(dir);
  const fs::path path = fs::path(dir) / finding_file_name(finding.signature);
  fs::path partial = path;
  partial += ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << finding_file_text(trace, finding, origin, mutations);
    if (!file.flush()) throw std::runtime_error(partial.string() + ": write failed");
  }
  fs::rename(partial, path);  // never a half-written finding under its real name
  return path.string();
}

}  // namespace loopcheck::fuzz
